//! The provider report (`yibao report providers`, `GET /admin/providers`): per institution ×
//! scheme, its index and what the posted statements of a month or of the year claim, deduct, pay
//! and defer, and the year-end once cleared; as a table or CSV (yuan with two decimals) or JSON.

use std::fmt::Write;

use serde::Serialize;
use yibao_domain::{Code, Fen};

use crate::{Budget, MonthStatement, YearEndStatement};

/// One institution × scheme's line of the provider report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderSummary {
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    /// The month reported, or none for the year.
    pub month: Option<u8>,
    pub annual_index: Fen,
    /// How many of the period's months are paid.
    pub months_paid: u8,
    pub claims: Fen,
    pub deductions: Fen,
    /// Paid within the quotas.
    pub paid: Fen,
    /// Deferred to the year-end (超支挂帐).
    pub deferred: Fen,
    pub reserve_withheld: Fen,
    pub prepayment_offset: Fen,
    /// What the fund transferred: paid − reserve withheld − prepayment offset.
    pub transfer: Fen,
    /// The year-end payment, once the year is cleared (year reports only).
    pub year_end_payment: Option<Fen>,
    /// The year's entitlement, once the year is cleared (year reports only).
    #[serde(rename = "final")]
    pub final_amount: Option<Fen>,
}

/// Sums the posted statements of `budget`'s institution × scheme for `month` (or the whole year
/// when `None`, with the year-end when it is posted). `months` are the posted months, any order.
pub fn summarize(
    budget: &Budget,
    months: &[MonthStatement],
    year_end: Option<&YearEndStatement>,
    month: Option<u8>,
) -> ProviderSummary {
    let reported: Vec<&MonthStatement> = months
        .iter()
        .filter(|s| month.is_none_or(|m| s.month == m))
        .collect();
    let sum = |field: fn(&MonthStatement) -> Fen| reported.iter().map(|s| field(s)).sum::<Fen>();
    let year_end = year_end.filter(|_| month.is_none());
    ProviderSummary {
        fixmedins_code: budget.fixmedins_code.clone(),
        insutype: budget.insutype,
        year: budget.year,
        month,
        annual_index: budget.annual_index,
        months_paid: reported.len() as u8,
        claims: sum(|s| s.claims),
        deductions: sum(|s| s.deductions),
        paid: sum(|s| s.paid),
        deferred: sum(|s| s.deferred),
        reserve_withheld: sum(|s| s.reserve_withheld),
        prepayment_offset: sum(|s| s.prepayment_offset),
        transfer: sum(|s| s.transfer),
        year_end_payment: year_end.map(|y| y.year_end_payment),
        final_amount: year_end.map(|y| y.final_amount),
    }
}

fn optional(amount: Option<Fen>) -> String {
    amount.map_or_else(|| "-".to_string(), |a| a.to_yuan_string())
}

/// The report as a text table, with a total line.
pub fn render_table(title: &str, lines: &[ProviderSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "医疗机构拨付 {title}");
    let _ = writeln!(
        out,
        "{:<14}{:<6}{:>16}{:>6}{:>16}{:>14}{:>16}{:>16}{:>14}{:>16}{:>14}",
        "机构",
        "险种",
        "年度指标",
        "月数",
        "申报金额",
        "扣款",
        "月度拨付",
        "超支挂帐",
        "预留金",
        "年终清算",
        "清算总额"
    );
    for line in lines {
        let _ = writeln!(
            out,
            "{:<14}{:<6}{:>16}{:>6}{:>16}{:>14}{:>16}{:>16}{:>14}{:>16}{:>14}",
            line.fixmedins_code,
            line.insutype.as_str(),
            line.annual_index.to_yuan_string(),
            line.months_paid,
            line.claims.to_yuan_string(),
            line.deductions.to_yuan_string(),
            line.paid.to_yuan_string(),
            line.deferred.to_yuan_string(),
            line.reserve_withheld.to_yuan_string(),
            optional(line.year_end_payment),
            optional(line.final_amount)
        );
    }
    let total = |field: fn(&ProviderSummary) -> Fen| lines.iter().map(field).sum::<Fen>();
    let _ = writeln!(
        out,
        "{:<20}{:>16}{:>6}{:>16}{:>14}{:>16}{:>16}{:>14}",
        "合计",
        total(|l| l.annual_index).to_yuan_string(),
        "",
        total(|l| l.claims).to_yuan_string(),
        total(|l| l.deductions).to_yuan_string(),
        total(|l| l.paid).to_yuan_string(),
        total(|l| l.deferred).to_yuan_string(),
        total(|l| l.reserve_withheld).to_yuan_string()
    );
    out
}

/// The report as CSV with a header row (yuan with two decimals; empty where not cleared yet).
pub fn render_csv(lines: &[ProviderSummary]) -> String {
    let mut out = String::from(
        "fixmedins_code,insutype,year,month,annual_index,months_paid,claims,deductions,paid,deferred,reserve_withheld,prepayment_offset,transfer,year_end_payment,final\n",
    );
    let text = |amount: Option<Fen>| amount.map_or_else(String::new, |a| a.to_yuan_string());
    for line in lines {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            line.fixmedins_code,
            line.insutype,
            line.year,
            line.month.map_or_else(String::new, |m| m.to_string()),
            line.annual_index.to_yuan_string(),
            line.months_paid,
            line.claims.to_yuan_string(),
            line.deductions.to_yuan_string(),
            line.paid.to_yuan_string(),
            line.deferred.to_yuan_string(),
            line.reserve_withheld.to_yuan_string(),
            line.prepayment_offset.to_yuan_string(),
            line.transfer.to_yuan_string(),
            text(line.year_end_payment),
            text(line.final_amount)
        );
    }
    out
}
