//! Reads of visits, fee lines, the append-only settlement ledger, accumulator totals and the
//! idempotency table, on any connection. Writes go through the writer's [`crate::LedgerView`] and reach
//! the database in its batched flush.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use yibao_domain::codes::{ChrgitmLv, ClrType, ClrWay, Insutype, MedChrgitmType, MedType};
use yibao_domain::{Code, Fen, LineAmounts, Ratio};
use yibao_settlement::{AccKey, FundRow, LineRule, LineSplit, Payer, Posting};

use crate::array_rows::ColumnArrays;
use crate::columns::{self, corrupt, KeyedRow};
use crate::sql::{placeholders, rows_per_insert, Placeholders};
use crate::{
    EntryKind, FeeLine, LedgerError, LineRow, LiveLine, SetlAmounts, SettlementHeader,
    SettlementRecord, StoredFundRow, StoredSplit, Visit, VisitKind, VisitStatus,
};

/// A message that changed state, with the reply it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub fixmedins_code: String,
    pub msgid: String,
    pub infno: String,
    /// The `setl_id` or `mdtrt_id` the message created or changed (what a 2601 reverses).
    pub effect_ref: String,
    /// The reply envelope as sent, JSON text.
    pub reply: String,
    pub created_at: String,
    /// Digest of the request that produced the reply (empty for messages stored before it was kept).
    pub request_digest: String,
}

/// A reply envelope as stored (`messages.reply_packed`, `migrations/0026_message_reply_packed.sql`):
/// its text compressed in the raw Snappy format; `None` for a text too long for Snappy (4 GiB),
/// which is then stored as text in `reply`.
pub(crate) fn pack_reply(reply: &str) -> Option<Vec<u8>> {
    snap::raw::Encoder::new()
        .compress_vec(reply.as_bytes())
        .ok()
}

/// The reply text of a stored `reply_packed`; a value that is not Snappy or not UTF-8 is
/// [`LedgerError::Corrupt`].
fn unpack_reply(packed: &[u8]) -> Result<String, LedgerError> {
    let corrupt = |detail: String| LedgerError::Corrupt {
        table: "messages",
        column: "reply_packed",
        detail,
    };
    let bytes = snap::raw::Decoder::new()
        .decompress_vec(packed)
        .map_err(|e| corrupt(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| corrupt(e.to_string()))
}

/// The stored message `msgid` of an institution.
pub async fn stored_message(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
    msgid: &str,
) -> Result<Option<StoredMessage>, LedgerError> {
    let sql =
        format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE fixmedins_code = $1 AND msgid = $2");
    let row = sqlx::query(&sql)
        .bind(fixmedins_code.to_string())
        .bind(msgid.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(message_of).transpose()
}

/// The stored messages among `keys` (`(fixmedins_code, msgid)` pairs), in one query per chunk.
pub async fn stored_messages(
    conn: &mut AnyConnection,
    keys: &[(String, String)],
) -> Result<Vec<StoredMessage>, LedgerError> {
    let mut found = Vec::new();
    let style = Placeholders::for_connection(conn);
    if style == Placeholders::Numbered && !keys.is_empty() {
        // PostgreSQL: the keys as two arrays, so the query's text is the same for every batch and
        // stays prepared.
        let mut arrays = ColumnArrays::new(2);
        for (code, msgid) in keys {
            arrays.push(code);
            arrays.push(msgid);
            arrays.end_row();
        }
        let query = arrays
            .into_literals()
            .fold(sqlx::query(STORED_MESSAGES_BY_ARRAYS), |query, literal| {
                query.bind(literal)
            });
        for row in query.fetch_all(&mut *conn).await? {
            found.push(message_of(&row)?);
        }
        return Ok(found);
    }
    for chunk in keys.chunks(rows_per_insert(2)) {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE (fixmedins_code, msgid) IN (VALUES {})",
            placeholders(style, chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for (code, msgid) in chunk {
            query = query.bind(code.clone()).bind(msgid.clone());
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.push(message_of(&row)?);
        }
    }
    Ok(found)
}

/// The stored messages whose `(fixmedins_code, msgid)` are in two arrays (PostgreSQL).
const STORED_MESSAGES_BY_ARRAYS: &str = "SELECT fixmedins_code, msgid, infno, effect_ref, reply, \
     reply_packed, created_at, request_digest FROM messages \
     WHERE (fixmedins_code, msgid) IN (SELECT * FROM unnest($1::text[], $2::text[]))";

/// The columns of a stored message as [`message_of`] reads them.
const MESSAGE_COLUMNS: &str =
    "fixmedins_code, msgid, infno, effect_ref, reply, reply_packed, created_at, request_digest";

fn message_of(r: &AnyRow) -> Result<StoredMessage, LedgerError> {
    let packed: Option<Vec<u8>> = r.try_get("reply_packed")?;
    let reply = match packed {
        Some(packed) => unpack_reply(&packed)?,
        None => r.try_get("reply")?,
    };
    Ok(StoredMessage {
        fixmedins_code: r.try_get("fixmedins_code")?,
        msgid: r.try_get("msgid")?,
        infno: r.try_get("infno")?,
        effect_ref: r.try_get("effect_ref")?,
        reply,
        created_at: r.try_get("created_at")?,
        request_digest: r.try_get("request_digest")?,
    })
}

/// One visit.
pub async fn visit(conn: &mut AnyConnection, mdtrt_id: &str) -> Result<Option<Visit>, LedgerError> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1");
    let row = sqlx::query(&sql)
        .bind(mdtrt_id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(visit_of).transpose()
}

/// The columns of a visit as [`visit_of`] reads them.
pub(crate) const VISIT_COLUMNS: &str =
    "mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, \
    begntime, endtime, status, ipt_otp_no, mdtrt_cert_type, dise_codg, refl_flag, info";

/// A visit read with [`VISIT_COLUMNS`]: every code, flag and time parsed once; a value that does
/// not parse is [`LedgerError::Corrupt`] naming the column and the visit's `mdtrt_id`.
pub(crate) fn visit_of(row: &AnyRow) -> Result<Visit, LedgerError> {
    const TABLE: &str = "visits";
    let stored = KeyedRow::new(row, TABLE, "mdtrt_id")?;
    let info: serde_json::Value = parse_json(TABLE, "info", &row.try_get::<String, _>("info")?)?;
    // Rows stored before the facts had columns keep them in `info` only.
    let fact = |column: &'static str| -> Result<String, LedgerError> {
        let text: String = row.try_get(column)?;
        Ok(if text.is_empty() {
            info.get(column)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_string()
        } else {
            text
        })
    };
    let refl_flag = fact("refl_flag")?;
    let mdtrt_cert_type = fact("mdtrt_cert_type")?;
    Ok(Visit {
        mdtrt_id: row.try_get("mdtrt_id")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        psn_no: row.try_get("psn_no")?,
        insutype: stored.parsed("insutype", columns::table_code(Insutype::from_code))?,
        kind: stored.parsed("kind", VisitKind::parse)?,
        med_type: stored.parsed("med_type", columns::table_code(MedType::from_code))?,
        begntime: stored.parsed("begntime", columns::parse_time)?,
        endtime: stored.parsed("endtime", columns::parse_optional_time)?,
        status: stored.parsed("status", VisitStatus::parse)?,
        ipt_otp_no: row.try_get("ipt_otp_no")?,
        mdtrt_cert_type: stored.checked(
            "mdtrt_cert_type",
            &mdtrt_cert_type,
            columns::parse_code,
        )?,
        dise_codg: fact("dise_codg")?,
        referred: stored.checked("refl_flag", &refl_flag, columns::parse_optional_flag)?,
        info,
    })
}

/// The columns of a fee line as [`fee_line_of`] reads them (`f`: `fee_lines`, `e`: its upload
/// event).
pub(crate) const FEE_LINE_COLUMNS: &str = "f.mdtrt_id, f.upload_seq, f.event_seq, f.feedetl_sn, \
    f.chrg_bchno, f.init_feedetl_sn, f.det_item_fee_sumamt, f.line, f.result, f.med_list_codg, f.cnt_e4, \
    f.pric_micro_yuan, f.hosp_appr_flag, f.split_rule, f.fulamt_ownpay_amt, f.overlmt_amt, f.preselfpay_amt, \
    f.inscp_scp_amt, f.remote_extra_preselfpay, f.selfpay_prop_bp, f.pric_uplmt_micro_yuan, f.chrgitm_lv, \
    f.med_chrgitm_type, f.lmt_used_flag, f.flat, e.split_basis";

/// The fee lines of a visit uploaded and not cancelled, in upload order, each with the live
/// settlement that consumed it (derived from the lines of the visit's settlements not cancelled).
pub async fn live_fee_lines(
    conn: &mut AnyConnection,
    mdtrt_id: &str,
) -> Result<Vec<LiveLine>, LedgerError> {
    let sql = format!(
        "SELECT {FEE_LINE_COLUMNS} FROM fee_lines f LEFT JOIN fee_line_events e ON e.event_seq = f.event_seq \
         WHERE f.mdtrt_id = $1 AND NOT EXISTS (SELECT 1 FROM fee_line_cancels c \
         WHERE c.mdtrt_id = f.mdtrt_id AND c.upload_seq = f.upload_seq) ORDER BY f.upload_seq"
    );
    let rows = sqlx::query(&sql)
        .bind(mdtrt_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let consumed = consumed_lines(conn, mdtrt_id).await?;
    rows.iter()
        .map(|row| {
            let line = fee_line_of(row)?;
            Ok(LiveLine {
                setl_id: consumed.get(&line.feedetl_sn).cloned(),
                line: Arc::new(line),
            })
        })
        .collect()
}

/// `feedetl_sn` → `setl_id` of the lines the visit's live settlements consumed. A line consumed by
/// a live settlement cannot be cancelled, so its `feedetl_sn` names exactly one live line.
async fn consumed_lines(
    conn: &mut AnyConnection,
    mdtrt_id: &str,
) -> Result<HashMap<String, Arc<str>>, LedgerError> {
    let rows = sqlx::query(
        "SELECT l.setl_id, l.feedetl_sn FROM settlement_lines l JOIN settlements s ON s.setl_id = l.setl_id \
         WHERE s.mdtrt_id = $1 AND s.kind = 'settle' \
         AND NOT EXISTS (SELECT 1 FROM settlements c WHERE c.orig_setl_id = s.setl_id)",
    )
    .bind(mdtrt_id.to_string())
    .fetch_all(conn)
    .await?;
    let mut ids: HashMap<String, Arc<str>> = HashMap::new();
    let mut consumed = HashMap::with_capacity(rows.len());
    for row in &rows {
        let setl_id: String = row.try_get("setl_id")?;
        let shared = ids
            .entry(setl_id)
            .or_insert_with_key(|id| Arc::from(id.as_str()));
        consumed.insert(row.try_get("feedetl_sn")?, Arc::clone(shared));
    }
    Ok(consumed)
}

/// A fee line read with [`FEE_LINE_COLUMNS`].
pub(crate) fn fee_line_of(row: &AnyRow) -> Result<FeeLine, LedgerError> {
    let amount = Fen(row.try_get("det_item_fee_sumamt")?);
    let rule: Option<String> = row.try_get("split_rule")?;
    Ok(FeeLine {
        mdtrt_id: row.try_get("mdtrt_id")?,
        feedetl_sn: row.try_get("feedetl_sn")?,
        upload_seq: row.try_get("upload_seq")?,
        event_seq: row.try_get("event_seq")?,
        chrg_bchno: row.try_get("chrg_bchno")?,
        init_feedetl_sn: row.try_get("init_feedetl_sn")?,
        det_item_fee_sumamt: amount,
        line: row.try_get("line")?,
        result: row.try_get("result")?,
        split: rule.map(|rule| stored_split_of(row, &rule)).transpose()?,
    })
}

/// The split stored with a fee line (its `line` index is not stored: 0).
fn stored_split_of(row: &AnyRow, rule: &str) -> Result<StoredSplit, LedgerError> {
    let fen = |column: &str| -> Result<Fen, LedgerError> { Ok(Fen(row.try_get(column)?)) };
    let flag =
        |column: &str| -> Result<bool, LedgerError> { Ok(row.try_get::<i64, _>(column)? != 0) };
    let bp: i64 = row.try_get("selfpay_prop_bp")?;
    let basis: Option<String> = row.try_get("split_basis")?;
    let amounts = line_amounts_of(row)?;
    Ok(StoredSplit {
        basis: Arc::from(basis.unwrap_or_default()),
        fee: yibao_settlement::FeeLine {
            med_list_codg: row.try_get("med_list_codg")?,
            cnt_e4: row.try_get("cnt_e4")?,
            pric_micro_yuan: row.try_get("pric_micro_yuan")?,
            amount: amounts.det_item_fee_sumamt,
            hosp_appr_flag: code_of(row, "hosp_appr_flag")?
                .ok_or_else(|| corrupt("fee_lines", "hosp_appr_flag", "NULL"))?,
        },
        split: LineSplit {
            line: 0,
            rule: LineRule::from_code(rule)
                .ok_or_else(|| corrupt("fee_lines", "split_rule", rule))?,
            amounts,
            remote_extra_preselfpay: fen("remote_extra_preselfpay")?,
            selfpay_prop: Ratio::from_bp_checked(bp)
                .map_err(|e| corrupt("fee_lines", "selfpay_prop_bp", &e.to_string()))?,
            price_cap_micro_yuan: row.try_get("pric_uplmt_micro_yuan")?,
            chrgitm_lv: code_of(row, "chrgitm_lv")?.map(ChrgitmLv::from_code),
            med_chrgitm_type: code_of(row, "med_chrgitm_type")?.map(MedChrgitmType::from_code),
            restricted_use: flag("lmt_used_flag")?,
            flat: flag("flat")?,
        },
    })
}

/// A nullable code column of `fee_lines`.
fn code_of(row: &AnyRow, column: &'static str) -> Result<Option<Code>, LedgerError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| Code::new(&text).map_err(|_| corrupt("fee_lines", column, &text)))
        .transpose()
}

pub(crate) const HEADER_COLUMNS: &[&str] = &[
    "setl_id",
    "seq",
    "kind",
    "orig_setl_id",
    "infno",
    "msgid",
    "fixmedins_code",
    "mdtrt_id",
    "psn_no",
    "insutype",
    "year",
    "med_type",
    "mid_setl_flag",
    "setl_time",
    "clr_type",
    "clr_way",
    "clr_optins",
    "balc",
    "mdtrtarea_admvs",
];

pub(crate) fn settlement_columns() -> String {
    HEADER_COLUMNS
        .iter()
        .chain(SetlAmounts::COLUMNS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// The accumulator totals of a person, insurance type and year, one posting per key.
pub async fn year_to_date(
    conn: &mut AnyConnection,
    psn_no: &str,
    insutype: &str,
    year: i64,
) -> Result<Vec<Posting>, LedgerError> {
    let rows = sqlx::query(
        "SELECT acc_key, amount FROM acc_totals WHERE psn_no = $1 AND insutype = $2 AND year = $3 ORDER BY acc_key",
    )
    .bind(psn_no.to_string())
    .bind(insutype.to_string())
    .bind(year)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| posting_of(r, "acc_totals")).collect()
}

/// A stored posting or accumulator total (`acc_key`, `amount`), its key parsed.
pub(crate) fn posting_of(row: &AnyRow, table: &'static str) -> Result<Posting, LedgerError> {
    Ok(Posting {
        key: acc_key_of(row, table)?,
        amount: row.try_get("amount")?,
    })
}

/// The `acc_key` column of a row, parsed as the engine's accumulator key.
fn acc_key_of(row: &AnyRow, table: &'static str) -> Result<AccKey, LedgerError> {
    let text: String = row.try_get("acc_key")?;
    text.parse().map_err(|_| corrupt(table, "acc_key", &text))
}

/// One accumulator total row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccTotal {
    pub psn_no: String,
    pub insutype: String,
    pub year: i64,
    pub acc_key: AccKey,
    pub amount: i64,
}

/// Every accumulator total of a person in a year (all insurance types).
pub async fn person_totals(
    conn: &mut AnyConnection,
    psn_no: &str,
    year: i64,
) -> Result<Vec<AccTotal>, LedgerError> {
    let rows = sqlx::query(
        "SELECT psn_no, insutype, year, acc_key, amount FROM acc_totals WHERE psn_no = $1 AND year = $2 \
         ORDER BY insutype, acc_key",
    )
    .bind(psn_no.to_string())
    .bind(year)
    .fetch_all(conn)
    .await?;
    rows.iter().map(acc_total_of).collect()
}

pub(crate) fn acc_total_of(row: &AnyRow) -> Result<AccTotal, LedgerError> {
    Ok(AccTotal {
        psn_no: row.try_get("psn_no")?,
        insutype: row.try_get("insutype")?,
        year: row.try_get("year")?,
        acc_key: acc_key_of(row, "acc_totals")?,
        amount: row.try_get("amount")?,
    })
}

/// Net personal-account payments of a person and insurance type over the whole ledger.
pub async fn account_paid(
    conn: &mut AnyConnection,
    psn_no: &str,
    insutype: &str,
) -> Result<Fen, LedgerError> {
    let row = sqlx::query("SELECT paid FROM account_totals WHERE psn_no = $1 AND insutype = $2")
        .bind(psn_no.to_string())
        .bind(insutype.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(Fen(row
        .map(|r| r.try_get("paid"))
        .transpose()?
        .unwrap_or(0)))
}

/// Net personal-account payments of a person per insurance type.
pub async fn account_paid_by_insutype(
    conn: &mut AnyConnection,
    psn_no: &str,
) -> Result<Vec<(String, Fen)>, LedgerError> {
    let rows = sqlx::query("SELECT insutype, paid FROM account_totals WHERE psn_no = $1")
        .bind(psn_no.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("insutype")?, Fen(r.try_get("paid")?))))
        .collect()
}

/// Sums over ledger entries (cancellations count negatively, amounts are already negated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryTotals {
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    pub psn_cash_pay: Fen,
    /// Settlements less cancellations.
    pub net_count: i64,
}

/// Totals of the entries matching a filter (one aggregate query).
pub async fn entry_totals(
    conn: &mut AnyConnection,
    filter: &EntryFilter,
) -> Result<EntryTotals, LedgerError> {
    let (clause, binds) = filter.where_clause();
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT) AS medfee, \
         CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT) AS fund, CAST(COALESCE(SUM(acct_pay), 0) AS BIGINT) AS acct, \
         CAST(COALESCE(SUM(psn_cash_pay), 0) AS BIGINT) AS cash, \
         CAST(COALESCE(SUM(CASE WHEN kind = 'settle' THEN 1 ELSE -1 END), 0) AS BIGINT) AS n FROM settlements{clause}"
    );
    let mut query = sqlx::query(&sql);
    for value in binds {
        query = query.bind(value);
    }
    let row = query.fetch_one(conn).await?;
    Ok(EntryTotals {
        medfee_sumamt: Fen(row.try_get("medfee")?),
        fund_pay_sumamt: Fen(row.try_get("fund")?),
        acct_pay: Fen(row.try_get("acct")?),
        psn_cash_pay: Fen(row.try_get("cash")?),
        net_count: row.try_get("n")?,
    })
}

/// Reads a stored settlement header: every code, flag and time parsed once; a value that does not
/// parse is [`LedgerError::Corrupt`] naming the column and the entry's `setl_id`.
pub(crate) fn header_of(row: &AnyRow) -> Result<SettlementHeader, LedgerError> {
    let stored = KeyedRow::new(row, "settlements", "setl_id")?;
    Ok(SettlementHeader {
        setl_id: row.try_get("setl_id")?,
        kind: stored.parsed("kind", EntryKind::parse)?,
        orig_setl_id: row
            .try_get::<Option<String>, _>("orig_setl_id")?
            .filter(|id| !id.is_empty()),
        infno: stored.parsed("infno", columns::parse_required_code)?,
        msgid: row.try_get("msgid")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        mdtrt_id: row.try_get("mdtrt_id")?,
        psn_no: row.try_get("psn_no")?,
        insutype: stored.parsed("insutype", columns::table_code(Insutype::from_code))?,
        year: row.try_get("year")?,
        med_type: stored.parsed("med_type", columns::table_code(MedType::from_code))?,
        mid_setl_flag: stored.parsed("mid_setl_flag", columns::parse_flag)?,
        setl_time: stored.parsed("setl_time", columns::parse_time)?,
        clr_type: stored.parsed("clr_type", columns::table_code(ClrType::from_code))?,
        clr_way: stored.parsed("clr_way", columns::table_code(ClrWay::from_code))?,
        clr_optins: stored.parsed("clr_optins", columns::parse_code)?,
        mdtrtarea_admvs: stored.parsed("mdtrtarea_admvs", columns::parse_code)?,
        balc: Fen(row.try_get("balc")?),
    })
}

/// A ledger entry without its detail rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    pub header: SettlementHeader,
    pub amounts: SetlAmounts,
}

pub(crate) fn summary_of(row: &AnyRow) -> Result<EntrySummary, LedgerError> {
    let header = header_of(row)?;
    let values = SetlAmounts::COLUMNS
        .iter()
        .map(|c| row.try_get::<i64, _>(*c).map(Fen))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EntrySummary {
        header,
        amounts: SetlAmounts::from_values(&values),
    })
}

/// Filter for listing ledger entries.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub fixmedins_code: Option<String>,
    pub psn_no: Option<String>,
    pub mdtrt_id: Option<String>,
    pub setl_id: Option<String>,
    /// Inclusive lower bound on `setl_time` (`yyyy-MM-dd HH:mm:ss` text).
    pub setl_time_from: Option<String>,
    /// Inclusive upper bound on `setl_time`.
    pub setl_time_to: Option<String>,
    pub insutype: Option<String>,
    pub clr_type: Option<String>,
    pub clr_optins: Option<String>,
    /// At most this many entries (all without it).
    pub limit: Option<u32>,
    /// Skip this many entries first (with `limit`: paging in ledger order).
    pub offset: Option<u32>,
}

impl EntryFilter {
    fn where_clause(&self) -> (String, Vec<String>) {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        let fields = [
            ("fixmedins_code = ", &self.fixmedins_code),
            ("psn_no = ", &self.psn_no),
            ("mdtrt_id = ", &self.mdtrt_id),
            ("setl_id = ", &self.setl_id),
            ("setl_time >= ", &self.setl_time_from),
            ("setl_time <= ", &self.setl_time_to),
            ("insutype = ", &self.insutype),
            ("clr_type = ", &self.clr_type),
            ("clr_optins = ", &self.clr_optins),
        ];
        for (condition, value) in fields {
            if let Some(value) = value {
                binds.push(value.clone());
                conditions.push(format!("{condition}${}", binds.len()));
            }
        }
        let clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        (clause, binds)
    }
}

/// Ledger entries matching a filter, in ledger order.
pub async fn entries(
    conn: &mut AnyConnection,
    filter: &EntryFilter,
) -> Result<Vec<EntrySummary>, LedgerError> {
    let (clause, binds) = filter.where_clause();
    let mut sql = format!(
        "SELECT {} FROM settlements{clause} ORDER BY seq",
        settlement_columns()
    );
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(
            " LIMIT {limit} OFFSET {}",
            filter.offset.unwrap_or(0)
        ));
    }
    let mut query = sqlx::query(&sql);
    for value in binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(summary_of).collect()
}

/// The mirrors (cancellations, or reinstatements of cancellations) of the given entries:
/// `orig_setl_id` → the mirror's `setl_id`, in one query per chunk.
pub async fn mirrors_of(
    conn: &mut AnyConnection,
    setl_ids: &[String],
) -> Result<HashMap<String, String>, LedgerError> {
    let mut mirrors = HashMap::new();
    let style = Placeholders::for_connection(conn);
    for chunk in setl_ids.chunks(rows_per_insert(1)) {
        let sql = format!(
            "SELECT setl_id, orig_setl_id FROM settlements WHERE orig_setl_id IN ({})",
            placeholders(style, chunk.len(), 1).replace(['(', ')'], "")
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for setl_id in chunk {
            query = query.bind(setl_id.clone());
        }
        for row in query.fetch_all(&mut *conn).await? {
            mirrors.insert(row.try_get("orig_setl_id")?, row.try_get("setl_id")?);
        }
    }
    Ok(mirrors)
}

/// One complete ledger entry.
pub async fn settlement(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Option<SettlementRecord>, LedgerError> {
    let filter = EntryFilter {
        setl_id: Some(setl_id.to_string()),
        ..EntryFilter::default()
    };
    let Some(summary) = entries(conn, &filter).await?.into_iter().next() else {
        return Ok(None);
    };
    let funds = funds_of(conn, setl_id).await?;
    let lines = lines_of(conn, setl_id).await?;
    let postings = postings_of(conn, setl_id).await?;
    Ok(Some(SettlementRecord {
        header: summary.header,
        amounts: summary.amounts,
        funds,
        lines,
        postings,
    }))
}

/// The `setldetail` rows of an entry, in order.
pub async fn funds_of(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Vec<StoredFundRow>, LedgerError> {
    let rows = sqlx::query(
        "SELECT setl_id, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, \
         setl_proc_info FROM settlement_funds WHERE setl_id = $1 ORDER BY row_no",
    )
    .bind(setl_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(fund_of).collect()
}

/// A stored `setldetail` row, its fund code and payer parsed.
pub(crate) fn fund_of(row: &AnyRow) -> Result<StoredFundRow, LedgerError> {
    const TABLE: &str = "settlement_funds";
    let fund: String = row.try_get("fund_pay_type")?;
    let payer: String = row.try_get("payer_class")?;
    Ok(StoredFundRow {
        row: FundRow {
            fund_pay_type: Code::new(&fund)
                .ok()
                .filter(|code| !code.is_empty())
                .ok_or_else(|| corrupt(TABLE, "fund_pay_type", &fund))?,
            payer: Payer::from_code(&payer).ok_or_else(|| corrupt(TABLE, "payer_class", &payer))?,
            inscp_scp_amt: Fen(row.try_get("inscp_scp_amt")?),
            crt_payb_lmt_amt: row.try_get::<Option<i64>, _>("crt_payb_lmt_amt")?.map(Fen),
            fund_payamt: Fen(row.try_get("fund_payamt")?),
        },
        fund_pay_type_name: row.try_get("fund_pay_type_name")?,
        setl_proc_info: row.try_get("setl_proc_info")?,
    })
}

/// The line splits of an entry, ordered by `feedetl_sn`.
pub async fn lines_of(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Vec<LineRow>, LedgerError> {
    let rows = sqlx::query(
        "SELECT setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt \
         FROM settlement_lines WHERE setl_id = $1 ORDER BY feedetl_sn",
    )
    .bind(setl_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(line_of).collect()
}

pub(crate) fn line_of(row: &AnyRow) -> Result<LineRow, LedgerError> {
    Ok(LineRow {
        feedetl_sn: row.try_get("feedetl_sn")?,
        amounts: line_amounts_of(row)?,
    })
}

/// A line's five amount columns (`det_item_fee_sumamt` and its four parts), as `settlement_lines`
/// and `fee_lines` both name them.
pub(crate) fn line_amounts_of(row: &AnyRow) -> Result<LineAmounts, LedgerError> {
    let fen = |column: &str| -> Result<Fen, LedgerError> { Ok(Fen(row.try_get(column)?)) };
    Ok(LineAmounts {
        det_item_fee_sumamt: fen("det_item_fee_sumamt")?,
        fulamt_ownpay_amt: fen("fulamt_ownpay_amt")?,
        overlmt_amt: fen("overlmt_amt")?,
        preselfpay_amt: fen("preselfpay_amt")?,
        inscp_scp_amt: fen("inscp_scp_amt")?,
    })
}

/// The postings of an entry, ordered by key.
pub async fn postings_of(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Vec<Posting>, LedgerError> {
    let rows = sqlx::query(
        "SELECT setl_id, acc_key, amount FROM postings WHERE setl_id = $1 ORDER BY acc_key",
    )
    .bind(setl_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| posting_of(r, "postings")).collect()
}

/// The cancellation of `setl_id`, if one exists.
pub async fn cancellation_of(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Option<String>, LedgerError> {
    mirror_of(conn, setl_id, EntryKind::Cancel).await
}

/// The reinstatement of the cancellation `setl_id` (a 2601 冲正 of a 2208/2305/2103), if one exists.
pub async fn reinstatement_of(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Option<String>, LedgerError> {
    mirror_of(conn, setl_id, EntryKind::Settle).await
}

/// The entry of `kind` whose `orig_setl_id` is `setl_id`.
async fn mirror_of(
    conn: &mut AnyConnection,
    setl_id: &str,
    kind: EntryKind,
) -> Result<Option<String>, LedgerError> {
    let row = sqlx::query("SELECT setl_id FROM settlements WHERE orig_setl_id = $1 AND kind = $2")
        .bind(setl_id.to_string())
        .bind(kind.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("setl_id").map_err(LedgerError::from))
        .transpose()
}

/// The `setl_id` of a person's latest ledger entry under an insurance type.
pub async fn latest_entry_of(
    conn: &mut AnyConnection,
    psn_no: &str,
    insutype: &str,
) -> Result<Option<String>, LedgerError> {
    let row = sqlx::query(
        "SELECT setl_id FROM settlements WHERE psn_no = $1 AND insutype = $2 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(psn_no.to_string())
    .bind(insutype.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("setl_id").map_err(LedgerError::from))
        .transpose()
}

/// Number of ledger entries (settlements and cancellations).
pub async fn entry_count(conn: &mut AnyConnection) -> Result<i64, LedgerError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM settlements")
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("n")?)
}

fn parse_json(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<serde_json::Value, LedgerError> {
    serde_json::from_str(text).map_err(|e| LedgerError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}
