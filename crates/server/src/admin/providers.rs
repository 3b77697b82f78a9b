//! The workbench's view of paying institutions: the provider report of a year or month, and an
//! institution's posted monthly and year-end statements (`yibao pay month` / `yibao pay year-end`
//! post them). Read-only; amounts are yuan text with two decimals.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use yibao_ledger::provider::{self, ProviderKey};
use yibao_ledger::{AnyConnection, LedgerError};
use yibao_provider_payment::{MonthStatement, ProviderSummary, YearEndStatement};

use super::{refuse, AdminRefusal, GuardRefusal};
use crate::service::Service;

/// The years a statement query accepts.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;
/// The longest `fixmedins_code` accepted.
const CODE_MAX_CHARS: usize = 30;

/// The provider report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderReport {
    pub ok: bool,
    pub year: i32,
    /// The month reported, or absent for the year.
    pub month: Option<u8>,
    /// Per budgeted institution × scheme: `fixmedins_code`, `insutype`, `annual_index`,
    /// `months_paid`, `claims`, `deductions`, `paid`, `deferred`, `reserve_withheld`,
    /// `prepayment_offset`, `transfer`, and once the year is cleared `year_end_payment` and `final`.
    #[schema(value_type = Vec<Object>)]
    pub providers: Vec<ProviderSummary>,
}

/// A posted statement, as the provider-payment crate states it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PostedStatement {
    Month(MonthStatement),
    YearEnd(YearEndStatement),
}

/// One scheme's posted statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeStatement {
    pub insutype: String,
    /// The statement as posted: a month's (`month`, `claims`, `deductions`, `net_claims`, `quota`,
    /// `paid`, `deferred`, the year to date, `reserve_withheld`, `prepayment_offset`, `transfer`)
    /// or a year-end's (`index`, `audited_claims`, `surplus`, `retained`, `overspend`,
    /// `fund_share`, `refused`, `final`, `paid`, `deferred`, `year_end_payment`, reserve).
    #[schema(value_type = Object)]
    pub statement: PostedStatement,
}

/// An institution's posted statements of a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionStatements {
    pub ok: bool,
    pub fixmedins_code: String,
    pub year: i32,
    /// Per scheme and month (oldest first) as posted; empty while none is posted.
    pub statements: Vec<SchemeStatement>,
}

/// The year (required) and month (optional) of a query, or what is wrong with them.
pub(super) fn period(params: &HashMap<String, String>) -> Result<(i32, Option<u8>), String> {
    let year_text = params
        .get("year")
        .ok_or("参数 year 有误：缺少必填字段（例如 year=2025）")?;
    let year = year_text
        .parse::<i32>()
        .ok()
        .filter(|y| YEARS.contains(y))
        .ok_or_else(|| format!("参数 year 有误：{year_text} 不是 1900–9999 之间的年度"))?;
    let month = params
        .get("month")
        .map(|text| {
            text.parse::<u8>()
                .ok()
                .filter(|m| (1..=12).contains(m))
                .ok_or_else(|| format!("参数 month 有误：{text} 不是 1–12 之间的月份"))
        })
        .transpose()?;
    Ok((year, month))
}

pub(super) fn checked_code(code: &str) -> Result<(), String> {
    let chars = code.chars().count();
    if chars == 0 || chars > CODE_MAX_CHARS || code.chars().any(char::is_control) {
        return Err(format!(
            "参数 fixmedins_code 有误：须为 1 至 {CODE_MAX_CHARS} 个字符，不含控制字符"
        ));
    }
    Ok(())
}

/// Provider report
///
/// Per budgeted institution × scheme: the annual index and what the posted statements of the year
/// (or of `month`) claim, deduct, pay and defer (超支挂帐), and the year-end once cleared.
#[utoipa::path(get, path = "/admin/providers", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("year" = i32, Query, description = "Budget year"),
        ("month" = Option<u8>, Query, description = "A month 1–12 instead of the whole year"),
    ),
    responses(
        (status = 200, description = "One line per budgeted institution × scheme (empty without budgets)", body = ProviderReport),
        (status = 400, description = "A bad `year` or `month` (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_report(
    State(service): State<Service>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (year, month) = match period(&params) {
        Ok(period) => period,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let lines = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        provider::summaries(&mut conn, year, month, None).await
    }
    .await;
    match lines {
        Ok(providers) => Json(ProviderReport {
            ok: true,
            year,
            month,
            providers,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Monthly statements of an institution
///
/// The institution's posted monthly statements (一月一拨) of `year`, per scheme and month: claims,
/// deductions, quota, paid, deferred, reserve withheld, prepayment offset, transfer and the year to
/// date.
#[utoipa::path(get, path = "/admin/providers/{fixmedins_code}/months", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("fixmedins_code" = String, Path, description = "The institution"),
        ("year" = i32, Query, description = "Budget year"),
        ("month" = Option<u8>, Query, description = "One month 1–12 only"),
    ),
    responses(
        (status = 200, description = "The posted monthly statements", body = InstitutionStatements),
        (status = 400, description = "A bad `year`, `month` or code (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No budget of the institution for the year, or the admin API is off", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_months(
    State(service): State<Service>,
    Path(fixmedins_code): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (year, month) = match query_of(&fixmedins_code, &params) {
        Ok(period) => period,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        if !budgeted(&mut conn, year, &fixmedins_code).await? {
            return Ok(None);
        }
        let posted = provider::posted_months(&mut conn, year).await?;
        Ok(Some(
            posted
                .into_iter()
                .filter(|((_, m), _)| month.is_none_or(|wanted| *m == wanted))
                .map(|((key, _), statement)| (key, PostedStatement::Month(statement)))
                .collect(),
        ))
    }
    .await;
    respond(fixmedins_code, year, found)
}

/// Year-end statements of an institution
///
/// The institution's posted year-end clearing (年终清算) of `year`, per scheme: index, audited
/// claims, surplus retained or overspend shared, final amount, paid, year-end payment, reserve.
#[utoipa::path(get, path = "/admin/providers/{fixmedins_code}/year-end", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("fixmedins_code" = String, Path, description = "The institution"),
        ("year" = i32, Query, description = "Budget year"),
    ),
    responses(
        (status = 200, description = "The posted year-end statements (empty before the year is cleared)", body = InstitutionStatements),
        (status = 400, description = "A bad `year` or code (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No budget of the institution for the year, or the admin API is off", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_year_end(
    State(service): State<Service>,
    Path(fixmedins_code): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let year = match query_of(&fixmedins_code, &params) {
        Ok((year, _)) => year,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        if !budgeted(&mut conn, year, &fixmedins_code).await? {
            return Ok(None);
        }
        let posted = provider::posted_year_ends(&mut conn, year).await?;
        Ok(Some(
            posted
                .into_iter()
                .map(|(key, statement)| (key, PostedStatement::YearEnd(statement)))
                .collect(),
        ))
    }
    .await;
    respond(fixmedins_code, year, found)
}

/// The checked path code and query period of a statement route.
fn query_of(
    fixmedins_code: &str,
    params: &HashMap<String, String>,
) -> Result<(i32, Option<u8>), String> {
    checked_code(fixmedins_code)?;
    period(params)
}

/// Whether the institution has a budget in `year`.
async fn budgeted(
    conn: &mut AnyConnection,
    year: i32,
    fixmedins_code: &str,
) -> Result<bool, LedgerError> {
    Ok(provider::budgets(conn, year)
        .await?
        .iter()
        .any(|b| b.fixmedins_code == fixmedins_code))
}

/// The institution's statements among `found` (all institutions'), or why there are none.
fn respond(
    fixmedins_code: String,
    year: i32,
    found: Result<Option<Vec<(ProviderKey, PostedStatement)>>, LedgerError>,
) -> Response {
    match found {
        Ok(Some(posted)) => Json(InstitutionStatements {
            ok: true,
            year,
            statements: posted
                .into_iter()
                .filter(|((code, _), _)| *code == fixmedins_code)
                .map(|((_, insutype), statement)| SchemeStatement {
                    insutype: insutype.to_string(),
                    statement,
                })
                .collect(),
            fixmedins_code,
        })
        .into_response(),
        Ok(None) => refuse(
            StatusCode::NOT_FOUND,
            format!("no budget of institution {fixmedins_code} is stored for {year}"),
        ),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// The procurement (集采) of a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcurementReport {
    pub ok: bool,
    pub year: i32,
    /// Per institution × scheme with a procurement prepayment or savings: the prepayment and its
    /// month, what the paid months recovered, what is outstanding, the savings and, once the year
    /// is cleared, the retained share and the year-end's recovery (yuan text).
    pub procurement: Vec<yibao_ledger::procurement::ProcurementStatus>,
}

/// Procurement prepayments and savings
///
/// Per institution × scheme of `year`: the procurement prepayment (采购周转金) posted by `yibao pay
/// procurement prepay`, what the posted monthly payments recovered of it, what is outstanding, the
/// procurement savings and the share retained at the year-end (结余留用).
#[utoipa::path(get, path = "/admin/procurement", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("year" = i32, Query, description = "Budget year"),
    ),
    responses(
        (status = 200, description = "One line per institution × scheme with a prepayment or savings (empty without)", body = ProcurementReport),
        (status = 400, description = "A bad `year` (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_procurement(
    State(service): State<Service>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let year = match period(&params) {
        Ok((year, None)) => year,
        Ok((_, Some(_))) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "参数 month 有误：集采周转金按年度核定，不接受月份",
            )
        }
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let status = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        yibao_ledger::procurement::status(&mut conn, year).await
    }
    .await;
    match status {
        Ok(procurement) => Json(ProcurementReport {
            ok: true,
            year,
            procurement,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
