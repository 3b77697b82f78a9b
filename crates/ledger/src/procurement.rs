//! Procurement (集采) in storage (`migrations/0022_procurement.sql`): the procurement prepayment
//! (采购周转金) of an institution × scheme × year with its monthly offset schedule, and the year's
//! procurement savings whose retained share the year-end pays (结余留用).
//!
//! A prepayment is posted once, with its book posting (fund → institution) in the same transaction
//! ([`crate::provider_books::prepayment_batch`]); posting it again as it was stores nothing, with
//! other amounts or another month it is refused, and so is one whose first offset month is already
//! paid. Savings may be stored again until the year-end of the institution × scheme is posted; from
//! then on only as they were.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::{Code, Fen};
use yibao_provider_payment::procurement::Prepayment;
use yibao_provider_payment::{MonthStatement, MONTHS};

use crate::columns::corrupt;
use crate::provider::ProviderKey;
use crate::provider_books;
use crate::{LedgerError, Store};

const PREPAYMENTS: &str = "procurement_prepayments";
const SAVINGS: &str = "procurement_savings";

/// Where a prepayment's amount came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrepaymentBasis {
    /// `procurement_volume` or `annual_index` (the policy's basis), or `entered` (by the bureau).
    pub name: String,
    /// The basis amount (the entered amount itself for `entered`).
    pub amount: Fen,
}

/// A procurement prepayment as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredPrepayment {
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    pub basis: PrepaymentBasis,
    pub prepayment: Prepayment,
}

impl StoredPrepayment {
    /// The institution × scheme.
    pub fn key(&self) -> ProviderKey {
        (self.fixmedins_code.clone(), self.insutype)
    }
}

/// A prepayment to post, with the pooled fund of its scheme that pays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepaymentToPost {
    pub stored: StoredPrepayment,
    pub fund: Code,
}

/// Why a prepayment or savings row was not stored; nothing of the call was.
#[derive(Debug, thiserror::Error)]
pub enum ProcurementError {
    #[error("{fixmedins_code} {insutype} {year}: a procurement prepayment of {stored} in month {stored_month} is already posted; {requested} in month {requested_month} would be a second one")]
    PrepaymentConflict {
        fixmedins_code: String,
        insutype: Code,
        year: i32,
        stored: Fen,
        stored_month: u8,
        requested: Fen,
        requested_month: u8,
    },
    #[error("{fixmedins_code} {insutype}: month {year}-{month:02}, the first month of the prepayment's offsets, is already paid; prepay before it")]
    MonthPosted {
        fixmedins_code: String,
        insutype: Code,
        year: i32,
        month: u8,
    },
    #[error("{fixmedins_code} {insutype} {year}: the year-end is posted with savings {stored}; savings of {requested} cannot replace them")]
    YearEndPosted {
        fixmedins_code: String,
        insutype: Code,
        year: i32,
        stored: Fen,
        requested: Fen,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for ProcurementError {
    fn from(error: sqlx::Error) -> ProcurementError {
        ProcurementError::Ledger(error.into())
    }
}

/// Whether a posted prepayment was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Posted {
    New,
    AlreadyPosted,
}

/// Posts prepayments in one transaction, each with its book posting; returns for each whether it
/// was new.
pub async fn post_prepayments(
    store: &Store,
    prepayments: &[PrepaymentToPost],
    posted_at: &str,
) -> Result<Vec<Posted>, ProcurementError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let mut outcomes = Vec::with_capacity(prepayments.len());
    for to_post in prepayments {
        let stored = &to_post.stored;
        let year = stored.year;
        let existing = prepayment_rows(&mut tx, Some(year), Some(&stored.key())).await?;
        if let Some(existing) = existing.into_iter().next() {
            if existing.prepayment != stored.prepayment {
                return Err(ProcurementError::PrepaymentConflict {
                    fixmedins_code: stored.fixmedins_code.clone(),
                    insutype: stored.insutype,
                    year,
                    stored: existing.prepayment.amount,
                    stored_month: existing.prepayment.month,
                    requested: stored.prepayment.amount,
                    requested_month: stored.prepayment.month,
                });
            }
            outcomes.push(Posted::AlreadyPosted);
            continue;
        }
        let first_offset = first_offset_month(&stored.prepayment);
        let paid = sqlx::query(
            "SELECT MIN(month) AS month FROM provider_payments WHERE fixmedins_code = $1 AND insutype = $2 \
             AND year = $3 AND month >= $4",
        )
        .bind(stored.fixmedins_code.clone())
        .bind(stored.insutype.as_str().to_string())
        .bind(i64::from(year))
        .bind(i64::from(first_offset))
        .fetch_one(&mut *tx)
        .await?;
        if paid.try_get::<Option<i64>, _>("month")?.is_some() {
            return Err(ProcurementError::MonthPosted {
                fixmedins_code: stored.fixmedins_code.clone(),
                insutype: stored.insutype,
                year,
                month: first_offset,
            });
        }
        let offsets = serde_json::to_string(&stored.prepayment.offsets.map(Fen::fen))
            .map_err(|e| corrupt(PREPAYMENTS, "offsets", &e.to_string()))?;
        sqlx::query(
            "INSERT INTO procurement_prepayments (fixmedins_code, insutype, year, month, basis, basis_amount, \
             amount, offsets, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(stored.fixmedins_code.clone())
        .bind(stored.insutype.as_str().to_string())
        .bind(i64::from(year))
        .bind(i64::from(stored.prepayment.month))
        .bind(stored.basis.name.clone())
        .bind(stored.basis.amount.fen())
        .bind(stored.prepayment.amount.fen())
        .bind(offsets)
        .bind(posted_at.to_string())
        .execute(&mut *tx)
        .await?;
        let batch = provider_books::prepayment_batch(&stored.key(), year);
        let rows = provider_books::prepayment_rows(&to_post.fund, year, &stored.prepayment)?;
        crate::books::insert_rows(&mut tx, &batch, &rows).await?;
        outcomes.push(Posted::New);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// The first month with an offset due (the prepayment's month when it has none).
fn first_offset_month(prepayment: &Prepayment) -> u8 {
    (1..=MONTHS as u8)
        .zip(prepayment.offsets)
        .find(|(_, offset)| !offset.is_zero())
        .map_or(prepayment.month, |(month, _)| month)
}

/// The stored prepayments of `year` (every year with `None`), optionally of one institution ×
/// scheme, ordered by year, institution and scheme.
pub async fn prepayments(
    conn: &mut AnyConnection,
    year: Option<i32>,
) -> Result<Vec<StoredPrepayment>, LedgerError> {
    prepayment_rows(conn, year, None).await
}

async fn prepayment_rows(
    conn: &mut AnyConnection,
    year: Option<i32>,
    key: Option<&ProviderKey>,
) -> Result<Vec<StoredPrepayment>, LedgerError> {
    let mut conditions = Vec::new();
    if year.is_some() {
        conditions.push(format!("year = ${}", conditions.len() + 1));
    }
    if key.is_some() {
        let n = conditions.len();
        conditions.push(format!(
            "fixmedins_code = ${} AND insutype = ${}",
            n + 1,
            n + 2
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT fixmedins_code, insutype, year, month, basis, basis_amount, amount, offsets \
         FROM procurement_prepayments {filter} ORDER BY year, fixmedins_code, insutype"
    );
    let mut query = sqlx::query(&sql);
    if let Some(year) = year {
        query = query.bind(i64::from(year));
    }
    if let Some((code, insutype)) = key {
        query = query.bind(code.clone()).bind(insutype.as_str().to_string());
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(stored_prepayment).collect()
}

fn stored_prepayment(row: &sqlx::any::AnyRow) -> Result<StoredPrepayment, LedgerError> {
    let year: i64 = row.try_get("year")?;
    let month: i64 = row.try_get("month")?;
    let month = u8::try_from(month)
        .ok()
        .filter(|m| (1..=MONTHS as u8).contains(m))
        .ok_or_else(|| corrupt(PREPAYMENTS, "month", &month.to_string()))?;
    let text: String = row.try_get("offsets")?;
    let offsets: [i64; MONTHS] =
        serde_json::from_str(&text).map_err(|_| corrupt(PREPAYMENTS, "offsets", &text))?;
    let prepayment = Prepayment {
        month,
        amount: Fen(row.try_get("amount")?),
        offsets: offsets.map(Fen),
    };
    if !prepayment.is_consistent() {
        return Err(corrupt(PREPAYMENTS, "offsets", &text));
    }
    Ok(StoredPrepayment {
        fixmedins_code: row.try_get("fixmedins_code")?,
        insutype: crate::columns::code(row, PREPAYMENTS, "insutype")?,
        year: i32::try_from(year).map_err(|_| corrupt(PREPAYMENTS, "year", &year.to_string()))?,
        basis: PrepaymentBasis {
            name: row.try_get("basis")?,
            amount: Fen(row.try_get("basis_amount")?),
        },
        prepayment,
    })
}

/// Each institution × scheme's procurement offsets due in the months of `year`.
pub async fn offsets_due(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<BTreeMap<ProviderKey, [Fen; MONTHS]>, LedgerError> {
    Ok(prepayments(conn, Some(year))
        .await?
        .into_iter()
        .map(|p| (p.key(), p.prepayment.offsets))
        .collect())
}

/// An institution × scheme's procurement savings of a year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Savings {
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    /// Items (rows) they were computed from.
    pub items: u64,
    pub savings: Fen,
}

/// Stores savings in one transaction (replacing earlier ones), refused for an institution × scheme
/// whose year-end is posted unless they are unchanged; returns how many changed.
pub async fn store_savings(
    store: &Store,
    savings: &[Savings],
    loaded_at: &str,
) -> Result<usize, ProcurementError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let mut changed = 0;
    for row in savings {
        let stored = sqlx::query(
            "SELECT savings FROM procurement_savings WHERE fixmedins_code = $1 AND insutype = $2 AND year = $3",
        )
        .bind(row.fixmedins_code.clone())
        .bind(row.insutype.as_str().to_string())
        .bind(i64::from(row.year))
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get::<i64, _>("savings").map(Fen))
        .transpose()?;
        if stored == Some(row.savings) {
            continue;
        }
        let year_end = sqlx::query(
            "SELECT 1 FROM provider_year_ends WHERE fixmedins_code = $1 AND insutype = $2 AND year = $3",
        )
        .bind(row.fixmedins_code.clone())
        .bind(row.insutype.as_str().to_string())
        .bind(i64::from(row.year))
        .fetch_optional(&mut *tx)
        .await?;
        if year_end.is_some() {
            return Err(ProcurementError::YearEndPosted {
                fixmedins_code: row.fixmedins_code.clone(),
                insutype: row.insutype,
                year: row.year,
                stored: stored.unwrap_or_default(),
                requested: row.savings,
            });
        }
        sqlx::query(
            "INSERT INTO procurement_savings (fixmedins_code, insutype, year, items, savings, loaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fixmedins_code, insutype, year) DO UPDATE SET \
             items = excluded.items, savings = excluded.savings, loaded_at = excluded.loaded_at",
        )
        .bind(row.fixmedins_code.clone())
        .bind(row.insutype.as_str().to_string())
        .bind(i64::from(row.year))
        .bind(i64::try_from(row.items).unwrap_or(i64::MAX))
        .bind(row.savings.fen())
        .bind(loaded_at.to_string())
        .execute(&mut *tx)
        .await?;
        changed += 1;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The stored savings of `year`.
pub async fn savings(conn: &mut AnyConnection, year: i32) -> Result<Vec<Savings>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, insutype, items, savings FROM procurement_savings WHERE year = $1 \
         ORDER BY fixmedins_code, insutype",
    )
    .bind(i64::from(year))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let items: i64 = row.try_get("items")?;
            Ok(Savings {
                fixmedins_code: row.try_get("fixmedins_code")?,
                insutype: crate::columns::code(row, SAVINGS, "insutype")?,
                year,
                items: u64::try_from(items)
                    .map_err(|_| corrupt(SAVINGS, "items", &items.to_string()))?,
                savings: Fen(row.try_get("savings")?),
            })
        })
        .collect()
}

/// One institution × scheme's procurement in a year: the prepayment, what the paid months
/// recovered, what is outstanding, and the savings with their retained share (once cleared).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcurementStatus {
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    pub prepaid_month: Option<u8>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prepaid: Fen,
    /// Recovered by the posted months.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub recovered: Fen,
    /// Months posted.
    pub months_paid: u8,
    /// Prepaid − recovered (− recovered at the year-end once posted).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub outstanding: Fen,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub savings: Option<Fen>,
    /// Retained savings and the year-end's recovery, once the year-end is posted.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub retained: Option<Fen>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub recovered_at_year_end: Option<Fen>,
}

/// The procurement status of every institution × scheme with a prepayment or savings in `year`.
pub async fn status(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<Vec<ProcurementStatus>, LedgerError> {
    let prepayments = prepayments(conn, Some(year)).await?;
    let savings = savings(conn, year).await?;
    let months = crate::provider::posted_months(conn, year).await?;
    let year_ends = crate::provider::posted_year_ends(conn, year).await?;
    let mut keys: std::collections::BTreeSet<ProviderKey> =
        prepayments.iter().map(StoredPrepayment::key).collect();
    keys.extend(
        savings
            .iter()
            .map(|s| (s.fixmedins_code.clone(), s.insutype)),
    );
    Ok(keys
        .into_iter()
        .map(|key| {
            let prepayment = prepayments.iter().find(|p| p.key() == key);
            let posted: Vec<&MonthStatement> = (1..=MONTHS as u8)
                .filter_map(|m| months.get(&(key.clone(), m)))
                .collect();
            let recovered: Fen = posted.iter().map(|m| m.procurement_offset).sum();
            let year_end = year_ends.get(&key);
            let prepaid = prepayment.map_or(Fen::ZERO, |p| p.prepayment.amount);
            let at_year_end = year_end.map(|e| e.procurement_recovered);
            ProcurementStatus {
                fixmedins_code: key.0.clone(),
                insutype: key.1.to_string(),
                year,
                prepaid_month: prepayment.map(|p| p.prepayment.month),
                prepaid,
                recovered,
                months_paid: posted.len() as u8,
                outstanding: prepaid - recovered - at_year_end.unwrap_or_default(),
                savings: savings
                    .iter()
                    .find(|s| (s.fixmedins_code.clone(), s.insutype) == key)
                    .map(|s| s.savings),
                retained: year_end.map(|e| e.procurement_retained),
                recovered_at_year_end: at_year_end,
            }
        })
        .collect())
}
