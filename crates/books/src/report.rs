//! Building and rendering the fund report.

use std::fmt::{self, Write};

use serde::{Serialize, Serializer};
use yibao_domain::{Code, Fen, Ratio, Rounding, BP_PER_ONE};

use crate::{
    balance_effect, BookPosting, BooksError, Flow, FundInfo, FundPayment, Period, SettlementTotals,
};

/// 可支付月数 in tenths of a month (one decimal, as the indicator is published).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthsPayable(pub i64);

impl fmt::Display for MonthsPayable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(
            f,
            "{sign}{}.{}",
            self.0.unsigned_abs() / 10,
            self.0.unsigned_abs() % 10
        )
    }
}

impl Serialize for MonthsPayable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One fund's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundRow {
    pub fund: Code,
    pub name: String,
    pub insutype: Code,
    /// Insured persons of the fund's scheme.
    pub insured: u64,
    pub income: Fen,
    pub expenditure: Fen,
    /// Part of the expenditure paid out through settlements.
    pub settlement_expenditure: Fen,
    /// 当期结余 = income − expenditure.
    pub current_balance: Fen,
    /// 累计结余 at the end of the period.
    pub accumulated_balance: Fen,
    pub average_monthly_expenditure: Fen,
    /// 可支付月数 = accumulated balance ÷ average monthly expenditure (none without expenditure).
    pub months_payable: Option<MonthsPayable>,
}

/// The one-stop breakdown of one scheme's settlements in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakdownRow {
    pub insutype: Code,
    pub settlements: i64,
    pub medfee_sumamt: Fen,
    pub basic: Fen,
    pub second_layers: Fen,
    pub assistance: Fen,
    pub backstop_and_other: Fen,
    pub fund_pay_sumamt: Fen,
    pub account: Fen,
    pub cash: Fen,
    pub hospital: Fen,
    /// 综合报销比例 = fund_pay_sumamt ÷ medfee_sumamt.
    pub reimbursement_ratio: Ratio,
}

/// What one scheme's funds owe institutions and paid them in the period, from the provider flows
/// of the books (postings of the monthly payments and year-end clearings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProviderRow {
    pub insutype: Code,
    /// Claims of the institutions' settlements (owed before deductions).
    pub claims: Fen,
    pub deductions: Fen,
    /// Claims − deductions: owed to the institutions.
    pub owed: Fen,
    /// Paid within the monthly quotas.
    pub paid: Fen,
    /// Deferred to the year-end (超支挂帐).
    pub deferred: Fen,
    pub reserve_withheld: Fen,
    pub prepayment_offset: Fen,
    /// Paid (or, negative, recovered) by the year-end clearing.
    pub year_end_payment: Fen,
    /// Procurement prepayments paid (采购周转金); shown when not zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub procurement_prepaid: Fen,
    /// Procurement prepayments recovered; shown when not zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub procurement_offset: Fen,
    /// Retained procurement savings paid (结余留用); shown when not zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub procurement_retained: Fen,
    /// Paid − reserve withheld − prepayment offset + year-end payment + procurement prepaid −
    /// procurement offset + procurement retained: money that left the fund for the institutions.
    pub transferred: Fen,
}

/// What cross-region clearing of the period posted on one fund (the fund as the clearing row
/// names it: the insured region's own, or a code the treating platform answered). On each side
/// what is owed less the deductions (audit, inspection, prepayment offset, reserve withheld) and
/// the transfer leaves the reserve withheld outstanding until its release pays it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClearingBookRow {
    pub fund: Code,
    /// Remote-care fund payments owed to treating regions (insured region's side).
    pub payable: Fen,
    pub payable_audit: Fen,
    pub payable_inspection: Fen,
    pub payable_prepayment_offset: Fen,
    pub payable_reserve_withheld: Fen,
    /// Withheld reserves paid out by their release.
    pub payable_reserve_released: Fen,
    /// Prepayment paid in or topped up.
    pub prepayment_paid_in: Fen,
    /// Transferred when clearings were paid (negative: recovered).
    pub payable_settled: Fen,
    /// Owed by insured regions for care at this platform's institutions (treating side).
    pub receivable: Fen,
    pub receivable_audit: Fen,
    pub receivable_inspection: Fen,
    pub receivable_prepayment_offset: Fen,
    pub receivable_reserve_withheld: Fen,
    /// Withheld reserves collected at their release.
    pub receivable_reserve_released: Fen,
    /// Prepayment received.
    pub prepayment_received: Fen,
    /// Collected when clearings were paid.
    pub receivable_collected: Fen,
    /// The same owed on to the institutions.
    pub owed_to_hospitals: Fen,
    /// Paid on to the institutions when clearings were paid.
    pub paid_to_hospitals: Fen,
}

/// The fund report for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub period: String,
    pub funds: Vec<FundRow>,
    pub breakdown: Vec<BreakdownRow>,
    /// Owed to and paid to institutions, per scheme (empty before any month is paid).
    pub providers: Vec<ProviderRow>,
    /// Cross-region clearing per fund (empty, and left out of JSON, before any month is cleared).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clearing: Vec<ClearingBookRow>,
}

impl Report {
    /// Builds the report. `insured` gives the insured count per scheme; `rounding` is the policy's.
    pub fn build(
        funds: &[FundInfo],
        insured: &[(Code, u64)],
        postings: &[BookPosting],
        payments: &[FundPayment],
        settlements: &[SettlementTotals],
        period: Period,
        rounding: Rounding,
    ) -> Result<Report, BooksError> {
        period.start()?;
        if let Some(unknown) = postings
            .iter()
            .filter(|p| !p.flow.is_clearing())
            .map(|p| p.fund)
            .chain(payments.iter().map(|p| p.fund))
            .find(|f| !funds.iter().any(|i| i.code == *f))
        {
            return Err(BooksError::UnknownFund(unknown));
        }
        let rows = funds
            .iter()
            .map(|info| fund_row(info, insured, postings, payments, period, rounding))
            .collect();
        Ok(Report {
            period: period.label(),
            funds: rows,
            breakdown: breakdown(settlements, period, rounding),
            providers: provider_rows(funds, postings, period),
            clearing: clearing_rows(postings, period),
        })
    }
}

/// The provider flows of the period summed per scheme of the fund they are posted to.
fn provider_rows(funds: &[FundInfo], postings: &[BookPosting], period: Period) -> Vec<ProviderRow> {
    let mut rows: Vec<ProviderRow> = Vec::new();
    let provider_postings = postings
        .iter()
        .filter(|p| p.flow.is_provider() && period.contains(p.date));
    for posting in provider_postings {
        let Some(info) = funds.iter().find(|f| f.code == posting.fund) else {
            continue;
        };
        let row = match rows.iter_mut().position(|r| r.insutype == info.insutype) {
            Some(index) => &mut rows[index],
            None => {
                rows.push(ProviderRow {
                    insutype: info.insutype,
                    ..ProviderRow::default()
                });
                rows.last_mut().expect("just pushed")
            }
        };
        add_provider_posting(row, posting);
    }
    rows.sort_by_key(|r| r.insutype);
    rows
}

/// The clearing flows of the period summed per fund.
fn clearing_rows(postings: &[BookPosting], period: Period) -> Vec<ClearingBookRow> {
    let mut rows: std::collections::BTreeMap<Code, ClearingBookRow> = Default::default();
    for posting in postings
        .iter()
        .filter(|p| p.flow.is_clearing() && period.contains(p.date))
    {
        let row = rows.entry(posting.fund).or_insert_with(|| ClearingBookRow {
            fund: posting.fund,
            ..ClearingBookRow::default()
        });
        if let Some(column) = clearing_column(row, posting.flow) {
            *column += posting.amount;
        }
    }
    rows.into_values().collect()
}

/// The column of a clearing row a clearing flow adds to.
fn clearing_column(row: &mut ClearingBookRow, flow: Flow) -> Option<&mut Fen> {
    Some(match flow {
        Flow::ClearingPayable => &mut row.payable,
        Flow::ClearingPayableAudit => &mut row.payable_audit,
        Flow::ClearingPayableInspection => &mut row.payable_inspection,
        Flow::ClearingPayablePrepaymentOffset => &mut row.payable_prepayment_offset,
        Flow::ClearingPayableReserveWithheld => &mut row.payable_reserve_withheld,
        Flow::ClearingPayableReserveReleased => &mut row.payable_reserve_released,
        Flow::ClearingPrepaymentPaidIn => &mut row.prepayment_paid_in,
        Flow::ClearingPayableSettled => &mut row.payable_settled,
        Flow::ClearingReceivable => &mut row.receivable,
        Flow::ClearingReceivableAudit => &mut row.receivable_audit,
        Flow::ClearingReceivableInspection => &mut row.receivable_inspection,
        Flow::ClearingReceivablePrepaymentOffset => &mut row.receivable_prepayment_offset,
        Flow::ClearingReceivableReserveWithheld => &mut row.receivable_reserve_withheld,
        Flow::ClearingReceivableReserveReleased => &mut row.receivable_reserve_released,
        Flow::ClearingPrepaymentReceived => &mut row.prepayment_received,
        Flow::ClearingReceivableCollected => &mut row.receivable_collected,
        Flow::ClearingOwedToHospitals => &mut row.owed_to_hospitals,
        Flow::ClearingPaidToHospitals => &mut row.paid_to_hospitals,
        _ => return None,
    })
}

fn add_provider_posting(row: &mut ProviderRow, posting: &BookPosting) {
    let amount = posting.amount;
    match posting.flow {
        Flow::ProviderClaims => row.claims += amount,
        Flow::ProviderDeductions => row.deductions += amount,
        Flow::ProviderPaid => row.paid += amount,
        Flow::ProviderDeferred => row.deferred += amount,
        Flow::ProviderReserveWithheld => row.reserve_withheld += amount,
        Flow::ProviderPrepaymentOffset => row.prepayment_offset += amount,
        Flow::ProviderYearEnd => row.year_end_payment += amount,
        Flow::ProviderProcurementPrepaid => row.procurement_prepaid += amount,
        Flow::ProviderProcurementOffset => row.procurement_offset += amount,
        Flow::ProviderProcurementRetained => row.procurement_retained += amount,
        _ => return,
    }
    row.owed = row.claims - row.deductions;
    row.transferred = row.paid - row.reserve_withheld - row.prepayment_offset
        + row.year_end_payment
        + row.procurement_prepaid
        - row.procurement_offset
        + row.procurement_retained;
}

fn fund_row(
    info: &FundInfo,
    insured: &[(Code, u64)],
    postings: &[BookPosting],
    payments: &[FundPayment],
    period: Period,
    rounding: Rounding,
) -> FundRow {
    let mine = postings.iter().filter(|p| p.fund == info.code);
    let paid = payments.iter().filter(|p| p.fund == info.code);
    let in_period_income: Fen = mine
        .clone()
        .filter(|p| period.contains(p.date) && p.flow.is_income())
        .map(|p| p.amount)
        .sum();
    let in_period_other_out: Fen = mine
        .clone()
        .filter(|p| period.contains(p.date) && p.flow.is_expenditure())
        .map(|p| p.amount)
        .sum();
    let settlement_expenditure: Fen = paid
        .clone()
        .filter(|p| period.contains(p.date))
        .map(|p| p.amount)
        .sum();
    let expenditure = in_period_other_out + settlement_expenditure;
    let accumulated_balance = mine
        .filter(|p| period.ends_after(p.date))
        .map(balance_effect)
        .sum::<Fen>()
        - paid
            .filter(|p| period.ends_after(p.date))
            .map(|p| p.amount)
            .sum::<Fen>();
    let average_monthly_expenditure =
        rounding.div(i128::from(expenditure.fen()), i128::from(period.months()));
    let months_payable = (expenditure > Fen::ZERO).then(|| {
        MonthsPayable(
            rounding
                .div(
                    i128::from(accumulated_balance.fen()) * 10 * i128::from(period.months()),
                    i128::from(expenditure.fen()),
                )
                .fen(),
        )
    });
    FundRow {
        fund: info.code,
        name: info.name.clone(),
        insutype: info.insutype,
        insured: insured
            .iter()
            .find(|(t, _)| *t == info.insutype)
            .map_or(0, |(_, n)| *n),
        income: in_period_income,
        expenditure,
        settlement_expenditure,
        current_balance: in_period_income - expenditure,
        accumulated_balance,
        average_monthly_expenditure,
        months_payable,
    }
}

fn breakdown(
    settlements: &[SettlementTotals],
    period: Period,
    rounding: Rounding,
) -> Vec<BreakdownRow> {
    let mut rows: Vec<BreakdownRow> = Vec::new();
    for s in settlements.iter().filter(|s| period.contains(s.date)) {
        let row = match rows.iter_mut().find(|r| r.insutype == s.insutype) {
            Some(row) => row,
            None => {
                rows.push(empty_breakdown(s.insutype));
                rows.last_mut().expect("just pushed")
            }
        };
        let a = &s.amounts;
        row.settlements += s.count;
        row.medfee_sumamt += a.medfee_sumamt;
        row.basic += a.hifp_pay;
        row.second_layers += a.hifmi_pay + a.hifob_pay + a.cvlserv_pay + a.hifes_pay;
        row.assistance += a.maf_pay;
        row.backstop_and_other += a.oth_pay;
        row.fund_pay_sumamt += a.fund_pay_sumamt;
        row.account += a.acct_pay;
        row.cash += a.psn_cash_pay;
        row.hospital += a.hosp_part_amt;
    }
    for row in &mut rows {
        row.reimbursement_ratio = ratio_of(row.fund_pay_sumamt, row.medfee_sumamt, rounding);
    }
    rows.sort_by_key(|r| r.insutype);
    rows
}

fn empty_breakdown(insutype: Code) -> BreakdownRow {
    BreakdownRow {
        insutype,
        settlements: 0,
        medfee_sumamt: Fen::ZERO,
        basic: Fen::ZERO,
        second_layers: Fen::ZERO,
        assistance: Fen::ZERO,
        backstop_and_other: Fen::ZERO,
        fund_pay_sumamt: Fen::ZERO,
        account: Fen::ZERO,
        cash: Fen::ZERO,
        hospital: Fen::ZERO,
        reimbursement_ratio: Ratio::ZERO,
    }
}

/// `part ÷ whole` in basis points, rounded; zero when there is no whole.
fn ratio_of(part: Fen, whole: Fen, rounding: Rounding) -> Ratio {
    if whole <= Fen::ZERO {
        return Ratio::ZERO;
    }
    let bp = rounding
        .div(
            i128::from(part.fen()) * i128::from(BP_PER_ONE),
            i128::from(whole.fen()),
        )
        .fen();
    Ratio(bp.clamp(0, i64::from(BP_PER_ONE)) as u32)
}

fn months_text(months: Option<MonthsPayable>) -> String {
    months.map_or_else(|| "-".to_string(), |m| m.to_string())
}

/// The report as a text table (yuan with two decimals).
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "基金收支情况 {}", report.period);
    let _ = writeln!(
        out,
        "{:<8}{:<6}{:>10}{:>16}{:>16}{:>16}{:>16}{:>8}  基金",
        "基金", "险种", "参保人数", "收入", "支出", "当期结余", "累计结余", "可支付月数"
    );
    for row in &report.funds {
        let _ = writeln!(
            out,
            "{:<8}{:<6}{:>10}{:>16}{:>16}{:>16}{:>16}{:>8}  {}",
            row.fund.as_str(),
            row.insutype.as_str(),
            row.insured,
            row.income.to_yuan_string(),
            row.expenditure.to_yuan_string(),
            row.current_balance.to_yuan_string(),
            row.accumulated_balance.to_yuan_string(),
            months_text(row.months_payable),
            row.name
        );
    }
    let _ = writeln!(out, "\n一站式结算 {}", report.period);
    let _ = writeln!(
        out,
        "{:<6}{:>10}{:>16}{:>16}{:>14}{:>14}{:>14}{:>14}{:>14}{:>10}",
        "险种",
        "结算人次",
        "医疗费总额",
        "基本统筹",
        "大病大额公务员",
        "医疗救助",
        "兜底其他",
        "个人账户",
        "个人现金",
        "报销比例"
    );
    for row in &report.breakdown {
        let _ = writeln!(
            out,
            "{:<6}{:>10}{:>16}{:>16}{:>14}{:>14}{:>14}{:>14}{:>14}{:>10}",
            row.insutype.as_str(),
            row.settlements,
            row.medfee_sumamt.to_yuan_string(),
            row.basic.to_yuan_string(),
            row.second_layers.to_yuan_string(),
            row.assistance.to_yuan_string(),
            row.backstop_and_other.to_yuan_string(),
            row.account.to_yuan_string(),
            row.cash.to_yuan_string(),
            row.reimbursement_ratio.to_string()
        );
    }
    render_provider_table(&mut out, report);
    render_clearing_table(&mut out, report);
    out
}

fn render_clearing_table(out: &mut String, report: &Report) {
    if report.clearing.is_empty() {
        return;
    }
    let insured = |r: &ClearingBookRow| {
        [
            r.payable,
            r.payable_audit,
            r.payable_inspection,
            r.payable_prepayment_offset,
            r.payable_reserve_withheld,
            r.prepayment_paid_in,
            r.payable_settled,
            r.payable_reserve_released,
        ]
    };
    let treating = |r: &ClearingBookRow| {
        [
            r.receivable,
            r.receivable_audit,
            r.receivable_inspection,
            r.receivable_prepayment_offset,
            r.receivable_reserve_withheld,
            r.prepayment_received,
            r.receivable_collected,
            r.receivable_reserve_released,
            r.owed_to_hospitals,
            r.paid_to_hospitals,
        ]
    };
    let heads = ["审核扣款", "稽核扣款", "预付金抵扣", "预留金暂扣"];
    let mut insured_heads = vec!["应付他统筹区"];
    insured_heads.extend(heads);
    insured_heads.extend(["预付金拨付", "已拨付", "预留金返还"]);
    let mut treating_heads = vec!["应收他统筹区"];
    treating_heads.extend(heads);
    treating_heads.extend([
        "预付金收到",
        "已收款",
        "预留金收回",
        "应付医疗机构",
        "已付医疗机构",
    ]);
    render_clearing_side(out, report, "参保地", &insured_heads, insured);
    render_clearing_side(out, report, "就医地", &treating_heads, treating);
}

/// One side's table of the clearing flows, left out when the side posted nothing.
fn render_clearing_side<const N: usize>(
    out: &mut String,
    report: &Report,
    side: &str,
    heads: &[&str],
    columns: impl Fn(&ClearingBookRow) -> [Fen; N],
) {
    let rows: Vec<(&Code, [Fen; N])> = report
        .clearing
        .iter()
        .map(|r| (&r.fund, columns(r)))
        .filter(|(_, amounts)| amounts.iter().any(|a| !a.is_zero()))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n异地就医清算（{side}） {}", report.period);
    let _ = write!(out, "{:<10}", "基金");
    for head in heads {
        let _ = write!(out, "{head:>14}");
    }
    let _ = writeln!(out);
    for (fund, amounts) in rows {
        let _ = write!(out, "{:<10}", fund.as_str());
        for amount in amounts {
            let _ = write!(out, "{:>16}", amount.to_yuan_string());
        }
        let _ = writeln!(out);
    }
}

fn render_provider_table(out: &mut String, report: &Report) {
    if report.providers.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n医疗机构拨付 {}", report.period);
    let _ = writeln!(
        out,
        "{:<6}{:>16}{:>14}{:>16}{:>16}{:>14}{:>14}{:>16}",
        "险种", "申报金额", "扣款", "月度拨付", "超支挂帐", "预留金", "年终清算", "实际拨付"
    );
    for row in &report.providers {
        let _ = writeln!(
            out,
            "{:<6}{:>16}{:>14}{:>16}{:>16}{:>14}{:>14}{:>16}",
            row.insutype.as_str(),
            row.claims.to_yuan_string(),
            row.deductions.to_yuan_string(),
            row.paid.to_yuan_string(),
            row.deferred.to_yuan_string(),
            row.reserve_withheld.to_yuan_string(),
            row.year_end_payment.to_yuan_string(),
            row.transferred.to_yuan_string()
        );
    }
}

/// The fund rows as CSV (header row; yuan with two decimals).
pub fn render_csv(report: &Report) -> String {
    let mut out = String::from("period,fund,name,insutype,insured,income,expenditure,settlement_expenditure,current_balance,accumulated_balance,average_monthly_expenditure,months_payable\n");
    for row in &report.funds {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            report.period,
            row.fund,
            row.name.replace(',', " "),
            row.insutype,
            row.insured,
            row.income,
            row.expenditure,
            row.settlement_expenditure,
            row.current_balance,
            row.accumulated_balance,
            row.average_monthly_expenditure,
            row.months_payable
                .map_or_else(String::new, |m| m.to_string())
        );
    }
    out
}

/// Whether an optional report amount is left out of the JSON.
fn is_zero(amount: &Fen) -> bool {
    amount.is_zero()
}
