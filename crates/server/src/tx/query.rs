//! 5203 结算信息查询, 5204 费用明细查询 and 3201 对总账 (3202 对明细账 is `reconcile.rs`).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use yibao_domain::Fen;
use yibao_ledger::entries::{self, EntryFilter};
use yibao_ledger::{LedgerError, LedgerView, LiveLine};
use yibao_wire::lenient;
use yibao_wire::render::Yuan;

use super::common::{self, node, parse};
use super::render::{self, RenderContext};

use super::{Ctx, TxOutput};
use crate::error::TxError;

#[derive(Deserialize)]
struct SettlementRef {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    setl_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
}

/// 5203: a stored settlement (or cancellation) of this institution, rendered as when it was made.
pub async fn settlement_info(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let reference: SettlementRef = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let setl_id = reference
        .setl_id
        .ok_or_else(|| TxError::new("input.data.setl_id", "不能为空"))?;
    let not_found = || common::unknown_settlement(ctx, "input.data.setl_id", &setl_id);
    let record = ledger.settlement(&setl_id).await?.ok_or_else(not_found)?;
    if record.header.fixmedins_code != ctx.request.fixmedins_code {
        return Err(not_found());
    }
    if reference
        .psn_no
        .as_deref()
        .is_some_and(|p| p != record.header.psn_no)
    {
        return Err(TxError::new(
            "input.data.psn_no",
            format!("不是结算 {setl_id} 的参保人"),
        ));
    }
    let visit =
        common::owned_visit(ctx, ledger, "input.data.mdtrt_id", &record.header.mdtrt_id).await?;
    let person =
        common::registered_person(ledger, "input.data.psn_no", &record.header.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", record.header.insutype.as_str())?.clone();
    let context = RenderContext {
        person: &person,
        insu: &insu,
        mdtrt_cert_type: visit.mdtrt_cert_type.as_str(),
        presettlement: false,
        detail: render::Detail::Query {
            visit: &visit,
            institution: ctx.institution,
        },
    };
    Ok(TxOutput::read(render::settlement_output(
        &record, &context,
    )?))
}

/// One 5204 row: identity fields followed by the stored split row, byte for byte.
struct FeeRow {
    text: String,
}

impl Serialize for FeeRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.text.clone())
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

fn fee_row(live: &LiveLine) -> Result<FeeRow, TxError> {
    let line = &*live.line;
    let prefix = serde_json::json!({
        "mdtrt_id": line.mdtrt_id, "setl_id": live.setl_id.as_deref().unwrap_or_default(),
        "chrg_bchno": line.chrg_bchno, "init_feedetl_sn": line.init_feedetl_sn,
        "med_list_codg": common::line_code(line)?,
    })
    .to_string();
    let rest = line.result.trim().strip_prefix('{').ok_or_else(|| {
        TxError::storage(&LedgerError::Corrupt {
            table: "fee_lines",
            column: "result",
            detail: format!(
                "line {} of {}: not an object",
                line.feedetl_sn, line.mdtrt_id
            ),
        })
    })?;
    let separator = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    Ok(FeeRow {
        text: format!("{}{separator}{rest}", prefix.trim_end_matches('}')),
    })
}

/// 5204: the live fee lines of a visit of this institution (optionally only those a live settlement
/// consumed), each with that settlement.
pub async fn fee_details(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let reference: SettlementRef = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let mdtrt_id = match (&reference.mdtrt_id, &reference.setl_id) {
        (Some(mdtrt_id), _) => mdtrt_id.clone(),
        (None, Some(setl_id)) => ledger
            .settlement(setl_id)
            .await?
            .filter(|r| r.header.fixmedins_code == ctx.request.fixmedins_code)
            .map(|r| r.header.mdtrt_id)
            .ok_or_else(|| common::unknown_settlement(ctx, "input.data.setl_id", setl_id))?,
        (None, None) => {
            return Err(TxError::new(
                "input.data.mdtrt_id",
                "不能为空（或填写 setl_id）",
            ))
        }
    };
    let visit = common::owned_visit(ctx, ledger, "input.data.mdtrt_id", &mdtrt_id).await?;
    common::check_visit_person(&visit, "input.data.psn_no", reference.psn_no.as_deref())?;
    let lines = ledger.fee_lines(&mdtrt_id).await?;
    let rows = lines
        .iter()
        .filter(|l| {
            reference
                .setl_id
                .as_deref()
                .is_none_or(|s| l.setl_id.as_deref() == Some(s))
        })
        .map(fee_row)
        .collect::<Result<Vec<_>, _>>()?;
    #[derive(Serialize)]
    struct Output {
        feedetail: Vec<FeeRow>,
    }
    Ok(TxOutput::read(common::to_output(&Output {
        feedetail: rows,
    })?))
}

/// The period and totals of a 3201/3202 statement (`input.data`).
#[derive(Deserialize)]
pub(super) struct Statement {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    insutype: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    clr_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    setl_optins: Option<String>,
    #[serde(deserialize_with = "lenient::date")]
    stmt_begndate: chrono::NaiveDate,
    #[serde(deserialize_with = "lenient::date")]
    stmt_enddate: chrono::NaiveDate,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    medfee_sumamt: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    fund_pay_sumamt: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    acct_pay: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fixmedins_setl_cnt: Option<String>,
}

impl Statement {
    /// This institution's ledger entries of the statement's period and filters.
    pub(super) fn filter(&self, ctx: &Ctx<'_>) -> EntryFilter {
        EntryFilter {
            fixmedins_code: Some(ctx.request.fixmedins_code.clone()),
            setl_time_from: Some(format!(
                "{} 00:00:00",
                self.stmt_begndate.format("%Y-%m-%d")
            )),
            setl_time_to: Some(format!("{} 23:59:59", self.stmt_enddate.format("%Y-%m-%d"))),
            insutype: self.insutype.clone(),
            clr_type: self.clr_type.clone(),
            clr_optins: self.setl_optins.clone(),
            ..EntryFilter::default()
        }
    }
}

#[derive(Serialize)]
struct StmtInfo {
    setl_optins: String,
    stmt_rslt: &'static str,
    stmt_rslt_dscr: String,
    medfee_sumamt: Yuan,
    fund_pay_sumamt: Yuan,
    acct_pay: Yuan,
    fixmedins_setl_cnt: i64,
}

/// 3201 对总账: compares the institution's totals for a period with the ledger's.
pub async fn reconcile_totals(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let stmt: Statement = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let ours = entries::entry_totals(ledger.conn(), &stmt.filter(ctx)).await?;
    let count: Option<i64> = match &stmt.fixmedins_setl_cnt {
        Some(text) => Some(text.parse().map_err(|_| {
            TxError::new("input.data.fixmedins_setl_cnt", format!("{text} 不是整数"))
        })?),
        None => None,
    };
    let mut differences = Vec::new();
    let checks = [
        ("medfee_sumamt", stmt.medfee_sumamt, ours.medfee_sumamt),
        (
            "fund_pay_sumamt",
            stmt.fund_pay_sumamt,
            ours.fund_pay_sumamt,
        ),
        ("acct_pay", stmt.acct_pay, ours.acct_pay),
    ];
    for (field, sent, mine) in checks {
        match sent {
            Some(sent) if sent != mine => differences.push(format!("{field} {sent} ≠ {mine}")),
            None => differences.push(format!("{field} missing")),
            _ => {}
        }
    }
    if count != Some(ours.net_count) {
        differences.push(format!(
            "fixmedins_setl_cnt {} ≠ {}",
            count.map_or("missing".into(), |c| c.to_string()),
            ours.net_count
        ));
    }
    let balanced = differences.is_empty();
    let info = StmtInfo {
        setl_optins: stmt.setl_optins.clone().unwrap_or_default(),
        stmt_rslt: if balanced { "0" } else { "1" },
        stmt_rslt_dscr: if balanced {
            "平".into()
        } else {
            format!("不平: {}", differences.join("; "))
        },
        medfee_sumamt: Yuan(ours.medfee_sumamt),
        fund_pay_sumamt: Yuan(ours.fund_pay_sumamt),
        acct_pay: Yuan(ours.acct_pay),
        fixmedins_setl_cnt: ours.net_count,
    };
    #[derive(Serialize)]
    struct Output {
        stmtinfo: StmtInfo,
    }
    Ok(TxOutput::read(common::to_output(&Output {
        stmtinfo: info,
    })?))
}
