//! The cross-region report over the admin API (`GET /admin/reports/cross-region`): for each of the
//! platform's pooling regions, outbound and inbound cross-region care per scheme, partner region
//! and kind of care — count, total cost, fund paid, fund share, average cost
//! (`clearing-and-budgets.md` §6.4). Read-only; amounts are yuan text with two decimals.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use yibao_clearing::CrossRegionLine;
use yibao_ledger::clearing_run;
use yibao_ledger::LedgerError;

use super::providers::period;
use super::{refuse, AdminRefusal, GuardRefusal};
use crate::service::Service;

/// The cross-region report.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrossRegionReport {
    pub ok: bool,
    pub year: i32,
    /// The month reported, or absent for the year.
    pub month: Option<u8>,
    /// Per region × direction (`outbound`, `inbound`) × scheme × partner region × care
    /// (`inpatient`, `outpatient`): `count` (admissions or visits, net of cancellations),
    /// `total_cost`, `fund_paid`, `fund_share` (a fraction, absent without cost), `average_cost`.
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<CrossRegionLine>,
}

/// Cross-region report
///
/// Outbound (the region's insured treated elsewhere) and inbound (others' insured treated at its
/// institutions) cross-region care of the year (or of `month`), by settlement time: one grouped
/// read of the ledger.
#[utoipa::path(get, path = "/admin/reports/cross-region", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("year" = i32, Query, description = "Calendar year"),
        ("month" = Option<u8>, Query, description = "A month 1–12 instead of the whole year"),
    ),
    responses(
        (status = 200, description = "One line per region × direction × scheme × partner × care (empty without cross-region care)", body = CrossRegionReport),
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
        let mut conn = service
            .shared
            .store
            .pool()
            .acquire()
            .await
            .map_err(LedgerError::from)?;
        clearing_run::cross_region_report(&mut conn, year, month).await
    }
    .await;
    match lines {
        Ok(lines) => Json(CrossRegionReport {
            ok: true,
            year,
            month,
            lines,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
