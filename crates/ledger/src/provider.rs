//! Paying institutions in storage (`migrations/0009_provider_payment.sql`): budgets per institution
//! × scheme × year, deductions posted against a month, the month's claims and the year's activity
//! read from the settlement ledger, and the statements of posted months and year-ends.
//!
//! Claims are the pooled-fund payments (`fund_pay_sumamt`) of the institution's settlements by the
//! month they were made (`setl_time`); a cancellation counts, negated, in the month it was made, so
//! a posted month's claims never change. A deduction names the month it is taken from and is refused
//! once that month is posted. Posting a month or year that is already posted stores nothing and
//! returns the stored statement.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::{Code, Fen, Ratio};
use yibao_provider_payment::{
    summarize, Activity, Budget, ControlLimits, MonthInput, MonthStatement, ProviderSummary,
    YearEndStatement, MONTHS,
};

use crate::columns::corrupt;
use crate::provider_books::{self, ToPost};
use crate::{LedgerError, Store};

/// An institution × scheme.
pub type ProviderKey = (String, Code);

/// What a deduction takes from a month's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeductionKind {
    /// 10 审核扣款.
    Audit,
    /// 20 稽核扣款.
    Inspection,
    /// 30 预付金抵扣: a prepayment recovered from the month on.
    PrepaymentOffset,
}

impl DeductionKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            DeductionKind::Audit => "10",
            DeductionKind::Inspection => "20",
            DeductionKind::PrepaymentOffset => "30",
        }
    }

    /// Reads a stored or requested code.
    pub fn parse(code: &str) -> Option<DeductionKind> {
        match code {
            "10" => Some(DeductionKind::Audit),
            "20" => Some(DeductionKind::Inspection),
            "30" => Some(DeductionKind::PrepaymentOffset),
            _ => None,
        }
    }
}

/// A deduction posted against one month of an institution × scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deduction {
    /// The poster's id (a supervision case, an audit batch): posting it again is a no-op.
    pub deduction_id: String,
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    /// 1–12.
    pub month: u8,
    pub kind: DeductionKind,
    /// Positive: taken from the payment.
    pub amount: Fen,
    pub reason: String,
}

/// A deduction as a poster sends it (a row of `yibao pay deduct`'s file, an element of
/// `POST /admin/deductions`): checked into a [`Deduction`] by [`DeductionRow::deduction`].
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeductionRow {
    /// The poster's id (a case, an audit batch), 1 to 64 characters: posting the same deduction
    /// again is a no-op.
    pub deduction_id: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    /// The month (1–12) whose payment it is taken from; refused once that month is paid.
    pub month: u8,
    /// 10 审核扣款, 20 稽核扣款, 30 预付金抵扣.
    pub kind: String,
    /// Yuan, as text with at most two decimals (`"2500.00"`), positive.
    pub amount: String,
    #[serde(default)]
    pub reason: String,
}

/// Why a [`DeductionRow`] is not a deduction: the field and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {problem}")]
pub struct DeductionRowError {
    pub field: &'static str,
    pub problem: String,
}

/// The longest `deduction_id` accepted.
const DEDUCTION_ID_MAX_CHARS: usize = 64;

impl DeductionRow {
    /// The checked deduction.
    pub fn deduction(self) -> Result<Deduction, DeductionRowError> {
        let refuse = |field: &'static str, problem: String| DeductionRowError { field, problem };
        let id_chars = self.deduction_id.chars().count();
        if id_chars == 0 || id_chars > DEDUCTION_ID_MAX_CHARS {
            return Err(refuse(
                "deduction_id",
                format!("1 to {DEDUCTION_ID_MAX_CHARS} characters"),
            ));
        }
        if !(1..=MONTHS as u8).contains(&self.month) {
            return Err(refuse("month", format!("{} is not 1–12", self.month)));
        }
        let insutype = Code::new(&self.insutype).map_err(|e| refuse("insutype", e.to_string()))?;
        let kind = DeductionKind::parse(&self.kind)
            .ok_or_else(|| refuse("kind", format!("`{}` is not 10, 20 or 30", self.kind)))?;
        let amount = Fen::parse_yuan(&self.amount).map_err(|e| refuse("amount", e.to_string()))?;
        if amount.fen() <= 0 {
            return Err(refuse("amount", "must be positive".into()));
        }
        Ok(Deduction {
            deduction_id: self.deduction_id,
            fixmedins_code: self.fixmedins_code,
            insutype,
            year: self.year,
            month: self.month,
            kind,
            amount,
            reason: self.reason,
        })
    }
}

/// Why a deduction was not stored.
#[derive(Debug, thiserror::Error)]
pub enum DeductionError {
    #[error("deduction `{0}` was posted before with different content")]
    Conflicting(String),
    #[error("deduction `{id}`: month {year}-{month:02} of {fixmedins_code} {insutype} is already paid; post it against a later month")]
    MonthPosted {
        id: String,
        fixmedins_code: String,
        insutype: Code,
        year: i32,
        month: u8,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for DeductionError {
    fn from(error: sqlx::Error) -> DeductionError {
        DeductionError::Ledger(error.into())
    }
}

/// Stores budgets (a budget stored again for the same institution, scheme and year is replaced:
/// budgets are set before the year's first month is paid).
pub async fn upsert_budgets(
    store: &Store,
    budgets: &[Budget],
    loaded_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for budget in budgets {
        sqlx::query(
            "INSERT INTO provider_budgets (fixmedins_code, insutype, year, annual_index, avg_cost_limit, \
             admissions_limit, self_pay_share_bp, loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (fixmedins_code, insutype, year) DO UPDATE SET annual_index = excluded.annual_index, \
             avg_cost_limit = excluded.avg_cost_limit, admissions_limit = excluded.admissions_limit, \
             self_pay_share_bp = excluded.self_pay_share_bp, loaded_at = excluded.loaded_at",
        )
        .bind(budget.fixmedins_code.clone())
        .bind(budget.insutype.as_str().to_string())
        .bind(i64::from(budget.year))
        .bind(budget.annual_index.fen())
        .bind(budget.limits.avg_cost_per_admission.map(Fen::fen))
        .bind(budget.limits.admissions.map(|a| a as i64))
        .bind(budget.limits.self_pay_share.map(|r| i64::from(r.bp())))
        .bind(loaded_at.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The budgets of a year, by institution and scheme.
pub async fn budgets(conn: &mut AnyConnection, year: i32) -> Result<Vec<Budget>, LedgerError> {
    const TABLE: &str = "provider_budgets";
    let rows = sqlx::query(
        "SELECT fixmedins_code, insutype, year, annual_index, avg_cost_limit, admissions_limit, \
         self_pay_share_bp FROM provider_budgets WHERE year = $1 ORDER BY fixmedins_code, insutype",
    )
    .bind(i64::from(year))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let admissions: Option<i64> = row.try_get("admissions_limit")?;
            let share: Option<i64> = row.try_get("self_pay_share_bp")?;
            Ok(Budget {
                fixmedins_code: row.try_get("fixmedins_code")?,
                insutype: crate::columns::code(row, TABLE, "insutype")?,
                year,
                annual_index: Fen(row.try_get("annual_index")?),
                limits: ControlLimits {
                    avg_cost_per_admission: row
                        .try_get::<Option<i64>, _>("avg_cost_limit")?
                        .map(Fen),
                    admissions: admissions
                        .map(|a| {
                            u64::try_from(a)
                                .map_err(|_| corrupt(TABLE, "admissions_limit", &a.to_string()))
                        })
                        .transpose()?,
                    self_pay_share: share
                        .map(|bp| {
                            Ratio::from_bp_checked(bp)
                                .map_err(|_| corrupt(TABLE, "self_pay_share_bp", &bp.to_string()))
                        })
                        .transpose()?,
                },
            })
        })
        .collect()
}

/// Stores deductions in one transaction: each is refused when its month is already posted, or
/// when its id was posted with different content; a deduction posted again as it was is a no-op.
pub async fn post_deductions(
    store: &Store,
    deductions: &[Deduction],
    posted_at: &str,
) -> Result<(), DeductionError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for deduction in deductions {
        let stored = sqlx::query(
            "SELECT fixmedins_code, insutype, year, month, kind, amount, reason FROM provider_deductions \
             WHERE deduction_id = $1",
        )
        .bind(deduction.deduction_id.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = stored {
            let same = row.try_get::<String, _>("fixmedins_code")? == deduction.fixmedins_code
                && row.try_get::<String, _>("insutype")? == deduction.insutype.as_str()
                && row.try_get::<i64, _>("year")? == i64::from(deduction.year)
                && row.try_get::<i64, _>("month")? == i64::from(deduction.month)
                && row.try_get::<String, _>("kind")? == deduction.kind.code()
                && row.try_get::<i64, _>("amount")? == deduction.amount.fen()
                && row.try_get::<String, _>("reason")? == deduction.reason;
            if !same {
                return Err(DeductionError::Conflicting(deduction.deduction_id.clone()));
            }
            continue;
        }
        let posted = sqlx::query(
            "SELECT 1 FROM provider_payments WHERE fixmedins_code = $1 AND insutype = $2 AND year = $3 AND month = $4",
        )
        .bind(deduction.fixmedins_code.clone())
        .bind(deduction.insutype.as_str().to_string())
        .bind(i64::from(deduction.year))
        .bind(i64::from(deduction.month))
        .fetch_optional(&mut *tx)
        .await?;
        if posted.is_some() {
            return Err(DeductionError::MonthPosted {
                id: deduction.deduction_id.clone(),
                fixmedins_code: deduction.fixmedins_code.clone(),
                insutype: deduction.insutype,
                year: deduction.year,
                month: deduction.month,
            });
        }
        sqlx::query(
            "INSERT INTO provider_deductions (deduction_id, fixmedins_code, insutype, year, month, kind, amount, \
             reason, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(deduction.deduction_id.clone())
        .bind(deduction.fixmedins_code.clone())
        .bind(deduction.insutype.as_str().to_string())
        .bind(i64::from(deduction.year))
        .bind(i64::from(deduction.month))
        .bind(deduction.kind.code())
        .bind(deduction.amount.fen())
        .bind(deduction.reason.clone())
        .bind(posted_at.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A month (1–12) from a stored value.
fn month_of(table: &'static str, value: i64) -> Result<usize, LedgerError> {
    usize::try_from(value)
        .ok()
        .filter(|m| (1..=MONTHS).contains(m))
        .ok_or_else(|| corrupt(table, "month", &value.to_string()))
}

/// Which month a settlement's claim belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimsMonth {
    /// The month it was made (`setl_time`): a posted month's claims never change. In operation.
    Settled,
    /// The month of its day of care (the visit's end, else its start), as the fund report dates
    /// settlements: for a year replayed after the fact (the demo), whose settlements are all made
    /// on the day of the replay.
    Care,
}

/// Each institution × scheme's twelve months of the year: claims from the settlement ledger by
/// the month they were made, deductions and prepayment offsets as posted, and the procurement
/// prepayment's offsets as scheduled when it was posted.
pub async fn month_inputs(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<BTreeMap<ProviderKey, [MonthInput; MONTHS]>, LedgerError> {
    month_inputs_by(conn, year, ClaimsMonth::Settled).await
}

/// [`month_inputs`] with the claims dated by `basis`.
pub async fn month_inputs_by(
    conn: &mut AnyConnection,
    year: i32,
    basis: ClaimsMonth,
) -> Result<BTreeMap<ProviderKey, [MonthInput; MONTHS]>, LedgerError> {
    month_inputs_of(conn, year, 1..=MONTHS as u8, basis).await
}

/// [`month_inputs_by`] with the claims of `months` only (the other months' claims are zero; their
/// deductions and offsets are read all the same). By the month settled, the claims are read from
/// `settlements_claims_month` (`migrations/0022_procurement.sql`), a range of it per call: paying
/// a month reads that month's settlements, not the year's.
pub async fn month_inputs_of(
    conn: &mut AnyConnection,
    year: i32,
    months: std::ops::RangeInclusive<u8>,
    basis: ClaimsMonth,
) -> Result<BTreeMap<ProviderKey, [MonthInput; MONTHS]>, LedgerError> {
    let mut inputs: BTreeMap<ProviderKey, [MonthInput; MONTHS]> = BTreeMap::new();
    let first = format!("{year:04}-{:02}", months.start());
    let last = format!("{year:04}-{:02}", months.end());
    let claims = match basis {
        ClaimsMonth::Settled => sqlx::query(
            "SELECT fixmedins_code, insutype, substr(setl_time, 6, 2) AS month, \
             CAST(SUM(fund_pay_sumamt) AS BIGINT) AS claims FROM settlements \
             WHERE setl_time >= $1 AND setl_time < $2 GROUP BY 1, 2, 3",
        )
        .bind(format!("{first}-01"))
        .bind(format!("{last}-32")),
        ClaimsMonth::Care => sqlx::query(care_claims_sql()).bind(first).bind(last),
    }
    .fetch_all(&mut *conn)
    .await?;
    for row in &claims {
        let month_text: String = row.try_get("month")?;
        let month = month_text
            .parse::<i64>()
            .map_err(|_| corrupt("settlements", "setl_time", &month_text))?;
        let key = (
            row.try_get("fixmedins_code")?,
            crate::columns::code(row, "settlements", "insutype")?,
        );
        let months = inputs.entry(key).or_default();
        months[month_of("settlements", month)? - 1].claims = Fen(row.try_get("claims")?);
    }
    let deductions = sqlx::query(
        "SELECT fixmedins_code, insutype, month, kind, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM provider_deductions WHERE year = $1 GROUP BY fixmedins_code, insutype, month, kind",
    )
    .bind(i64::from(year))
    .fetch_all(&mut *conn)
    .await?;
    for row in &deductions {
        let key = (
            row.try_get("fixmedins_code")?,
            crate::columns::code(row, "provider_deductions", "insutype")?,
        );
        let kind_text: String = row.try_get("kind")?;
        let kind = DeductionKind::parse(&kind_text)
            .ok_or_else(|| corrupt("provider_deductions", "kind", &kind_text))?;
        let month = month_of("provider_deductions", row.try_get("month")?)?;
        let input = &mut inputs.entry(key).or_default()[month - 1];
        let amount = Fen(row.try_get("amount")?);
        match kind {
            DeductionKind::Audit | DeductionKind::Inspection => input.deductions += amount,
            DeductionKind::PrepaymentOffset => input.prepayment_offset += amount,
        }
    }
    for (key, offsets) in crate::procurement::offsets_due(conn, year).await? {
        let months = inputs.entry(key).or_default();
        for (input, due) in months.iter_mut().zip(offsets) {
            input.procurement_offset = due;
        }
    }
    Ok(inputs)
}

/// The claims by month of care of a range of months (`$1`, `$2`: first and last `yyyy-MM`).
fn care_claims_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let day = crate::books::CARE_DATE;
        format!(
            "SELECT s.fixmedins_code AS fixmedins_code, s.insutype AS insutype, substr({day}, 6, 2) AS month, \
             CAST(SUM(s.fund_pay_sumamt) AS BIGINT) AS claims FROM settlements s \
             LEFT JOIN visits v ON v.mdtrt_id = s.mdtrt_id \
             WHERE substr({day}, 1, 7) >= $1 AND substr({day}, 1, 7) <= $2 GROUP BY 1, 2, 3"
        )
    })
}

/// Each institution × scheme's inpatient activity of the year (final settlements less their
/// cancellations), read by the year-end's control indicators.
pub async fn activity(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<BTreeMap<ProviderKey, Activity>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, insutype, \
         CAST(SUM(CASE WHEN kind = 'cancel' THEN -1 ELSE 1 END) AS BIGINT) AS admissions, \
         CAST(SUM(medfee_sumamt) AS BIGINT) AS total_cost, CAST(SUM(fulamt_ownpay_amt) AS BIGINT) AS self_pay \
         FROM settlements WHERE setl_time >= $1 AND setl_time < $2 AND clr_type = '21' AND mid_setl_flag <> '1' \
         GROUP BY fixmedins_code, insutype",
    )
    .bind(format!("{year:04}-01-01"))
    .bind(format!("{:04}-01-01", year + 1))
    .fetch_all(conn)
    .await?;
    let mut activity = BTreeMap::new();
    for row in &rows {
        let admissions: i64 = row.try_get("admissions")?;
        activity.insert(
            (
                row.try_get("fixmedins_code")?,
                crate::columns::code(row, "settlements", "insutype")?,
            ),
            Activity {
                admissions: u64::try_from(admissions).unwrap_or(0),
                total_cost: Fen(row.try_get("total_cost")?),
                self_pay: Fen(row.try_get("self_pay")?),
            },
        );
    }
    Ok(activity)
}

/// The posted months of a year, by institution × scheme and month.
pub async fn posted_months(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<BTreeMap<(ProviderKey, u8), MonthStatement>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, insutype, month, statement FROM provider_payments WHERE year = $1",
    )
    .bind(i64::from(year))
    .fetch_all(conn)
    .await?;
    let mut posted = BTreeMap::new();
    for row in &rows {
        let key = (
            row.try_get("fixmedins_code")?,
            crate::columns::code(row, "provider_payments", "insutype")?,
        );
        let month = month_of("provider_payments", row.try_get("month")?)? as u8;
        let text: String = row.try_get("statement")?;
        let statement: MonthStatement = serde_json::from_str(&text)
            .map_err(|e| corrupt("provider_payments", "statement", &e.to_string()))?;
        posted.insert((key, month), statement);
    }
    Ok(posted)
}

/// Posts month statements in one transaction, each with its book postings on its fund
/// (`provider_books`); a month already posted keeps its stored statement and posts nothing.
pub async fn post_months(
    store: &Store,
    year: i32,
    statements: &[ToPost<MonthStatement>],
    posted_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for to_post in statements {
        let (fixmedins_code, insutype) = &to_post.key;
        let statement = &to_post.statement;
        let text = serde_json::to_string(statement)
            .map_err(|e| corrupt("provider_payments", "statement", &e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO provider_payments (fixmedins_code, insutype, year, month, transfer, statement, posted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fixmedins_code, insutype, year, month) DO NOTHING",
        )
        .bind(fixmedins_code.clone())
        .bind(insutype.as_str().to_string())
        .bind(i64::from(year))
        .bind(i64::from(statement.month))
        .bind(statement.transfer.fen())
        .bind(text)
        .bind(posted_at.to_string())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            let batch = provider_books::month_batch(&to_post.key, year, statement.month);
            let rows = provider_books::month_rows(&to_post.fund, year, statement)?;
            crate::books::insert_rows(&mut tx, &batch, &rows).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The posted year-ends of a year, by institution × scheme.
pub async fn posted_year_ends(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<BTreeMap<ProviderKey, YearEndStatement>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, insutype, statement FROM provider_year_ends WHERE year = $1",
    )
    .bind(i64::from(year))
    .fetch_all(conn)
    .await?;
    let mut posted = BTreeMap::new();
    for row in &rows {
        let text: String = row.try_get("statement")?;
        let statement: YearEndStatement = serde_json::from_str(&text)
            .map_err(|e| corrupt("provider_year_ends", "statement", &e.to_string()))?;
        posted.insert(
            (
                row.try_get("fixmedins_code")?,
                crate::columns::code(row, "provider_year_ends", "insutype")?,
            ),
            statement,
        );
    }
    Ok(posted)
}

/// Posts year-end statements in one transaction, each with its book posting on its fund; a
/// year-end already posted keeps its statement and posts nothing.
pub async fn post_year_ends(
    store: &Store,
    year: i32,
    statements: &[ToPost<YearEndStatement>],
    posted_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for to_post in statements {
        let (fixmedins_code, insutype) = &to_post.key;
        let statement = &to_post.statement;
        let text = serde_json::to_string(statement)
            .map_err(|e| corrupt("provider_year_ends", "statement", &e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO provider_year_ends (fixmedins_code, insutype, year, year_end_payment, statement, posted_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fixmedins_code, insutype, year) DO NOTHING",
        )
        .bind(fixmedins_code.clone())
        .bind(insutype.as_str().to_string())
        .bind(i64::from(year))
        .bind(statement.year_end_payment.fen())
        .bind(text)
        .bind(posted_at.to_string())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            let batch = provider_books::year_end_batch(&to_post.key, year);
            let rows = provider_books::year_end_rows(&to_post.fund, year, statement);
            crate::books::insert_rows(&mut tx, &batch, &rows).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The provider report of `year` (or of one `month` of it) from the budgets and the posted
/// statements, one line per budgeted institution × scheme, optionally of one institution only.
pub async fn summaries(
    conn: &mut AnyConnection,
    year: i32,
    month: Option<u8>,
    fixmedins_code: Option<&str>,
) -> Result<Vec<ProviderSummary>, LedgerError> {
    let budgets = budgets(conn, year).await?;
    let months = posted_months(conn, year).await?;
    let year_ends = posted_year_ends(conn, year).await?;
    let lines = budgets
        .iter()
        .filter(|b| fixmedins_code.is_none_or(|code| b.fixmedins_code == code))
        .map(|budget| {
            let key: ProviderKey = (budget.fixmedins_code.clone(), budget.insutype);
            let posted: Vec<MonthStatement> = (1..=MONTHS as u8)
                .filter_map(|m| months.get(&(key.clone(), m)).copied())
                .collect();
            summarize(budget, &posted, year_ends.get(&key), month)
        })
        .collect();
    Ok(lines)
}
