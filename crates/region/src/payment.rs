//! Paying the region's institutions from the store: the month's payment (一月一拨) and the year-end
//! clearing of every budgeted institution × scheme, with `yibao-provider-payment`'s rules over the
//! claims of the settlement ledger and the posted deductions. Posting is idempotent: a month or year
//! already posted is returned as stored and nothing is posted twice; a posted month read again
//! (paying a month reads the ledger from the first month some budget has not posted) whose inputs
//! have changed since is reported, never silently recomputed. Months every budget has posted are
//! taken as stored, so paying a month reads that month's settlements, not the year's. A statement posted before its book
//! postings were kept (an older yibao) gets them when its month or year is paid again.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use yibao_domain::{Code, Fen};
use yibao_ledger::procurement::{
    self, Posted, PrepaymentBasis, PrepaymentToPost, ProcurementError, StoredPrepayment,
};
use yibao_ledger::provider::{self, ClaimsMonth, ProviderKey};
use yibao_ledger::provider_books::{self, ToPost};
use yibao_ledger::{AnyConnection, LedgerError, Store};
use yibao_policy::SummaryColumn;
use yibao_provider_payment::input::{PrepaymentRow, SavingsItems};
use yibao_provider_payment::procurement::{plan_prepayment, prepayment_amount};
use yibao_provider_payment::{
    clear_year, pay_month as pay_one, MonthInput, MonthStatement, PaymentError, PaymentPolicy,
    Score, YearEndInput, YearEndStatement, MONTHS,
};

/// Why a payment run stopped; nothing was posted.
#[derive(Debug, thiserror::Error)]
pub enum PaymentRunError {
    #[error("month {0}: not a month 1–12")]
    BadMonth(u32),
    #[error("{year}-{month:02} has not ended on {as_of}; a month is paid once it is over")]
    MonthNotOver {
        year: i32,
        month: u32,
        as_of: NaiveDate,
    },
    #[error("no budget is stored for {0}; import the year's budgets first (`yibao pay budgets`)")]
    NoBudgets(i32),
    #[error("{fixmedins_code} {insutype} {year}-{month:02}: the posted statement differs from one computed now from the ledger ({field}); the month's claims or deductions changed after it was paid")]
    PostedChanged {
        fixmedins_code: String,
        insutype: String,
        year: i32,
        month: u8,
        field: &'static str,
    },
    #[error("{fixmedins_code} {insutype} {year}: months {missing:?} are not paid yet; pay every month before the year-end")]
    MonthsMissing {
        fixmedins_code: String,
        insutype: String,
        year: i32,
        missing: Vec<u8>,
    },
    #[error("scheme {insutype}: no stored benefit policy names its pooled fund (a fund of the scheme's buckets paying `hifp_pay`), which pays its institutions; load the policy first")]
    NoPooledFund { insutype: String },
    #[error("stored benefit policy: {0}")]
    StoredPolicy(String),
    #[error("{fixmedins_code} {insutype} {year}: no budget is stored; a procurement prepayment is made to a budgeted institution")]
    NoBudget {
        fixmedins_code: String,
        insutype: String,
        year: i32,
    },
    #[error("prepayments file line {line}: {problem}")]
    PrepaymentRow { line: u64, problem: String },
    #[error("{fixmedins_code} {insutype} {year}: the procurement savings exceed the largest amount, 99999999999999.99")]
    SavingsTooLarge {
        fixmedins_code: String,
        insutype: String,
        year: i32,
    },
    #[error(transparent)]
    Procurement(#[from] ProcurementError),
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// One institution × scheme's statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderStatement<T> {
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    pub statement: T,
}

/// The last day of a month.
fn month_end(year: i32, month: u32) -> Option<NaiveDate> {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()
}

/// The first field in which two statements of one month differ.
fn first_difference(posted: &MonthStatement, now: &MonthStatement) -> Option<&'static str> {
    let pairs = [
        ("claims", posted.claims, now.claims),
        ("deductions", posted.deductions, now.deductions),
        ("paid", posted.paid, now.paid),
        ("deferred", posted.deferred, now.deferred),
        ("transfer", posted.transfer, now.transfer),
    ];
    pairs
        .iter()
        .find(|(_, a, b)| a != b)
        .map(|(field, _, _)| *field)
}

/// Pays month `month` of `year` for every budgeted institution × scheme (paying any earlier month
/// not paid yet first) and returns the month's statements. `as_of` is today: a month is paid once it
/// is over. Claims belong to the month they were settled in.
pub async fn pay_month(
    store: &Store,
    policy: &PaymentPolicy,
    year: i32,
    month: u32,
    as_of: NaiveDate,
    posted_at: &str,
) -> Result<Vec<ProviderStatement<MonthStatement>>, PaymentRunError> {
    pay_month_by(
        store,
        policy,
        (year, month),
        as_of,
        posted_at,
        ClaimsMonth::Settled,
    )
    .await
}

/// [`pay_month`] with the claims dated by `basis` (the demo's replayed year: by day of care).
pub async fn pay_month_by(
    store: &Store,
    policy: &PaymentPolicy,
    (year, month): (i32, u32),
    as_of: NaiveDate,
    posted_at: &str,
    basis: ClaimsMonth,
) -> Result<Vec<ProviderStatement<MonthStatement>>, PaymentRunError> {
    if !(1..=MONTHS as u32).contains(&month) {
        return Err(PaymentRunError::BadMonth(month));
    }
    if month_end(year, month).is_none_or(|end| as_of <= end) {
        return Err(PaymentRunError::MonthNotOver { year, month, as_of });
    }
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let budgets = provider::budgets(&mut conn, year).await?;
    if budgets.is_empty() {
        return Err(PaymentRunError::NoBudgets(year));
    }
    let month = month as u8;
    let posted = provider::posted_months(&mut conn, year).await?;
    // Months before `read_from` are posted for every budget: they are taken as stored, and only
    // the months from it on are read from the ledger (compared with the statement when posted).
    let read_from = budgets
        .iter()
        .map(|b| first_unposted(&posted, &(b.fixmedins_code.clone(), b.insutype), month))
        .min()
        .unwrap_or(month + 1);
    let inputs = if read_from <= month {
        provider::month_inputs_of(&mut conn, year, read_from..=month, basis).await?
    } else {
        BTreeMap::new()
    };
    let funds = pooled_funds(&mut conn).await?;
    drop(conn);
    let mut to_post = Vec::new();
    let mut posted_books = Vec::new();
    let mut result = Vec::with_capacity(budgets.len());
    for budget in &budgets {
        let key: ProviderKey = (budget.fixmedins_code.clone(), budget.insutype);
        let fund = pooled_fund(&funds, budget.insutype)?;
        let months: [MonthInput; MONTHS] = inputs.get(&key).copied().unwrap_or_default();
        let mut previous: Option<MonthStatement> = None;
        for m in 1..=month {
            let stored = posted.get(&(key.clone(), m));
            let statement = match stored {
                Some(stored) if m < read_from => *stored,
                _ => {
                    let input = &months[usize::from(m) - 1];
                    pay_one(policy, budget, m, input, previous.as_ref())?
                }
            };
            match stored {
                Some(stored) => {
                    if let Some(field) = first_difference(stored, &statement) {
                        return Err(PaymentRunError::PostedChanged {
                            fixmedins_code: key.0.clone(),
                            insutype: key.1.to_string(),
                            year,
                            month: m,
                            field,
                        });
                    }
                    posted_books.push((
                        provider_books::month_batch(&key, year, m),
                        provider_books::month_rows(&fund, year, stored)?,
                    ));
                }
                None => to_post.push(ToPost {
                    key: key.clone(),
                    fund,
                    statement,
                }),
            }
            previous = Some(statement);
        }
        result.push(ProviderStatement {
            fixmedins_code: key.0.clone(),
            insutype: key.1.to_string(),
            year,
            statement: previous.expect("month 1 at least"),
        });
    }
    provider::post_months(store, year, &to_post, posted_at).await?;
    provider_books::post_missing(store, &posted_books).await?;
    Ok(result)
}

/// The first month up to `month` that `key` has not posted (`month + 1` when all are).
fn first_unposted(
    posted: &BTreeMap<(ProviderKey, u8), MonthStatement>,
    key: &ProviderKey,
    month: u8,
) -> u8 {
    (1..=month)
        .find(|m| !posted.contains_key(&(key.clone(), *m)))
        .unwrap_or(month + 1)
}

/// Clears `year` for every budgeted institution × scheme whose twelve months are paid, with the
/// year's inpatient activity from the ledger and the assessment scores given; returns the
/// statements (as posted when the year-end was posted before).
pub async fn clear(
    store: &Store,
    policy: &PaymentPolicy,
    year: i32,
    scores: &BTreeMap<ProviderKey, Score>,
    posted_at: &str,
) -> Result<Vec<ProviderStatement<YearEndStatement>>, PaymentRunError> {
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let budgets = provider::budgets(&mut conn, year).await?;
    if budgets.is_empty() {
        return Err(PaymentRunError::NoBudgets(year));
    }
    let posted_months = provider::posted_months(&mut conn, year).await?;
    let posted_ends = provider::posted_year_ends(&mut conn, year).await?;
    let activity = provider::activity(&mut conn, year).await?;
    let savings: BTreeMap<ProviderKey, Fen> = procurement::savings(&mut conn, year)
        .await?
        .into_iter()
        .map(|s| ((s.fixmedins_code, s.insutype), s.savings))
        .collect();
    let funds = pooled_funds(&mut conn).await?;
    drop(conn);
    let mut to_post = Vec::new();
    let mut posted_books = Vec::new();
    let mut result = Vec::with_capacity(budgets.len());
    for budget in &budgets {
        let key: ProviderKey = (budget.fixmedins_code.clone(), budget.insutype);
        let statement = match posted_ends.get(&key) {
            Some(stored) => {
                let fund = pooled_fund(&funds, budget.insutype)?;
                posted_books.push((
                    provider_books::year_end_batch(&key, year),
                    provider_books::year_end_rows(&fund, year, stored),
                ));
                *stored
            }
            None => {
                let months = paid_months(&posted_months, &key, year)?;
                let input = YearEndInput {
                    activity: Some(activity.get(&key).copied().unwrap_or_default()),
                    score: scores.get(&key).copied(),
                    procurement_savings: savings.get(&key).copied().unwrap_or_default(),
                };
                let statement = clear_year(policy, budget, &months, &input)?;
                to_post.push(ToPost {
                    key: key.clone(),
                    fund: pooled_fund(&funds, budget.insutype)?,
                    statement,
                });
                statement
            }
        };
        result.push(ProviderStatement {
            fixmedins_code: key.0.clone(),
            insutype: key.1.to_string(),
            year,
            statement,
        });
    }
    provider::post_year_ends(store, year, &to_post, posted_at).await?;
    provider_books::post_missing(store, &posted_books).await?;
    Ok(result)
}

/// Each scheme's pooled fund (the first fund of its buckets whose summary column is `hifp_pay`), by
/// `insutype`, from the stored benefit policies: the fund that pays the scheme's institutions.
pub(crate) async fn pooled_funds(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<Code, Code>, PaymentRunError> {
    let policies = crate::report::stored_policies(conn)
        .await
        .map_err(|e| PaymentRunError::StoredPolicy(e.to_string()))?;
    let mut funds = BTreeMap::new();
    for policy in &policies {
        for scheme in &policy.schemes {
            let pooled = scheme.buckets.iter().map(|b| b.fund).find(|code| {
                policy
                    .funds
                    .iter()
                    .any(|f| f.code == *code && f.column == SummaryColumn::HifpPay)
            });
            if let Some(fund) = pooled {
                funds.entry(scheme.insutype).or_insert(fund);
            }
        }
    }
    Ok(funds)
}

pub(crate) fn pooled_fund(
    funds: &BTreeMap<Code, Code>,
    insutype: Code,
) -> Result<Code, PaymentRunError> {
    funds
        .get(&insutype)
        .copied()
        .ok_or_else(|| PaymentRunError::NoPooledFund {
            insutype: insutype.to_string(),
        })
}

/// The twelve posted months of an institution × scheme, or which are missing.
fn paid_months(
    posted: &BTreeMap<(ProviderKey, u8), MonthStatement>,
    key: &ProviderKey,
    year: i32,
) -> Result<[MonthStatement; MONTHS], PaymentRunError> {
    let found: Vec<MonthStatement> = (1..=MONTHS as u8)
        .filter_map(|m| posted.get(&(key.clone(), m)).copied())
        .collect();
    found
        .try_into()
        .map_err(|_| PaymentRunError::MonthsMissing {
            fixmedins_code: key.0.clone(),
            insutype: key.1.to_string(),
            year,
            missing: (1..=MONTHS as u8)
                .filter(|m| !posted.contains_key(&(key.clone(), *m)))
                .collect(),
        })
}

/// Posts the procurement prepayments of `rows` (the policy sizes each from its basis, or the row
/// gives the amount) with their offset schedules, each once; returns each with whether it was new.
pub async fn prepay(
    store: &Store,
    policy: &PaymentPolicy,
    rows: &[PrepaymentRow],
    posted_at: &str,
) -> Result<Vec<(StoredPrepayment, Posted)>, PaymentRunError> {
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let funds = pooled_funds(&mut conn).await?;
    let mut budgets = BTreeMap::new();
    for year in rows
        .iter()
        .map(|r| r.year)
        .collect::<std::collections::BTreeSet<_>>()
    {
        for budget in provider::budgets(&mut conn, year).await? {
            budgets.insert(
                (budget.fixmedins_code.clone(), budget.insutype, year),
                budget,
            );
        }
    }
    drop(conn);
    let mut to_post = Vec::with_capacity(rows.len());
    for row in rows {
        let budget = budgets
            .get(&(row.fixmedins_code.clone(), row.insutype, row.year))
            .ok_or_else(|| PaymentRunError::NoBudget {
                fixmedins_code: row.fixmedins_code.clone(),
                insutype: row.insutype.to_string(),
                year: row.year,
            })?;
        let basis = prepayment_basis(policy, budget, row)?;
        let amount = match row.prepayment_amt {
            Some(entered) => entered,
            None => prepayment_amount(policy, budget, basis.amount)?,
        };
        let prepayment = plan_prepayment(policy, budget, row.month, amount)?;
        to_post.push(PrepaymentToPost {
            stored: StoredPrepayment {
                fixmedins_code: row.fixmedins_code.clone(),
                insutype: row.insutype,
                year: row.year,
                basis,
                prepayment,
            },
            fund: pooled_fund(&funds, row.insutype)?,
        });
    }
    let posted = procurement::post_prepayments(store, &to_post, posted_at).await?;
    Ok(to_post.into_iter().map(|p| p.stored).zip(posted).collect())
}

/// The basis of a row's prepayment: the entered amount, or the policy's basis.
fn prepayment_basis(
    policy: &PaymentPolicy,
    budget: &yibao_provider_payment::Budget,
    row: &PrepaymentRow,
) -> Result<PrepaymentBasis, PaymentRunError> {
    use yibao_provider_payment::procurement::PrepaymentBasis as Basis;
    if let Some(entered) = row.prepayment_amt {
        return Ok(PrepaymentBasis {
            name: "entered".into(),
            amount: entered,
        });
    }
    let refuse = |problem: String| PaymentRunError::PrepaymentRow {
        line: row.line,
        problem,
    };
    let rules = policy.procurement.as_ref().ok_or_else(|| {
        refuse("the payment policy has no [procurement] table: give prepayment_amt".into())
    })?;
    let amount = match (rules.prepayment_basis, row.procurement_volume) {
        (Basis::AnnualIndex, None) => budget.annual_index,
        (Basis::AnnualIndex, Some(_)) => {
            return Err(refuse(
                "the policy sizes the prepayment from the annual index: leave procurement_volume empty".into(),
            ))
        }
        (Basis::ProcurementVolume, Some(volume)) => volume,
        (Basis::ProcurementVolume, None) => {
            return Err(refuse(
                "the policy sizes the prepayment from the procurement volume: give procurement_volume (or prepayment_amt)".into(),
            ))
        }
    };
    Ok(PrepaymentBasis {
        name: rules.prepayment_basis.name().into(),
        amount,
    })
}

/// Stores the year's procurement savings computed from `items` by institution × scheme × year.
pub async fn store_savings(
    store: &Store,
    policy: &PaymentPolicy,
    items: &SavingsItems,
    loaded_at: &str,
) -> Result<Vec<procurement::Savings>, PaymentRunError> {
    let mut rows = Vec::with_capacity(items.len());
    for ((fixmedins_code, insutype, year), items) in items {
        let savings = yibao_provider_payment::procurement::savings(items, policy.rounding)
            .ok_or_else(|| PaymentRunError::SavingsTooLarge {
                fixmedins_code: fixmedins_code.clone(),
                insutype: insutype.to_string(),
                year: *year,
            })?;
        rows.push(procurement::Savings {
            fixmedins_code: fixmedins_code.clone(),
            insutype: *insutype,
            year: *year,
            items: items.len() as u64,
            savings,
        });
    }
    procurement::store_savings(store, &rows, loaded_at).await?;
    Ok(rows)
}

/// Why a deductions file was refused: the line and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file} line {line}: {problem}")]
pub struct DeductionFileError {
    pub file: String,
    pub line: u64,
    pub problem: String,
}

/// Reads a deductions file (CSV with a header; columns it does not read are left alone).
pub fn read_deductions(
    text: &str,
    file: &str,
) -> Result<Vec<provider::Deduction>, DeductionFileError> {
    let error = |line: u64, problem: String| DeductionFileError {
        file: file.to_string(),
        line,
        problem,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut deductions = Vec::new();
    for record in reader.deserialize::<provider::DeductionRow>() {
        let row = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            error(line, e.to_string())
        })?;
        let line = deductions.len() as u64 + 2;
        deductions.push(row.deduction().map_err(|e| error(line, e.to_string()))?);
    }
    Ok(deductions)
}
