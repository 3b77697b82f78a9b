//! What the engine returns: the visit totals in national field names, one row per paying fund,
//! the per-line split, the accumulator postings and a structured trace.

use chrono::NaiveDate;
use yibao_domain::codes::{ChrgitmLv, MedChrgitmType};
use yibao_domain::{Code, Fen, Ratio};
use yibao_policy::{Region, SummaryColumn};

use crate::accumulators::Posting;
use crate::trace::TraceStep;

/// The `setlinfo` amounts of one settlement (all fen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub hifp_pay: Fen,
    pub cvlserv_pay: Fen,
    pub hifes_pay: Fen,
    pub hifmi_pay: Fen,
    pub hifob_pay: Fen,
    pub maf_pay: Fen,
    pub oth_pay: Fen,
    pub fund_pay_sumamt: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
    pub hosp_part_amt: Fen,
    /// Account balance after this settlement.
    pub balc: Fen,
}

impl Totals {
    /// Adds a fund payment to its summary column.
    pub fn add_to_column(&mut self, column: SummaryColumn, amount: Fen) {
        let slot = match column {
            SummaryColumn::HifpPay => &mut self.hifp_pay,
            SummaryColumn::CvlservPay => &mut self.cvlserv_pay,
            SummaryColumn::HifesPay => &mut self.hifes_pay,
            SummaryColumn::HifmiPay => &mut self.hifmi_pay,
            SummaryColumn::HifobPay => &mut self.hifob_pay,
            SummaryColumn::MafPay => &mut self.maf_pay,
            SummaryColumn::OthPay => &mut self.oth_pay,
        };
        *slot += amount;
    }

    /// Every amount negated (the balance is set by the caller).
    pub fn negated(&self) -> Totals {
        Totals {
            medfee_sumamt: -self.medfee_sumamt,
            fulamt_ownpay_amt: -self.fulamt_ownpay_amt,
            overlmt_selfpay: -self.overlmt_selfpay,
            preselfpay_amt: -self.preselfpay_amt,
            inscp_scp_amt: -self.inscp_scp_amt,
            act_pay_dedc: -self.act_pay_dedc,
            hifp_pay: -self.hifp_pay,
            cvlserv_pay: -self.cvlserv_pay,
            hifes_pay: -self.hifes_pay,
            hifmi_pay: -self.hifmi_pay,
            hifob_pay: -self.hifob_pay,
            maf_pay: -self.maf_pay,
            oth_pay: -self.oth_pay,
            fund_pay_sumamt: -self.fund_pay_sumamt,
            psn_part_amt: -self.psn_part_amt,
            acct_pay: -self.acct_pay,
            acct_mulaid_pay: -self.acct_mulaid_pay,
            psn_cash_pay: -self.psn_cash_pay,
            hosp_part_amt: -self.hosp_part_amt,
            balc: self.balc,
        }
    }

    /// The identities of settlement.md §3 (I1–I3, I5); `None` when all hold, else which failed.
    pub fn identity_violation(&self) -> Option<&'static str> {
        let split = self.fulamt_ownpay_amt
            + self.overlmt_selfpay
            + self.preselfpay_amt
            + self.inscp_scp_amt;
        let columns = self.hifp_pay
            + self.cvlserv_pay
            + self.hifes_pay
            + self.hifmi_pay
            + self.hifob_pay
            + self.maf_pay
            + self.oth_pay;
        if self.medfee_sumamt != split {
            Some("medfee_sumamt ≠ fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt")
        } else if self.medfee_sumamt
            != self.fund_pay_sumamt + self.psn_part_amt + self.hosp_part_amt
        {
            Some("medfee_sumamt ≠ fund_pay_sumamt + psn_part_amt + hosp_part_amt")
        } else if self.psn_part_amt != self.acct_pay + self.psn_cash_pay {
            Some("psn_part_amt ≠ acct_pay + psn_cash_pay")
        } else if self.fund_pay_sumamt != columns {
            Some("fund_pay_sumamt ≠ hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay")
        } else {
            None
        }
    }
}

/// Who bears a `setldetail` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    Fund(SummaryColumn),
    PersonalAccount,
    Hospital,
}

/// One `setldetail` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundRow {
    pub fund_pay_type: Code,
    pub payer: Payer,
    /// The amount this fund's calculation started from.
    pub inscp_scp_amt: Fen,
    /// Cap still available before this settlement (`None`: no cap).
    pub crt_payb_lmt_amt: Option<Fen>,
    pub fund_payamt: Fen,
    /// Index of the trace step that explains this row.
    pub trace_step: usize,
}

/// Why a line was split the way it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRule {
    /// In the catalogue and reimbursable.
    Covered,
    NotInCatalogue,
    ClassC,
    RestrictedWithoutApproval,
    MarkedSelfPay,
    SexRestricted,
    AgeRestricted,
    LevelRestricted,
}

impl LineRule {
    /// Short Chinese memo for the 2204/2301 `result` line.
    pub fn memo(self) -> &'static str {
        match self {
            LineRule::Covered => "",
            LineRule::NotInCatalogue => "目录外项目，全自费",
            LineRule::ClassC => "丙类项目，全自费",
            LineRule::RestrictedWithoutApproval => "限制使用项目未经审批，全自费",
            LineRule::MarkedSelfPay => "医院标记自费",
            LineRule::SexRestricted => "性别限制，全自费",
            LineRule::AgeRestricted => "年龄限制，全自费",
            LineRule::LevelRestricted => "医院等级限制，全自费",
        }
    }
}

/// The split of one fee line (明细分割); `line` indexes the visit's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSplit {
    pub line: u32,
    pub rule: LineRule,
    pub amount: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_amt: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    /// Part of `preselfpay_amt` added by the remote-care extra 先行自付 (M1).
    pub remote_extra_preselfpay: Fen,
    pub selfpay_prop: Ratio,
    pub price_cap_micro_yuan: Option<i64>,
    pub chrgitm_lv: Option<ChrgitmLv>,
    pub med_chrgitm_type: Option<MedChrgitmType>,
    pub restricted_use: bool,
    /// Paid by a flat per-item amount (互联网复诊), outside the regime.
    pub flat: bool,
}

impl LineSplit {
    pub fn negated(&self) -> LineSplit {
        LineSplit {
            amount: -self.amount,
            fulamt_ownpay_amt: -self.fulamt_ownpay_amt,
            overlmt_amt: -self.overlmt_amt,
            preselfpay_amt: -self.preselfpay_amt,
            inscp_scp_amt: -self.inscp_scp_amt,
            remote_extra_preselfpay: -self.remote_extra_preselfpay,
            ..*self
        }
    }
}

/// The result of settling one visit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    /// Accumulator year (calendar year of the settlement date).
    pub year: i32,
    pub settlement_date: Option<NaiveDate>,
    /// Benefit regime applied, if any.
    pub bucket: Option<Code>,
    pub level: u8,
    pub region: Option<Region>,
    pub totals: Totals,
    pub funds: Vec<FundRow>,
    pub lines: Vec<LineSplit>,
    pub postings: Vec<Posting>,
    pub trace: Vec<TraceStep>,
    /// True for a cancellation mirror record.
    pub cancellation: bool,
}

impl Settlement {
    /// The exact cancellation mirror: every amount and posting negated. `balance_before_refund` is
    /// the account balance now; the mirror's `balc` is that plus the refunded account payment.
    pub fn negated(&self, balance_before_refund: Fen) -> Settlement {
        let mut totals = self.totals.negated();
        totals.balc = balance_before_refund + self.totals.acct_pay;
        Settlement {
            totals,
            funds: self
                .funds
                .iter()
                .map(|row| FundRow {
                    fund_payamt: -row.fund_payamt,
                    inscp_scp_amt: -row.inscp_scp_amt,
                    ..*row
                })
                .collect(),
            lines: self.lines.iter().map(LineSplit::negated).collect(),
            postings: self
                .postings
                .iter()
                .map(|p| Posting {
                    key: p.key,
                    amount: -p.amount,
                })
                .collect(),
            trace: self.trace.clone(),
            cancellation: !self.cancellation,
            ..self.clone()
        }
    }

    /// Clears for reuse without freeing the buffers.
    pub fn clear(&mut self) {
        self.year = 0;
        self.settlement_date = None;
        self.bucket = None;
        self.level = 0;
        self.region = None;
        self.totals = Totals::default();
        self.funds.clear();
        self.lines.clear();
        self.postings.clear();
        self.trace.clear();
        self.cancellation = false;
    }
}
