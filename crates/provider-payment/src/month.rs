//! Monthly payment (一月一拨) of one institution × scheme: the month's claims less deductions, paid
//! within the quota and deferred above it (超支挂帐), less the withheld reserve (预留金) and
//! prepayment offsets (预付金抵扣), then the procurement prepayment's offsets (采购周转金).

use serde::{Deserialize, Serialize};
use yibao_domain::Fen;

use crate::budget::{check_amount, Budget, PaymentError};
use crate::policy::{PaymentPolicy, QuotaMode};

/// Months in a budget year.
pub const MONTHS: usize = 12;

/// What a month brings to the payment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthInput {
    /// Fund payments claimed for the month's settlements.
    pub claims: Fen,
    /// Audit and inspection deductions posted in the month (扣款类型 10 审核, 20 稽核).
    pub deductions: Fen,
    /// Prepayment to recover from this month on (扣款类型 30 预付金抵扣).
    pub prepayment_offset: Fen,
    /// The procurement prepayment's offset due this month (its schedule, [`crate::procurement`]).
    pub procurement_offset: Fen,
}

/// The month's statement; its `*_to_date` fields carry the year into the next month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthStatement {
    /// 1–12.
    pub month: u8,
    pub claims: Fen,
    pub deductions: Fen,
    /// Claims − deductions.
    pub net_claims: Fen,
    /// The month's share of the annual index.
    pub quota: Fen,
    /// Paid within the quota (`paid_m` of the year-end formula); negative when the deductions
    /// exceed what is payable, i.e. recovered from the institution.
    pub paid: Fen,
    /// Net claims − paid: deferred to the year-end (超支挂帐); negative when a cumulative quota
    /// releases an earlier deferral.
    pub deferred: Fen,
    pub net_claims_to_date: Fen,
    pub quota_to_date: Fen,
    pub paid_to_date: Fen,
    /// Net claims to date − paid to date: deferred and not paid yet.
    pub deferred_to_date: Fen,
    /// Withheld from a positive `paid` as the quality reserve, settled at the year-end.
    pub reserve_withheld: Fen,
    pub reserve_withheld_to_date: Fen,
    /// Prepayment recovered this month: what was due, at most what the month transfers.
    pub prepayment_offset: Fen,
    /// Prepayment still to recover in later months.
    pub prepayment_outstanding: Fen,
    /// Procurement prepayment (采购周转金) recovered this month: what was due, at most what the
    /// month transfers after the prepayment offset.
    #[serde(default)]
    pub procurement_offset: Fen,
    /// Procurement prepayment still to recover in later months (after December: at the year-end).
    #[serde(default)]
    pub procurement_outstanding: Fen,
    /// Paid − reserve withheld − prepayment offset − procurement offset: what the fund transfers
    /// to the institution.
    pub transfer: Fen,
}

/// Pays month `month` (1–12) of `budget`; `previous` is the statement of the month before (`None`
/// for January).
pub fn pay_month(
    policy: &PaymentPolicy,
    budget: &Budget,
    month: u8,
    input: &MonthInput,
    previous: Option<&MonthStatement>,
) -> Result<MonthStatement, PaymentError> {
    budget.check()?;
    check_sequence(budget, month, previous)?;
    check_amount(budget, &format!("month {month} claims"), input.claims)?;
    check_amount(
        budget,
        &format!("month {month} deductions"),
        input.deductions,
    )?;
    check_amount(
        budget,
        &format!("month {month} prepayment_offset"),
        input.prepayment_offset,
    )?;
    check_amount(
        budget,
        &format!("month {month} procurement_offset"),
        input.procurement_offset,
    )?;
    let rules = &policy.budget;
    let quota = rules
        .monthly_split
        .quotas(budget.annual_index, policy.rounding)[usize::from(month) - 1];
    let before = previous.map_or_else(YearToDate::default, YearToDate::after);
    let net_claims = input.claims - input.deductions;
    let net_claims_to_date = before.net_claims + net_claims;
    let quota_to_date = before.quota + quota;
    let paid = match rules.monthly_quota {
        QuotaMode::PerMonth => net_claims.min(quota),
        QuotaMode::Cumulative => net_claims_to_date.min(quota_to_date) - before.paid,
    };
    let reserve_withheld = policy
        .rounding
        .apply(paid.clamp_non_negative(), rules.reserve_withheld);
    let prepayment_due = before.prepayment_outstanding + input.prepayment_offset;
    let prepayment_offset = prepayment_due.min((paid - reserve_withheld).clamp_non_negative());
    let procurement_due = before.procurement_outstanding + input.procurement_offset;
    let procurement_offset =
        procurement_due.min((paid - reserve_withheld - prepayment_offset).clamp_non_negative());
    let paid_to_date = before.paid + paid;
    Ok(MonthStatement {
        month,
        claims: input.claims,
        deductions: input.deductions,
        net_claims,
        quota,
        paid,
        deferred: net_claims - paid,
        net_claims_to_date,
        quota_to_date,
        paid_to_date,
        deferred_to_date: net_claims_to_date - paid_to_date,
        reserve_withheld,
        reserve_withheld_to_date: before.reserve_withheld + reserve_withheld,
        prepayment_offset,
        prepayment_outstanding: prepayment_due - prepayment_offset,
        procurement_offset,
        procurement_outstanding: procurement_due - procurement_offset,
        transfer: paid - reserve_withheld - prepayment_offset - procurement_offset,
    })
}

/// Pays the twelve months of a year in order.
pub fn pay_year(
    policy: &PaymentPolicy,
    budget: &Budget,
    inputs: &[MonthInput; MONTHS],
) -> Result<[MonthStatement; MONTHS], PaymentError> {
    let mut statements: Vec<MonthStatement> = Vec::with_capacity(MONTHS);
    for (month, input) in (1..=MONTHS as u8).zip(inputs) {
        let statement = pay_month(policy, budget, month, input, statements.last())?;
        statements.push(statement);
    }
    Ok(statements
        .try_into()
        .expect("one statement per month of the year"))
}

/// The running totals a month starts from.
#[derive(Default)]
struct YearToDate {
    net_claims: Fen,
    quota: Fen,
    paid: Fen,
    reserve_withheld: Fen,
    prepayment_outstanding: Fen,
    procurement_outstanding: Fen,
}

impl YearToDate {
    fn after(statement: &MonthStatement) -> YearToDate {
        YearToDate {
            net_claims: statement.net_claims_to_date,
            quota: statement.quota_to_date,
            paid: statement.paid_to_date,
            reserve_withheld: statement.reserve_withheld_to_date,
            prepayment_outstanding: statement.prepayment_outstanding,
            procurement_outstanding: statement.procurement_outstanding,
        }
    }
}

fn check_sequence(
    budget: &Budget,
    month: u8,
    previous: Option<&MonthStatement>,
) -> Result<(), PaymentError> {
    if !(1..=MONTHS as u8).contains(&month) {
        return Err(budget.error("month", format!("{month} is not a month (1–12)")));
    }
    match (month, previous) {
        (1, None) => Ok(()),
        (1, Some(_)) => Err(budget.error("month", "January starts the year: no previous month")),
        (_, None) => Err(budget.error(
            "month",
            format!("month {month} needs the statement of month {}", month - 1),
        )),
        (_, Some(p)) if p.month + 1 == month => Ok(()),
        (_, Some(p)) => Err(budget.error(
            "month",
            format!("month {month} follows month {}, not {}", month - 1, p.month),
        )),
    }
}
