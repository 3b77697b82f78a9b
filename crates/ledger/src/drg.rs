//! DRG payment in storage (`migrations/0021_drg_payment.sql`): the inpatient cases of a month or
//! year read in bulk from the settlement ledger, the posted monthly prepayment and year-end
//! statements with their book postings, the runs, and the 特病单议 review items.
//!
//! A case is an admission whose final settlement (not interim, `kind` settle, not named by a
//! mirror) was made in the period; its amounts are the sum of the admission's live settlements
//! (interim and final), read in one grouped query. Each posted statement is also a batch
//! `drg:<institution>:<insutype>:<period>` of book postings on the scheme's pooled fund (fund →
//! institution): a month posts the fund share owed (`provider_claims`) and the prepayment
//! (`provider_paid`); a year-end posts its clearing (`provider_year_end`). Written with the
//! statement only when the statement is new; [`check`], run by `verify`, re-derives every batch.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::{Code, Fen, SetlAmounts};
use yibao_drg_payment::{Decision, DrgMonthStatement, DrgYearEndStatement, Points};

use crate::books::BookRow;
use crate::columns::{self, corrupt};
use crate::provider::ProviderKey;
use crate::provider_books::{month_end, rows_of, CLAIMS, PAID, YEAR_END};
use crate::{LedgerError, Store};

/// Prefix of every DRG batch of book postings.
const BATCH_PREFIX: &str = "drg:";
/// The `month` of a year-end row.
const YEAR_END_MONTH: i64 = 0;

/// An admission whose final settlement falls in the period, with what the registry, the visit
/// and the settlement list say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InpatientCase {
    /// The final settlement.
    pub setl_id: String,
    pub mdtrt_id: String,
    pub fixmedins_code: String,
    pub insutype: Code,
    pub psn_no: String,
    pub setl_time: NaiveDateTime,
    pub begntime: Option<NaiveDateTime>,
    pub endtime: Option<NaiveDateTime>,
    /// The visit's main diagnosis (2401/2402).
    pub dise_codg: String,
    /// The visit's details as uploaded (JSON: `diseinfo`, `dscginfo`, …).
    pub visit_info: String,
    /// Sex and birth date from the registry.
    pub gend: Option<String>,
    pub brdy: Option<NaiveDate>,
    /// The stored 4101 settlement list (JSON), when uploaded.
    pub settlement_list: Option<String>,
    /// Σ of the admission's live settlements.
    pub amounts: SetlAmounts,
}

/// Live final inpatient settlements, `{period}` being the length of the period prefix.
const FINALS: &str = "FROM settlements f JOIN visits v ON v.mdtrt_id = f.mdtrt_id \
     WHERE f.kind = 'settle' AND v.kind = 'ipt' AND f.mid_setl_flag <> '1' \
     AND substr(f.setl_time, 1, {period}) = $1 \
     AND NOT EXISTS (SELECT 1 FROM settlements m WHERE m.orig_setl_id = f.setl_id)";

/// The admissions whose final settlement was made in `period` (`yyyy` or `yyyy-MM`), in
/// settlement order: two queries whatever their number.
pub async fn inpatient_cases(
    conn: &mut AnyConnection,
    period: &str,
) -> Result<Vec<InpatientCase>, LedgerError> {
    let finals = FINALS.replace("{period}", &period.len().to_string());
    let amounts = case_amounts(conn, &finals, period).await?;
    let rows = sqlx::query(&format!(
        "SELECT f.setl_id AS setl_id, f.mdtrt_id AS mdtrt_id, f.fixmedins_code AS fixmedins_code, \
         f.insutype AS insutype, f.psn_no AS psn_no, f.setl_time AS setl_time, v.begntime AS begntime, \
         v.endtime AS endtime, v.dise_codg AS dise_codg, v.info AS info, p.gend AS gend, p.brdy AS brdy, \
         l.content AS list {} \
         ORDER BY f.setl_time, f.setl_id",
        finals
            .replace(
                "WHERE",
                "LEFT JOIN persons p ON p.psn_no = f.psn_no \
                 LEFT JOIN settlement_lists l ON l.setl_id = f.setl_id WHERE"
            )
    ))
    .bind(period.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| case_of(row, &amounts))
        .collect::<Result<Vec<_>, _>>()
}

fn case_of(
    row: &AnyRow,
    amounts: &BTreeMap<String, SetlAmounts>,
) -> Result<InpatientCase, LedgerError> {
    const TABLE: &str = "settlements";
    let mdtrt_id: String = row.try_get("mdtrt_id")?;
    let setl_time =
        columns::time(row, TABLE, "setl_time")?.ok_or_else(|| corrupt(TABLE, "setl_time", ""))?;
    let brdy = match row.try_get::<Option<String>, _>("brdy")? {
        Some(text) => Some(
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| corrupt("persons", "brdy", &text))?,
        ),
        None => None,
    };
    Ok(InpatientCase {
        setl_id: row.try_get("setl_id")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        insutype: columns::code(row, TABLE, "insutype")?,
        psn_no: row.try_get("psn_no")?,
        setl_time,
        begntime: columns::time(row, "visits", "begntime")?,
        endtime: columns::time(row, "visits", "endtime")?,
        dise_codg: row.try_get("dise_codg")?,
        visit_info: row.try_get("info")?,
        gend: row.try_get("gend")?,
        brdy,
        settlement_list: row.try_get("list")?,
        amounts: amounts.get(&mdtrt_id).copied().unwrap_or_default(),
        mdtrt_id,
    })
}

/// Σ of the live settlements of each admission with a final settlement in the period.
async fn case_amounts(
    conn: &mut AnyConnection,
    finals: &str,
    period: &str,
) -> Result<BTreeMap<String, SetlAmounts>, LedgerError> {
    let sums = SetlAmounts::COLUMNS
        .iter()
        .map(|column| format!("CAST(SUM(s.{column}) AS BIGINT) AS {column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT s.mdtrt_id AS mdtrt_id, {sums} FROM settlements s WHERE s.kind = 'settle' \
         AND NOT EXISTS (SELECT 1 FROM settlements n WHERE n.orig_setl_id = s.setl_id) \
         AND s.mdtrt_id IN (SELECT f.mdtrt_id {finals}) GROUP BY s.mdtrt_id"
    ))
    .bind(period.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let values = SetlAmounts::COLUMNS
                .iter()
                .map(|column| row.try_get::<i64, _>(*column).map(Fen))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((row.try_get("mdtrt_id")?, SetlAmounts::from_values(&values)))
        })
        .collect()
}

/// Whether the month (1–12) or the year-end (0) of `year` was run.
pub async fn was_run(conn: &mut AnyConnection, year: i32, month: u8) -> Result<bool, LedgerError> {
    Ok(
        sqlx::query("SELECT 1 FROM drg_runs WHERE year = $1 AND month = $2")
            .bind(i64::from(year))
            .bind(i64::from(month))
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// The months of `year` that were run.
pub async fn run_months(conn: &mut AnyConnection, year: i32) -> Result<Vec<u8>, LedgerError> {
    let rows =
        sqlx::query("SELECT month FROM drg_runs WHERE year = $1 AND month > 0 ORDER BY month")
            .bind(i64::from(year))
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|row| {
            let month: i64 = row.try_get("month")?;
            u8::try_from(month).map_err(|_| corrupt("drg_runs", "month", &month.to_string()))
        })
        .collect()
}

/// The posted month statements of `year` (every month when `month` is `None`).
pub async fn posted_months(
    conn: &mut AnyConnection,
    year: i32,
    month: Option<u8>,
) -> Result<Vec<DrgMonthStatement>, LedgerError> {
    let texts = statements(conn, year, month.map(i64::from), None).await?;
    texts
        .iter()
        .map(|text| parse("drg_statements", text))
        .collect()
}

/// The posted year-end statements of `year`.
pub async fn posted_year_ends(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<Vec<DrgYearEndStatement>, LedgerError> {
    let texts = statements(conn, year, Some(YEAR_END_MONTH), None).await?;
    texts
        .iter()
        .map(|text| parse("drg_statements", text))
        .collect()
}

/// An institution's posted statements of `year`: its months and, when posted, its year-end.
pub async fn institution_statements(
    conn: &mut AnyConnection,
    year: i32,
    fixmedins_code: &str,
) -> Result<(Vec<DrgMonthStatement>, Vec<DrgYearEndStatement>), LedgerError> {
    let rows = sqlx::query(
        "SELECT month, statement FROM drg_statements WHERE year = $1 AND fixmedins_code = $2 \
         ORDER BY month, insutype",
    )
    .bind(i64::from(year))
    .bind(fixmedins_code.to_string())
    .fetch_all(conn)
    .await?;
    let mut months = Vec::new();
    let mut year_ends = Vec::new();
    for row in &rows {
        let text: String = row.try_get("statement")?;
        if row.try_get::<i64, _>("month")? == YEAR_END_MONTH {
            year_ends.push(parse("drg_statements", &text)?);
        } else {
            months.push(parse("drg_statements", &text)?);
        }
    }
    Ok((months, year_ends))
}

async fn statements(
    conn: &mut AnyConnection,
    year: i32,
    month: Option<i64>,
    fixmedins_code: Option<&str>,
) -> Result<Vec<String>, LedgerError> {
    let rows = sqlx::query(
        "SELECT statement FROM drg_statements WHERE year = $1 AND ($2 < 0 OR month = $2) \
         AND month >= $3 AND ($4 = '' OR fixmedins_code = $4) ORDER BY month, fixmedins_code, insutype",
    )
    .bind(i64::from(year))
    .bind(month.unwrap_or(-1))
    .bind(if month.is_none() { 1 } else { 0 })
    .bind(fixmedins_code.unwrap_or_default().to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok(row.try_get("statement")?))
        .collect()
}

fn parse<T: serde::de::DeserializeOwned>(
    table: &'static str,
    text: &str,
) -> Result<T, LedgerError> {
    serde_json::from_str(text).map_err(|e| corrupt(table, "statement", &e.to_string()))
}

/// A DRG statement to post with the pooled fund that pays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrgToPost<T> {
    /// The scheme's pooled fund (`fund_pay_type`).
    pub fund: Code,
    pub statement: T,
}

/// The batch of a month: `drg:<fixmedins_code>:<insutype>:<yyyy-mm>`.
pub fn month_batch(key: &ProviderKey, year: i32, month: u8) -> String {
    format!("{BATCH_PREFIX}{}:{}:{year:04}-{month:02}", key.0, key.1)
}

/// The batch of a year-end: `drg:<fixmedins_code>:<insutype>:<yyyy>`.
pub fn year_end_batch(key: &ProviderKey, year: i32) -> String {
    format!("{BATCH_PREFIX}{}:{}:{year:04}", key.0, key.1)
}

/// The postings of a month statement on `fund`.
pub fn month_rows(fund: &Code, statement: &DrgMonthStatement) -> Result<Vec<BookRow>, LedgerError> {
    let date = month_end("drg_statements", statement.year, statement.month)?;
    Ok(rows_of(
        fund,
        &date,
        &[(CLAIMS, statement.fund_share), (PAID, statement.prepayment)],
    ))
}

/// The postings of a year-end statement on `fund`.
pub fn year_end_rows(fund: &Code, statement: &DrgYearEndStatement) -> Vec<BookRow> {
    rows_of(
        fund,
        &format!("{:04}-12-31", statement.year),
        &[(YEAR_END, statement.clearing)],
    )
}

fn key_of(fixmedins_code: &str, insutype: &str) -> Result<ProviderKey, LedgerError> {
    Ok((
        fixmedins_code.to_string(),
        Code::new(insutype).map_err(|_| corrupt("drg_statements", "insutype", insutype))?,
    ))
}

/// A review item to list (a set-aside case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub setl_id: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    pub drg: String,
    pub reason: String,
}

/// Posts a month in one transaction: the statements not posted yet with their postings, the
/// review items not listed yet, and the run; a statement already posted is left as it is.
pub async fn post_month(
    store: &Store,
    (year, month): (i32, u8),
    statements: &[DrgToPost<DrgMonthStatement>],
    reviews: &[NewReview],
    posted_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for to_post in statements {
        let s = &to_post.statement;
        let key = key_of(&s.fixmedins_code, &s.insutype)?;
        let text = serde_json::to_string(s)
            .map_err(|e| corrupt("drg_statements", "statement", &e.to_string()))?;
        if insert_statement(
            &mut tx,
            &key,
            (year, i64::from(month)),
            s.prepayment,
            &text,
            posted_at,
        )
        .await?
        {
            let rows = month_rows(&to_post.fund, s)?;
            crate::books::insert_rows(&mut tx, &month_batch(&key, year, month), &rows).await?;
        }
    }
    for review in reviews {
        sqlx::query(
            "INSERT INTO drg_reviews (setl_id, fixmedins_code, insutype, year, drg, reason, status, amount, \
             note, listed_at, decided_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', NULL, '', $7, '') \
             ON CONFLICT (setl_id) DO NOTHING",
        )
        .bind(review.setl_id.clone())
        .bind(review.fixmedins_code.clone())
        .bind(review.insutype.clone())
        .bind(i64::from(review.year))
        .bind(review.drg.clone())
        .bind(review.reason.clone())
        .bind(posted_at.to_string())
        .execute(&mut *tx)
        .await?;
    }
    mark_run(&mut tx, year, i64::from(month), posted_at).await?;
    tx.commit().await?;
    Ok(())
}

/// Posts a year-end in one transaction (statements already posted are left as they are).
pub async fn post_year_end(
    store: &Store,
    year: i32,
    statements: &[DrgToPost<DrgYearEndStatement>],
    posted_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for to_post in statements {
        let s = &to_post.statement;
        let key = key_of(&s.fixmedins_code, &s.insutype)?;
        let text = serde_json::to_string(s)
            .map_err(|e| corrupt("drg_statements", "statement", &e.to_string()))?;
        if insert_statement(
            &mut tx,
            &key,
            (year, YEAR_END_MONTH),
            s.clearing,
            &text,
            posted_at,
        )
        .await?
        {
            let rows = year_end_rows(&to_post.fund, s);
            crate::books::insert_rows(&mut tx, &year_end_batch(&key, year), &rows).await?;
        }
    }
    mark_run(&mut tx, year, YEAR_END_MONTH, posted_at).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_statement(
    conn: &mut AnyConnection,
    key: &ProviderKey,
    (year, month): (i32, i64),
    amount: Fen,
    text: &str,
    posted_at: &str,
) -> Result<bool, LedgerError> {
    let inserted = sqlx::query(
        "INSERT INTO drg_statements (fixmedins_code, insutype, year, month, amount, statement, posted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fixmedins_code, insutype, year, month) DO NOTHING",
    )
    .bind(key.0.clone())
    .bind(key.1.as_str().to_string())
    .bind(i64::from(year))
    .bind(month)
    .bind(amount.fen())
    .bind(text.to_string())
    .bind(posted_at.to_string())
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

async fn mark_run(
    conn: &mut AnyConnection,
    year: i32,
    month: i64,
    posted_at: &str,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO drg_runs (year, month, posted_at) VALUES ($1, $2, $3) \
         ON CONFLICT (year, month) DO NOTHING",
    )
    .bind(i64::from(year))
    .bind(month)
    .bind(posted_at.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// A review item with its decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub setl_id: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    pub drg: String,
    /// special_review, no_base_points or requested.
    pub reason: String,
    /// pending, approved or rejected.
    pub status: String,
    /// The approved amount (yuan text), when approved.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub amount: Option<Fen>,
    /// The approved points (four decimals), when approved in points.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub points: Option<Points>,
    pub note: String,
    pub listed_at: String,
    pub decided_at: String,
}

const REVIEW_COLUMNS: &str =
    "setl_id, fixmedins_code, insutype, year, drg, reason, status, amount, points, \
     note, listed_at, decided_at";

fn review_of(row: &AnyRow) -> Result<Review, LedgerError> {
    let year: i64 = row.try_get("year")?;
    Ok(Review {
        setl_id: row.try_get("setl_id")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        insutype: row.try_get("insutype")?,
        year: i32::try_from(year).map_err(|_| corrupt("drg_reviews", "year", &year.to_string()))?,
        drg: row.try_get("drg")?,
        reason: row.try_get("reason")?,
        status: row.try_get("status")?,
        amount: row.try_get::<Option<i64>, _>("amount")?.map(Fen),
        points: row.try_get::<Option<i64>, _>("points")?.map(Points),
        note: row.try_get("note")?,
        listed_at: row.try_get("listed_at")?,
        decided_at: row.try_get("decided_at")?,
    })
}

/// The review items of `year`, optionally of one institution, in `setl_id` order.
pub async fn reviews(
    conn: &mut AnyConnection,
    year: i32,
    fixmedins_code: Option<&str>,
) -> Result<Vec<Review>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM drg_reviews WHERE year = $1 AND ($2 = '' OR fixmedins_code = $2) \
         ORDER BY setl_id"
    ))
    .bind(i64::from(year))
    .bind(fixmedins_code.unwrap_or_default().to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(review_of).collect()
}

/// The decisions of `year`'s reviewed items, by `setl_id` (pending items are absent).
pub async fn decisions(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<BTreeMap<String, Decision>, LedgerError> {
    let mut decided = BTreeMap::new();
    for review in reviews(conn, year, None).await? {
        let decision = match (review.status.as_str(), review.amount) {
            ("approved", Some(amount)) => Decision::Approved(amount),
            ("approved", None) => match review.points {
                Some(points) => Decision::ApprovedPoints(points),
                None => return Err(corrupt("drg_reviews", "amount", "approved without one")),
            },
            ("rejected", _) => Decision::Rejected,
            ("pending", _) => continue,
            (status, _) => return Err(corrupt("drg_reviews", "status", status)),
        };
        decided.insert(review.setl_id, decision);
    }
    Ok(decided)
}

/// The `setl_id`s of `year` whose institution asked for review.
pub async fn requested(conn: &mut AnyConnection, year: i32) -> Result<Vec<String>, LedgerError> {
    Ok(reviews(conn, year, None)
        .await?
        .into_iter()
        .filter(|r| r.reason == "requested")
        .map(|r| r.setl_id)
        .collect())
}

/// Why a review request or decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("结算 {0} 不是待审核的特病单议病例")]
    NotListed(String),
    #[error("结算 {0} 不是已结算的住院病例")]
    NoCase(String),
    #[error("结算 {setl_id} 所在的 {year} 年已年终清算，不能再审核")]
    YearCleared { setl_id: String, year: i32 },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for ReviewError {
    fn from(error: sqlx::Error) -> ReviewError {
        ReviewError::Ledger(error.into())
    }
}

/// Records a decision on a listed item (until its year is cleared); returns the item.
pub async fn decide(
    store: &Store,
    setl_id: &str,
    decision: Decision,
    note: &str,
    decided_at: &str,
) -> Result<Review, ReviewError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM drg_reviews WHERE setl_id = $1"
    ))
    .bind(setl_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let review = row
        .as_ref()
        .map(review_of)
        .transpose()?
        .ok_or_else(|| ReviewError::NotListed(setl_id.to_string()))?;
    if was_run(&mut tx, review.year, 0).await? {
        return Err(ReviewError::YearCleared {
            setl_id: setl_id.to_string(),
            year: review.year,
        });
    }
    let (status, amount, points) = match decision {
        Decision::Approved(amount) => ("approved", Some(amount.fen()), None),
        Decision::ApprovedPoints(points) => ("approved", None, Some(points.0)),
        Decision::Rejected => ("rejected", None, None),
    };
    sqlx::query(
        "UPDATE drg_reviews SET status = $1, amount = $2, points = $3, note = $4, decided_at = $5 \
         WHERE setl_id = $6",
    )
    .bind(status)
    .bind(amount)
    .bind(points)
    .bind(note.to_string())
    .bind(decided_at.to_string())
    .bind(setl_id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Review {
        status: status.into(),
        amount: amount.map(Fen),
        points: points.map(Points),
        note: note.to_string(),
        decided_at: decided_at.to_string(),
        ..review
    })
}

/// Lists a settled admission for review at its institution's request (its DRG is filled in when
/// its month is run); a case already listed is returned as it is.
pub async fn request(
    store: &Store,
    setl_id: &str,
    note: &str,
    listed_at: &str,
) -> Result<Review, ReviewError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let existing = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM drg_reviews WHERE setl_id = $1"
    ))
    .bind(setl_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        return Ok(review_of(&row)?);
    }
    let case = sqlx::query(
        "SELECT s.fixmedins_code AS fixmedins_code, s.insutype AS insutype, substr(s.setl_time, 1, 4) AS year \
         FROM settlements s JOIN visits v ON v.mdtrt_id = s.mdtrt_id WHERE s.setl_id = $1 AND s.kind = 'settle' \
         AND v.kind = 'ipt' AND s.mid_setl_flag <> '1'",
    )
    .bind(setl_id.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ReviewError::NoCase(setl_id.to_string()))?;
    let year_text: String = case.try_get("year")?;
    let year: i32 = year_text
        .parse()
        .map_err(|_| corrupt("settlements", "setl_time", &year_text))?;
    if was_run(&mut tx, year, 0).await? {
        return Err(ReviewError::YearCleared {
            setl_id: setl_id.to_string(),
            year,
        });
    }
    let review = Review {
        setl_id: setl_id.to_string(),
        fixmedins_code: case.try_get("fixmedins_code")?,
        insutype: case.try_get("insutype")?,
        year,
        drg: String::new(),
        reason: "requested".into(),
        status: "pending".into(),
        amount: None,
        points: None,
        note: note.to_string(),
        listed_at: listed_at.to_string(),
        decided_at: String::new(),
    };
    sqlx::query(&format!(
        "INSERT INTO drg_reviews ({REVIEW_COLUMNS}) VALUES ($1, $2, $3, $4, '', 'requested', 'pending', NULL, NULL, $5, $6, '')"
    ))
    .bind(review.setl_id.clone())
    .bind(review.fixmedins_code.clone())
    .bind(review.insutype.clone())
    .bind(i64::from(year))
    .bind(note.to_string())
    .bind(listed_at.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(review)
}

/// Fills in the DRG of requested items once their month is grouped.
pub async fn set_review_drgs(store: &Store, drgs: &[(String, String)]) -> Result<(), LedgerError> {
    if drgs.is_empty() {
        return Ok(());
    }
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for (setl_id, drg) in drgs {
        sqlx::query("UPDATE drg_reviews SET drg = $1 WHERE setl_id = $2 AND drg = ''")
            .bind(drg.clone())
            .bind(setl_id.clone())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `yibao verify`'s check: every posted DRG statement has exactly the postings it gives (on one
/// fund), and every DRG posting belongs to a posted statement.
pub async fn check(
    conn: &mut AnyConnection,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let mut batches = crate::provider_books::stored_batches_with(&mut *conn, BATCH_PREFIX).await?;
    let stored = sqlx::query(
        "SELECT fixmedins_code, insutype, year, month, statement FROM drg_statements \
         ORDER BY fixmedins_code, insutype, year, month",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &stored {
        let key = key_of(
            &row.try_get::<String, _>("fixmedins_code")?,
            &row.try_get::<String, _>("insutype")?,
        )?;
        let year_value: i64 = row.try_get("year")?;
        let year = i32::try_from(year_value)
            .map_err(|_| corrupt("drg_statements", "year", &year_value.to_string()))?;
        let month: i64 = row.try_get("month")?;
        let text: String = row.try_get("statement")?;
        let batch = if month == YEAR_END_MONTH {
            year_end_batch(&key, year)
        } else {
            let month = u8::try_from(month)
                .map_err(|_| corrupt("drg_statements", "month", &month.to_string()))?;
            month_batch(&key, year, month)
        };
        let have = batches.remove(&batch).unwrap_or_default();
        let fund = fund_of(&have)?;
        let want = if month == YEAR_END_MONTH {
            year_end_rows(
                &fund,
                &parse::<DrgYearEndStatement>("drg_statements", &text)?,
            )
        } else {
            month_rows(&fund, &parse::<DrgMonthStatement>("drg_statements", &text)?)?
        };
        compare(&batch, have, want, problems);
    }
    for batch in batches.keys() {
        problems.push(format!(
            "book postings {batch}: no posted DRG statement is theirs"
        ));
    }
    Ok(())
}

/// The fund a batch's postings are on (any code for a batch without postings).
fn fund_of(have: &[BookRow]) -> Result<Code, LedgerError> {
    match have.first() {
        Some(first) => Code::new(&first.fund_pay_type)
            .map_err(|_| corrupt("book_postings", "fund_pay_type", &first.fund_pay_type)),
        None => Ok(Code::lit("0")),
    }
}

/// Compares a batch's stored postings with those its statement gives.
fn compare(
    batch: &str,
    mut have: Vec<BookRow>,
    mut want: Vec<BookRow>,
    problems: &mut Vec<String>,
) {
    want.sort_by(|a, b| a.flow.cmp(&b.flow));
    have.sort_by(|a, b| a.flow.cmp(&b.flow));
    if have != want {
        let describe = |rows: &[BookRow]| {
            if rows.is_empty() {
                return "none".to_string();
            }
            rows.iter()
                .map(|r| format!("{} {} {}", r.flow, r.amount, r.posting_date))
                .collect::<Vec<_>>()
                .join(", ")
        };
        problems.push(format!(
            "book postings {batch}: {} stored, but its DRG statement gives {}",
            describe(&have),
            describe(&want)
        ));
    }
}
