//! What the engine returns: the visit totals in national field names, one row per paying fund,
//! the per-line split, the accumulator postings and a structured trace.

use chrono::NaiveDate;
use yibao_domain::codes::{ChrgitmLv, MedChrgitmType};
use yibao_domain::{Code, Fen, LineAmounts, Ratio, SetlAmounts};
use yibao_policy::{Region, SummaryColumn};

use crate::accumulators::Posting;
use crate::trace::TraceStep;

/// Adds a fund payment to its `setlinfo` summary column.
pub fn add_to_column(totals: &mut SetlAmounts, column: SummaryColumn, amount: Fen) {
    let slot = match column {
        SummaryColumn::HifpPay => &mut totals.hifp_pay,
        SummaryColumn::CvlservPay => &mut totals.cvlserv_pay,
        SummaryColumn::HifesPay => &mut totals.hifes_pay,
        SummaryColumn::HifmiPay => &mut totals.hifmi_pay,
        SummaryColumn::HifobPay => &mut totals.hifob_pay,
        SummaryColumn::MafPay => &mut totals.maf_pay,
        SummaryColumn::OthPay => &mut totals.oth_pay,
    };
    *slot += amount;
}

/// Who bears a `setldetail` row. Which summary column a fund's payment goes to is policy data
/// (the fund's `column`), applied when the payment is made; a row names only its payer class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    Fund,
    PersonalAccount,
    Hospital,
}

impl Payer {
    /// Every payer, for reading storage codes.
    const ALL: [Payer; 3] = [Payer::Fund, Payer::PersonalAccount, Payer::Hospital];

    /// Storage code (how a stored row names its payer).
    pub fn code(self) -> &'static str {
        match self {
            Payer::Fund => "fund",
            Payer::PersonalAccount => "account",
            Payer::Hospital => "hospital",
        }
    }

    /// Reads a storage code.
    pub fn from_code(code: &str) -> Option<Payer> {
        Payer::ALL.into_iter().find(|payer| payer.code() == code)
    }
}

/// One `setldetail` row: the fund (or account) paying, who bears it and its amounts. The one row
/// type of the engine's result and of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundRow {
    pub fund_pay_type: Code,
    pub payer: Payer,
    /// The amount this fund's calculation started from.
    pub inscp_scp_amt: Fen,
    /// Cap still available before this settlement (`None`: no cap).
    pub crt_payb_lmt_amt: Option<Fen>,
    pub fund_payamt: Fen,
}

impl FundRow {
    /// The row of a cancellation mirror: the amounts negated; the cap still available before the
    /// original settlement is kept, as it was.
    pub fn negated(&self) -> FundRow {
        FundRow {
            inscp_scp_amt: -self.inscp_scp_amt,
            fund_payamt: -self.fund_payamt,
            ..*self
        }
    }
}

/// A `setldetail` row of a settlement with the trace step that explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracedFundRow {
    pub row: FundRow,
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
    /// Every rule, for reading storage codes.
    const ALL: [LineRule; 8] = [
        LineRule::Covered,
        LineRule::NotInCatalogue,
        LineRule::ClassC,
        LineRule::RestrictedWithoutApproval,
        LineRule::MarkedSelfPay,
        LineRule::SexRestricted,
        LineRule::AgeRestricted,
        LineRule::LevelRestricted,
    ];

    /// Storage code (how a stored split names its rule).
    pub fn code(self) -> &'static str {
        match self {
            LineRule::Covered => "covered",
            LineRule::NotInCatalogue => "not_in_catalogue",
            LineRule::ClassC => "class_c",
            LineRule::RestrictedWithoutApproval => "restricted_without_approval",
            LineRule::MarkedSelfPay => "marked_self_pay",
            LineRule::SexRestricted => "sex_restricted",
            LineRule::AgeRestricted => "age_restricted",
            LineRule::LevelRestricted => "level_restricted",
        }
    }

    /// Reads a storage code.
    pub fn from_code(code: &str) -> Option<LineRule> {
        LineRule::ALL.into_iter().find(|rule| rule.code() == code)
    }

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
    /// The line's amount and its four parts.
    pub amounts: LineAmounts,
    /// Part of `amounts.preselfpay_amt` added by the remote-care extra 先行自付 (M1).
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
    /// The split of a cancellation mirror: every amount negated.
    pub fn negated(&self) -> LineSplit {
        LineSplit {
            amounts: self.amounts.negated(),
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
    /// The `setlinfo` amounts.
    pub totals: SetlAmounts,
    /// Account balance after this settlement.
    pub balc: Fen,
    pub funds: Vec<TracedFundRow>,
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
        Settlement {
            totals: self.totals.negated(),
            balc: balance_before_refund + self.totals.acct_pay,
            funds: self
                .funds
                .iter()
                .map(|f| TracedFundRow {
                    row: f.row.negated(),
                    ..*f
                })
                .collect(),
            lines: self.lines.iter().map(LineSplit::negated).collect(),
            postings: self.postings.iter().map(Posting::negated).collect(),
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
        self.totals = SetlAmounts::default();
        self.balc = Fen::ZERO;
        self.funds.clear();
        self.lines.clear();
        self.postings.clear();
        self.trace.clear();
        self.cancellation = false;
    }
}
