//! The fund report from a store: funds as the stored benefit policies name them, book postings,
//! settlement payments and totals read from the settlement ledger, insured counts from the
//! registry.

use chrono::NaiveDate;
use yibao_books::{BookPosting, FundInfo, FundPayment, Period, Report, SettlementTotals};
use yibao_domain::{Code, Rounding};
use yibao_ledger::books::{self, BookRow, FundDay, SettlementDay};
use yibao_ledger::registry::{self, Document};
use yibao_ledger::{AnyConnection, LedgerError, Store};
use yibao_policy::Policy;

use crate::flows::flow_of_name;
use crate::RegionError;

/// The figures the report is built from, as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BooksInput {
    pub funds: Vec<FundInfo>,
    pub insured: Vec<(Code, u64)>,
    pub postings: Vec<BookPosting>,
    pub payments: Vec<FundPayment>,
    pub settlements: Vec<SettlementTotals>,
    pub rounding: Rounding,
}

/// Reads everything on or before the end of `period` and builds the fund report.
pub async fn fund_report(store: &Store, period: Period) -> Result<Report, RegionError> {
    let input = read_input(store, period).await?;
    Ok(Report::build(
        &input.funds,
        &input.insured,
        &input.postings,
        &input.payments,
        &input.settlements,
        period,
        input.rounding,
    )?)
}

/// Reads the report's inputs for `period` from the store.
pub async fn read_input(store: &Store, period: Period) -> Result<BooksInput, RegionError> {
    let until = last_day(period)?.format("%Y-%m-%d").to_string();
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let policies = stored_policies(&mut conn).await?;
    let rounding = policies
        .first()
        .map(|p| p.rounding)
        .ok_or(RegionError::NoPolicy)?;
    Ok(BooksInput {
        funds: funds_of(&policies),
        insured: books::insured_counts(&mut conn)
            .await?
            .into_iter()
            .map(|(insutype, n)| Ok((code("person_insu.insutype", &insutype)?, n as u64)))
            .collect::<Result<_, RegionError>>()?,
        postings: books::postings_until(&mut conn, &until)
            .await?
            .iter()
            .map(posting_of)
            .collect::<Result<_, _>>()?,
        payments: books::fund_payments_until(&mut conn, &until)
            .await?
            .iter()
            .map(payment_of)
            .collect::<Result<_, _>>()?,
        settlements: books::settlement_days_until(&mut conn, &until)
            .await?
            .iter()
            .map(totals_of)
            .collect::<Result<_, _>>()?,
        rounding,
    })
}

/// Last day of the period.
fn last_day(period: Period) -> Result<NaiveDate, RegionError> {
    let start = period.start()?;
    start
        .checked_add_months(chrono::Months::new(period.months() as u32))
        .and_then(|next| next.pred_opt())
        .ok_or_else(|| RegionError::Input {
            what: "period".into(),
            problem: format!("{} has no last day", period.label()),
        })
}

/// The benefit policies stored per pooling region.
pub(crate) async fn stored_policies(conn: &mut AnyConnection) -> Result<Vec<Policy>, RegionError> {
    registry::documents(conn, Document::Policy)
        .await?
        .into_iter()
        .map(|(admdvs, text)| {
            Policy::parse(&text).map_err(|e| RegionError::StoredPolicy {
                admdvs,
                problem: e.to_string(),
            })
        })
        .collect()
}

/// Every fund the policies' schemes pay from, under the first scheme that names it, in the order
/// the schemes name them (account first, then the benefit layers).
pub fn funds_of(policies: &[Policy]) -> Vec<FundInfo> {
    let mut funds: Vec<FundInfo> = Vec::new();
    for policy in policies {
        for scheme in &policy.schemes {
            let account = scheme.account.as_ref().map(|a| (a.fund, a.name.clone()));
            let named = scheme
                .buckets
                .iter()
                .map(|b| b.fund)
                .chain(scheme.flat_items.iter().map(|f| f.fund))
                .chain(scheme.large_amount.as_ref().map(|l| l.fund))
                .chain(scheme.catastrophic.as_ref().map(|c| c.fund))
                .chain(scheme.civil_servant.as_ref().map(|c| c.fund))
                .chain(scheme.assistance.as_ref().map(|a| a.fund))
                .chain(scheme.backstop.as_ref().map(|b| b.fund))
                .map(|code| (code, fund_name(policy, code)));
            for (code, name) in named.chain(account) {
                if !funds.iter().any(|f| f.code == code) {
                    funds.push(FundInfo {
                        code,
                        name,
                        insutype: scheme.insutype,
                    });
                }
            }
        }
    }
    funds
}

fn fund_name(policy: &Policy, code: Code) -> String {
    policy
        .funds
        .iter()
        .find(|f| f.code == code)
        .map_or_else(|| code.to_string(), |f| f.name.clone())
}

fn code(what: &str, text: &str) -> Result<Code, RegionError> {
    Code::new(text).map_err(|_| RegionError::Stored {
        what: what.to_string(),
        problem: format!("`{text}` is not a code"),
    })
}

fn date(what: &str, text: &str) -> Result<NaiveDate, RegionError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| RegionError::Stored {
        what: what.to_string(),
        problem: format!("`{text}`: {e}"),
    })
}

fn posting_of(row: &BookRow) -> Result<BookPosting, RegionError> {
    Ok(BookPosting {
        fund: code("book_postings.fund_pay_type", &row.fund_pay_type)?,
        date: date("book_postings.posting_date", &row.posting_date)?,
        flow: flow_of_name(&row.flow).ok_or_else(|| RegionError::Stored {
            what: "book_postings.flow".into(),
            problem: format!("`{}` is not a flow", row.flow),
        })?,
        amount: row.amount,
    })
}

fn payment_of(row: &FundDay) -> Result<FundPayment, RegionError> {
    Ok(FundPayment {
        fund: code("settlement_funds.fund_pay_type", &row.fund_pay_type)?,
        date: date("settlement date of care", &row.date)?,
        amount: row.amount,
    })
}

fn totals_of(row: &SettlementDay) -> Result<SettlementTotals, RegionError> {
    Ok(SettlementTotals {
        count: row.net_count,
        insutype: code("settlements.insutype", &row.insutype)?,
        date: date("settlement date of care", &row.date)?,
        amounts: row.amounts,
    })
}
