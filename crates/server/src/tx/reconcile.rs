//! 3202 医药机构费用结算对明细账: each settlement and cancellation of this institution in the period
//! compared with the institution's detail. In the spec's form the detail is a file uploaded with 9101
//! (`data.file_qury_no`: a ZIP of TAB-separated TXT, one row per settlement) and the answer is a
//! result file to download with 9102 (`fileinfo`); yibao also accepts the rows inline as
//! `input.detail[]` and then answers inline (an extension).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use yibao_domain::Fen;
use yibao_ledger::entries::{self, EntrySummary};
use yibao_ledger::{EntryKind, LedgerView};
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::files::{self, FileInfo};
use super::query::Statement;
use super::{Ctx, TxOutput};
use crate::error::TxError;

/// The field that names the detail file.
const DETAIL_FILE: &str = "input.data.file_qury_no";

/// The columns of the detail file, in order (extra columns are ignored).
pub const DETAIL_COLUMNS: [&str; 7] = [
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
];

/// The columns of the result file, in order.
pub const RESULT_COLUMNS: [&str; 10] = [
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "msgid",
    "stmt_rslt",
    "refd_setl_flag",
    "memo",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
];

/// One row of the institution's detail.
#[derive(Deserialize)]
struct DetailRow {
    #[serde(deserialize_with = "lenient::string")]
    setl_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
    #[serde(deserialize_with = "lenient::yuan")]
    medfee_sumamt: Fen,
    #[serde(deserialize_with = "lenient::yuan")]
    fund_pay_sumamt: Fen,
    #[serde(deserialize_with = "lenient::yuan")]
    acct_pay: Fen,
    /// `1`: the row is a refund (a cancellation), named by its own `setl_id` or the original's.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    refd_setl_flag: Option<String>,
}

impl DetailRow {
    fn refund(&self) -> bool {
        self.refd_setl_flag.as_deref() == Some("1")
    }

    fn amounts(&self) -> (Fen, Fen, Fen) {
        (self.medfee_sumamt, self.fund_pay_sumamt, self.acct_pay)
    }
}

/// One settlement's comparison.
struct Compared {
    setl_id: String,
    mdtrt_id: String,
    psn_no: String,
    msgid: String,
    balanced: bool,
    refund: bool,
    memo: String,
    /// The ledger's `medfee_sumamt`, `fund_pay_sumamt`, `acct_pay` (zero for rows it lacks).
    ours: (Fen, Fen, Fen),
}

#[derive(Deserialize)]
struct DetailFile {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    file_qury_no: Option<String>,
}

/// 3202: the spec's form when `data.file_qury_no` is given, else the inline `input.detail[]`.
pub async fn reconcile_detail(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let stmt: Statement = parse(data, "input.data")?;
    let file: DetailFile = parse(data, "input.data")?;
    let file_qury_no = file.file_qury_no.filter(|f| !f.trim().is_empty());
    let inline = ctx
        .request
        .input
        .get("detail")
        .is_some_and(|d| !d.is_null());
    let theirs = match (&file_qury_no, inline) {
        (Some(file_qury_no), _) => detail_file(ctx, ledger, file_qury_no).await?,
        (None, true) => parse(node(&ctx.request.input, "detail")?, "input.detail")?,
        (None, false) => {
            return Err(TxError::new(
                DETAIL_FILE,
                "不能为空（先用 9101 上传明细文件）",
            ))
        }
    };
    let ours = entries::entries(ledger.conn(), &stmt.filter(ctx)).await?;
    let compared = compare(&ours, theirs);
    match file_qury_no {
        Some(_) => result_file(ctx, ledger, &compared).await,
        None => inline_result(&compared),
    }
}

/// The rows of an uploaded detail file of this institution.
async fn detail_file(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    file_qury_no: &str,
) -> Result<Vec<DetailRow>, TxError> {
    let file = files::owned_file(ctx, ledger, DETAIL_FILE, file_qury_no).await?;
    let text = files::unzip_txt(DETAIL_FILE, &file.bytes, ctx.shared.config.file_limit_bytes)?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| detail_line(index + 1, line))
        .collect()
}

/// One TAB-separated line of the detail file; `null` and empty cells are empty. A bad line is
/// refused naming the file, the line and the column.
fn detail_line(line_no: usize, line: &str) -> Result<DetailRow, TxError> {
    let bad =
        |problem: String| TxError::new(DETAIL_FILE, format!("明细文件第 {line_no} 行{problem}"));
    let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
    if cells.len() < DETAIL_COLUMNS.len() - 1 {
        return Err(bad(format!(
            "只有 {} 列，应为 {} 列（{}）",
            cells.len(),
            DETAIL_COLUMNS.len(),
            DETAIL_COLUMNS.join("、")
        )));
    }
    let row: serde_json::Map<String, serde_json::Value> = DETAIL_COLUMNS
        .iter()
        .zip(cells.iter().chain(std::iter::repeat(&"")))
        .filter(|(_, cell)| !cell.is_empty() && !cell.eq_ignore_ascii_case("null"))
        .map(|(column, cell)| (column.to_string(), serde_json::Value::from(*cell)))
        .collect();
    parse(&serde_json::Value::Object(row), "row").map_err(|e| {
        let column = e.field.trim_start_matches("row").trim_start_matches('.');
        bad(format!(" {column}：{}", e.problem))
    })
}

/// The entries a 2601 冲正 undid, with the entries that undid them (a settlement and its
/// cancellation, or a cancellation and its reinstatement): a HIS whose call failed (a lost reply, a
/// timeout) reverses it and lists neither, so such a pair balances when the institution's detail
/// has neither of them.
fn reversed_pairs(ours: &[EntrySummary]) -> HashMap<&str, &str> {
    ours.iter()
        .filter(|e| e.header.infno.as_str() == "2601")
        .filter_map(|e| Some((e.header.setl_id.as_str(), e.header.orig_setl_id.as_deref()?)))
        .flat_map(|(undoing, undone)| [(undoing, undone), (undone, undoing)])
        .collect()
}

/// Each ledger entry against the institution's row for it, then the rows the ledger lacks.
fn compare(ours: &[EntrySummary], theirs: Vec<DetailRow>) -> Vec<Compared> {
    let mut theirs_by_key: HashMap<(String, bool), DetailRow> = HashMap::new();
    let mut unmatched_order = Vec::new();
    for row in theirs {
        let key = (row.setl_id.clone(), row.refund());
        unmatched_order.push(key.clone());
        theirs_by_key.insert(key, row);
    }
    let matched: Vec<Option<DetailRow>> = ours
        .iter()
        .map(|entry| {
            let header = &entry.header;
            let refund = header.kind == EntryKind::Cancel;
            [
                (Some(&header.setl_id), refund),
                (Some(&header.setl_id), !refund),
                (header.orig_setl_id.as_ref(), refund),
            ]
            .into_iter()
            .filter_map(|(setl_id, refund)| Some((setl_id?.clone(), refund)))
            .filter(|(setl_id, _)| !setl_id.is_empty())
            .find_map(|key| theirs_by_key.remove(&key))
        })
        .collect();
    let reversed = reversed_pairs(ours);
    let listed: HashSet<&str> = ours
        .iter()
        .zip(&matched)
        .filter(|(_, row)| row.is_some())
        .map(|(entry, _)| entry.header.setl_id.as_str())
        .collect();
    let unlisted_pair = |entry: &EntrySummary| {
        reversed
            .get(entry.header.setl_id.as_str())
            .is_some_and(|partner| !listed.contains(partner))
    };
    let mut results = Vec::with_capacity(ours.len());
    for (entry, row) in ours.iter().zip(matched) {
        let header = &entry.header;
        let refund = header.kind == EntryKind::Cancel;
        let a = &entry.amounts;
        let ours_amounts = (a.medfee_sumamt, a.fund_pay_sumamt, a.acct_pay);
        let (balanced, memo) = match &row {
            None if unlisted_pair(entry) => (
                true,
                "已冲正（2601），机构明细中无此结算及其冲正".to_string(),
            ),
            None => (false, "机构明细中无此结算".to_string()),
            Some(row) if row.amounts() == ours_amounts => (true, String::new()),
            Some(row) => (false, differences(row.amounts(), ours_amounts)),
        };
        results.push(Compared {
            setl_id: header.setl_id.clone(),
            mdtrt_id: header.mdtrt_id.clone(),
            psn_no: header.psn_no.clone(),
            msgid: header.msgid.clone(),
            balanced,
            refund,
            memo,
            ours: ours_amounts,
        });
    }
    for key in unmatched_order {
        if let Some(row) = theirs_by_key.remove(&key) {
            results.push(Compared {
                refund: row.refund(),
                setl_id: row.setl_id,
                mdtrt_id: row.mdtrt_id.unwrap_or_default(),
                psn_no: row.psn_no.unwrap_or_default(),
                msgid: String::new(),
                balanced: false,
                memo: "医保端无此结算".into(),
                ours: (Fen(0), Fen(0), Fen(0)),
            });
        }
    }
    results
}

/// The amounts that differ, institution's against the ledger's.
fn differences(theirs: (Fen, Fen, Fen), ours: (Fen, Fen, Fen)) -> String {
    [
        ("医疗费总额", theirs.0, ours.0),
        ("基金支付总额", theirs.1, ours.1),
        ("个人账户支付", theirs.2, ours.2),
    ]
    .iter()
    .filter(|(_, t, o)| t != o)
    .map(|(name, t, o)| {
        format!(
            "{name} 机构 {} ≠ 医保 {}",
            t.to_yuan_string(),
            o.to_yuan_string()
        )
    })
    .collect::<Vec<_>>()
    .join("；")
}

/// The spec's answer: a result file (ZIP of one TXT, [`RESULT_COLUMNS`]) to download with 9102.
async fn result_file(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    compared: &[Compared],
) -> Result<TxOutput, TxError> {
    let lines: Vec<String> = compared
        .iter()
        .map(|c| {
            let cells: [String; RESULT_COLUMNS.len()] = [
                c.setl_id.clone(),
                c.mdtrt_id.clone(),
                c.psn_no.clone(),
                c.msgid.clone(),
                stmt_rslt(c.balanced).to_string(),
                if c.refund { "1" } else { "0" }.to_string(),
                c.memo.replace(['\t', '\n'], " "),
                c.ours.0.to_yuan_string(),
                c.ours.1.to_yuan_string(),
                c.ours.2.to_yuan_string(),
            ];
            cells.join("\t")
        })
        .collect();
    let stem = format!(
        "{}_{}_3202",
        ctx.request.fixmedins_code,
        ctx.now.format("%Y%m%d%H%M%S")
    );
    let bytes = files::zip_txt(&format!("{stem}.txt"), &lines)?;
    let fileinfo: FileInfo = files::issue(ctx, ledger, format!("{stem}.zip"), bytes).await?;
    #[derive(Serialize)]
    struct Output {
        fileinfo: FileInfo,
    }
    Ok(TxOutput::read(common::to_output(&Output { fileinfo })?))
}

fn stmt_rslt(balanced: bool) -> &'static str {
    if balanced {
        "0"
    } else {
        "1"
    }
}

/// The inline answer (yibao's extension): `stmt_rslt` and `result[]`.
fn inline_result(compared: &[Compared]) -> Result<TxOutput, TxError> {
    #[derive(Serialize)]
    struct Row<'a> {
        setl_id: &'a str,
        msgid: &'a str,
        stmt_rslt: &'static str,
        memo: &'a str,
    }
    #[derive(Serialize)]
    struct Output<'a> {
        stmt_rslt: &'static str,
        result: Vec<Row<'a>>,
    }
    let result = compared
        .iter()
        .map(|c| Row {
            setl_id: &c.setl_id,
            msgid: &c.msgid,
            stmt_rslt: stmt_rslt(c.balanced),
            memo: &c.memo,
        })
        .collect();
    Ok(TxOutput::read(common::to_output(&Output {
        stmt_rslt: stmt_rslt(compared.iter().all(|c| c.balanced)),
        result,
    })?))
}
