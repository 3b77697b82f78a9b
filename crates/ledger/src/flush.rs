//! The SQL of the writer's flush: every pending write of a batch as a few multi-row statements (one per
//! table and bind-parameter chunk), never one statement per record.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Encode, Type};
use yibao_domain::Fen;

use crate::array_rows::{ArrayElement, ColumnArrays};
use crate::columns;
use crate::entries::{pack_reply, settlement_columns, StoredMessage, HEADER_COLUMNS};
use crate::peers::IntentRow;
use crate::sql::{placeholders_from, rows_per_insert, Placeholders};
use yibao_settlement::{AccKey, LineSplit};

use crate::{
    FeeLine, FeeLineEvent, LedgerError, LineCancel, LineRow, SetlAmounts, SettlementRecord,
    StoredFundRow, StoredSplit, Visit,
};

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;
type Binder<'a> = Box<dyn for<'b, 'q> FnOnce(Binds<'b, 'q>) -> Binds<'b, 'q> + Send + 'a>;

/// Where a statement's values go as its rows are bound: the query's parameters, one per value
/// (SQLite), or one array per column for `unnest` (PostgreSQL, [`ColumnArrays`]).
pub(crate) enum Binds<'b, 'q> {
    Query(&'b mut AnyQuery<'q>),
    Arrays(&'b mut ColumnArrays),
}

impl<'q> Binds<'_, 'q> {
    /// Binds the next value of the current row.
    pub(crate) fn bind<T>(self, value: T) -> Self
    where
        T: 'q + Encode<'q, Any> + Type<Any> + ArrayElement,
    {
        match self {
            Binds::Query(query) => {
                let unbound = std::mem::replace(query, sqlx::query(""));
                *query = unbound.bind(value);
                Binds::Query(query)
            }
            Binds::Arrays(arrays) => {
                arrays.push(&value);
                Binds::Arrays(arrays)
            }
        }
    }

    /// Ends the current row.
    fn end_row(mut self) -> Self {
        if let Binds::Arrays(arrays) = &mut self {
            arrays.end_row();
        }
        self
    }
}

/// The statements of one flush. On SQLite they run as one multi-statement query, whose positional
/// parameters are consumed in order across the statements, so a whole flush is one round trip to the
/// database thread. PostgreSQL does not take several statements with parameters in one query, so
/// there they run as one statement of data-modifying `WITH` queries (the rows of a flush never meet
/// each other: every key is written once), each inserting its rows from one array per column
/// (`unnest`, [`crate::array_rows`]): one round trip, one parameter per column, and a text that
/// depends only on which tables the flush writes, so it is prepared once per connection.
pub(crate) struct Script<'a> {
    style: Placeholders,
    statements: Vec<Statement<'a>>,
}

/// One statement of a script: `head VALUES (…),(…) tail` for `rows` rows of `cols` parameters
/// (SQLite), `head SELECT * FROM unnest(…) tail` (PostgreSQL), or `head` alone when `rows` is 0.
struct Statement<'a> {
    head: String,
    tail: &'a str,
    rows: usize,
    cols: usize,
    bind: Binder<'a>,
}

impl Statement<'_> {
    /// Its SQL text with positional parameters (SQLite).
    fn positional_sql(&self) -> String {
        if self.rows == 0 {
            return self.head.clone();
        }
        format!(
            "{} VALUES {}{}",
            self.head,
            placeholders_from(Placeholders::Positional, 0, self.rows, self.cols),
            self.tail
        )
    }

    /// Its SQL text inserting from column arrays numbered from `$(offset + 1)`, and the arrays'
    /// literals (PostgreSQL).
    fn unnest_sql(self, offset: usize) -> (String, Vec<String>) {
        if self.rows == 0 {
            return (self.head, Vec::new());
        }
        let mut arrays = ColumnArrays::new(self.cols);
        let _ = (self.bind)(Binds::Arrays(&mut arrays));
        let sql = format!(
            "{} SELECT * FROM {}{}",
            self.head,
            arrays.unnest_sql(offset),
            self.tail
        );
        (sql, arrays.into_literals().collect())
    }
}

impl<'a> Script<'a> {
    /// An empty script for `conn`'s backend.
    pub(crate) fn new(conn: &AnyConnection) -> Script<'a> {
        Script {
            style: Placeholders::for_connection(conn),
            statements: Vec::new(),
        }
    }

    /// Whether the script runs as one multi-statement query (SQLite).
    pub(crate) fn is_single_query(&self) -> bool {
        self.style == Placeholders::Positional
    }

    /// Adds a statement without parameters.
    pub(crate) fn statement(&mut self, sql: &str) {
        self.statements.push(Statement {
            head: sql.to_string(),
            tail: "",
            rows: 0,
            cols: 0,
            bind: Box::new(|binds| binds),
        });
    }

    /// Adds the insert of `rows` with `cols` values each: on SQLite `head VALUES (…),(…) tail`
    /// statements, one per [`rows_per_insert`] rows; on PostgreSQL one statement inserting from
    /// column arrays, whatever the number of rows.
    fn rows<T: Sync>(
        &mut self,
        head: &str,
        tail: &'a str,
        cols: usize,
        rows: &'a [T],
        bind: for<'b, 'q> fn(Binds<'b, 'q>, &T) -> Binds<'b, 'q>,
    ) {
        let per_statement = if self.is_single_query() {
            rows_per_insert(cols)
        } else {
            rows.len().max(1)
        };
        for chunk in rows.chunks(per_statement) {
            self.statements.push(Statement {
                head: head.to_string(),
                tail,
                rows: chunk.len(),
                cols,
                bind: Box::new(move |binds| {
                    chunk
                        .iter()
                        .fold(binds, |binds, row| bind(binds, row).end_row())
                }),
            });
        }
    }

    /// Runs the statements on `conn`. On SQLite their shapes vary with the batch, so they are
    /// prepared for the one use rather than kept in the connection's statement cache (where they
    /// would evict the rest); on PostgreSQL the text is the same for every flush that writes the
    /// same tables, and is kept prepared.
    pub(crate) async fn run(self, conn: &mut AnyConnection) -> Result<(), LedgerError> {
        if self.statements.is_empty() {
            return Ok(());
        }
        if self.style == Placeholders::Positional {
            let sql = self
                .statements
                .iter()
                .map(Statement::positional_sql)
                .collect::<Vec<_>>()
                .join(";\n");
            let mut query = sqlx::query(&sql).persistent(false);
            for statement in self.statements {
                let _ = (statement.bind)(Binds::Query(&mut query));
            }
            query.execute(&mut *conn).await?;
            return Ok(());
        }
        run_with(conn, self.statements).await
    }
}

/// Runs PostgreSQL statements as one: every statement but the last a data-modifying `WITH` query.
async fn run_with(conn: &mut AnyConnection, group: Vec<Statement<'_>>) -> Result<(), LedgerError> {
    let mut sql = String::new();
    let mut literals = Vec::new();
    let last = group.len() - 1;
    for (i, statement) in group.into_iter().enumerate() {
        let (text, arrays) = statement.unnest_sql(literals.len());
        literals.extend(arrays);
        if i == last {
            if i > 0 {
                sql.push(' ');
            }
            sql.push_str(&text);
        } else {
            let _ = write!(
                sql,
                "{}w{i} AS ({text})",
                if i == 0 { "WITH " } else { ", " }
            );
        }
    }
    let query = literals
        .into_iter()
        .fold(sqlx::query(&sql), |query, literal| query.bind(literal));
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Writes the current state of visits (new or changed).
pub(crate) fn upsert_visits<'a>(script: &mut Script<'a>, visits: &'a [Visit]) {
    script.rows(
        "INSERT INTO visits (mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, begntime, endtime, status, \
         ipt_otp_no, mdtrt_cert_type, dise_codg, refl_flag, info)",
        " ON CONFLICT (mdtrt_id) DO UPDATE SET med_type = excluded.med_type, begntime = excluded.begntime, \
         endtime = excluded.endtime, status = excluded.status, mdtrt_cert_type = excluded.mdtrt_cert_type, \
         dise_codg = excluded.dise_codg, refl_flag = excluded.refl_flag, info = excluded.info",
        14,
        visits,
        |query, visit| {
            query
                .bind(visit.mdtrt_id.clone())
                .bind(visit.fixmedins_code.clone())
                .bind(visit.psn_no.clone())
                .bind(visit.insutype.to_string())
                .bind(visit.kind.as_str())
                .bind(visit.med_type.to_string())
                .bind(crate::columns::time_text(Some(visit.begntime)))
                .bind(crate::columns::time_text(visit.endtime))
                .bind(visit.status.as_str())
                .bind(visit.ipt_otp_no.clone())
                .bind(visit.mdtrt_cert_type.to_string())
                .bind(visit.dise_codg.clone())
                .bind(if visit.referred { "1" } else { "0" })
                .bind(visit.info.to_string())
        },
    );
}

/// Appends fee-line events (uploads and cancellations).
pub(crate) fn insert_fee_line_events<'a>(script: &mut Script<'a>, events: &'a [FeeLineEvent]) {
    script.rows(
        "INSERT INTO fee_line_events (event_seq, mdtrt_id, kind, infno, msgid, event_time, split_basis)",
        "",
        7,
        events,
        |query, e| {
            query
                .bind(e.event_seq)
                .bind(e.mdtrt_id.clone())
                .bind(e.kind.as_str())
                .bind(e.source.infno.clone())
                .bind(e.source.msgid.clone())
                .bind(e.source.time.clone())
                .bind(e.split_basis.clone())
        },
    );
}

/// Appends uploaded fee lines with their stored splits.
pub(crate) fn insert_fee_lines<'a>(script: &mut Script<'a>, lines: &'a [Arc<FeeLine>]) {
    script.rows(
        "INSERT INTO fee_lines (mdtrt_id, upload_seq, event_seq, feedetl_sn, chrg_bchno, init_feedetl_sn, \
         det_item_fee_sumamt, line, result, med_list_codg, cnt_e4, pric_micro_yuan, hosp_appr_flag, split_rule, \
         fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt, remote_extra_preselfpay, selfpay_prop_bp, \
         pric_uplmt_micro_yuan, chrgitm_lv, med_chrgitm_type, lmt_used_flag, flat)",
        "",
        25,
        lines,
        |query, l| {
            let query = query
                .bind(l.mdtrt_id.clone())
                .bind(l.upload_seq)
                .bind(l.event_seq)
                .bind(l.feedetl_sn.clone())
                .bind(l.chrg_bchno.clone())
                .bind(l.init_feedetl_sn.clone())
                .bind(l.det_item_fee_sumamt.fen())
                .bind(l.line.clone())
                .bind(l.result.clone());
            bind_split(query, l.split.as_ref())
        },
    );
}

/// Binds the 16 split columns of a fee line (NULL without a stored split).
fn bind_split<'b, 'q>(query: Binds<'b, 'q>, stored: Option<&StoredSplit>) -> Binds<'b, 'q> {
    let fee = stored.map(|s| &s.fee);
    let split = stored.map(|s| &s.split);
    let fen = |value: fn(&LineSplit) -> Fen| split.map(|s| value(s).fen());
    query
        .bind(fee.map(|f| f.med_list_codg.clone()))
        .bind(fee.map(|f| f.cnt_e4))
        .bind(fee.map(|f| f.pric_micro_yuan))
        .bind(fee.map(|f| f.hosp_appr_flag.to_string()))
        .bind(split.map(|s| s.rule.code()))
        .bind(fen(|s| s.amounts.fulamt_ownpay_amt))
        .bind(fen(|s| s.amounts.overlmt_amt))
        .bind(fen(|s| s.amounts.preselfpay_amt))
        .bind(fen(|s| s.amounts.inscp_scp_amt))
        .bind(fen(|s| s.remote_extra_preselfpay))
        .bind(split.map(|s| i64::from(s.selfpay_prop.bp())))
        .bind(split.and_then(|s| s.price_cap_micro_yuan))
        .bind(
            split
                .and_then(|s| s.chrgitm_lv)
                .map(|c| c.code().to_string()),
        )
        .bind(
            split
                .and_then(|s| s.med_chrgitm_type)
                .map(|c| c.code().to_string()),
        )
        .bind(split.map(|s| i64::from(s.restricted_use)))
        .bind(split.map(|s| i64::from(s.flat)))
}

/// Records which lines cancellation events cancelled.
pub(crate) fn insert_line_cancels<'a>(script: &mut Script<'a>, cancels: &'a [LineCancel]) {
    script.rows(
        "INSERT INTO fee_line_cancels (mdtrt_id, upload_seq, event_seq)",
        "",
        3,
        cancels,
        |query, c| {
            query
                .bind(c.mdtrt_id.clone())
                .bind(c.upload_seq)
                .bind(c.event_seq)
        },
    );
}

/// One fund row of a ledger entry: `(setl_id, row_no, row)`.
pub(crate) type FundRowRef<'a> = (&'a str, i64, &'a StoredFundRow);
/// One line split of a ledger entry: `(setl_id, split)`.
pub(crate) type LineRowRef<'a> = (&'a str, &'a LineRow);
/// One posting of a ledger entry, summed per key: `(entry, acc_key, amount)`.
pub(crate) type PostingRef<'a> = (&'a SettlementRecord, AccKey, i64);

/// The detail rows of ledger entries, flattened for multi-row inserts.
pub(crate) struct EntryRows<'a> {
    funds: Vec<FundRowRef<'a>>,
    lines: Vec<LineRowRef<'a>>,
    postings: Vec<PostingRef<'a>>,
}

impl<'a> EntryRows<'a> {
    /// The fund rows, line splits and summed postings of `records`.
    pub(crate) fn of(records: &'a [(i64, SettlementRecord)]) -> EntryRows<'a> {
        EntryRows {
            funds: records
                .iter()
                .flat_map(|(_, r)| {
                    let setl_id = r.header.setl_id.as_str();
                    r.funds
                        .iter()
                        .enumerate()
                        .map(move |(row_no, f)| (setl_id, row_no as i64, f))
                })
                .collect(),
            lines: records
                .iter()
                .flat_map(|(_, r)| r.lines.iter().map(|l| (r.header.setl_id.as_str(), l)))
                .collect(),
            postings: records
                .iter()
                .flat_map(|(_, r)| {
                    posting_sums(r)
                        .into_iter()
                        .map(move |(key, amount)| (r, key, amount))
                })
                .collect(),
        }
    }
}

/// Appends ledger entries (headers, fund rows, line splits, postings), each with its ledger sequence.
pub(crate) fn insert_settlements<'a>(
    script: &mut Script<'a>,
    records: &'a [(i64, SettlementRecord)],
    rows: &'a EntryRows<'a>,
    header_head: &'a str,
) {
    insert_headers(script, records, header_head);
    insert_funds(script, &rows.funds);
    insert_lines(script, &rows.lines);
    insert_postings(script, &rows.postings);
}

/// `INSERT INTO settlements (…)`, the head of a header insert.
pub(crate) fn header_insert_head() -> String {
    format!("INSERT INTO settlements ({})", settlement_columns())
}

fn insert_headers<'a>(script: &mut Script<'a>, records: &'a [(i64, SettlementRecord)], head: &str) {
    let cols = HEADER_COLUMNS.len() + SetlAmounts::COLUMNS.len();
    script.rows(head, "", cols, records, |query, (seq, record)| {
        let h = &record.header;
        let mut query = query
            .bind(h.setl_id.clone())
            .bind(*seq)
            .bind(h.kind.as_str())
            .bind(h.orig_setl_id.clone())
            .bind(h.infno.to_string())
            .bind(h.msgid.clone())
            .bind(h.fixmedins_code.clone())
            .bind(h.mdtrt_id.clone())
            .bind(h.psn_no.clone())
            .bind(h.insutype.to_string())
            .bind(h.year)
            .bind(h.med_type.to_string())
            .bind(columns::flag_text(h.mid_setl_flag))
            .bind(h.setl_time_text())
            .bind(h.clr_type.to_string())
            .bind(h.clr_way.to_string())
            .bind(h.clr_optins.to_string())
            .bind(h.balc.fen())
            .bind(h.mdtrtarea_admvs.to_string());
        for value in record.amounts.columns().map(|(_, value)| value) {
            query = query.bind(value.fen());
        }
        query
    });
}

fn insert_funds<'a>(script: &mut Script<'a>, funds: &'a [FundRowRef<'a>]) {
    script.rows(
        "INSERT INTO settlement_funds (setl_id, row_no, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, \
         crt_payb_lmt_amt, fund_payamt, setl_proc_info)",
        "",
        9,
        funds,
        |query, (setl_id, row_no, f)| {
            query
                .bind(setl_id.to_string())
                .bind(*row_no)
                .bind(f.row.fund_pay_type.to_string())
                .bind(f.fund_pay_type_name.clone())
                .bind(f.row.payer.code())
                .bind(f.row.inscp_scp_amt.fen())
                .bind(f.row.crt_payb_lmt_amt.map(Fen::fen))
                .bind(f.row.fund_payamt.fen())
                .bind(f.setl_proc_info.clone())
        },
    );
}

fn insert_lines<'a>(script: &mut Script<'a>, lines: &'a [LineRowRef<'a>]) {
    script.rows(
        "INSERT INTO settlement_lines (setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, \
         preselfpay_amt, inscp_scp_amt)",
        "",
        7,
        lines,
        |query, (setl_id, l)| {
            query
                .bind(setl_id.to_string())
                .bind(l.feedetl_sn.clone())
                .bind(l.amounts.det_item_fee_sumamt.fen())
                .bind(l.amounts.fulamt_ownpay_amt.fen())
                .bind(l.amounts.overlmt_amt.fen())
                .bind(l.amounts.preselfpay_amt.fen())
                .bind(l.amounts.inscp_scp_amt.fen())
        },
    );
}

/// The postings of a record summed per key (the engine may post one key more than once).
pub(crate) fn posting_sums(record: &SettlementRecord) -> BTreeMap<AccKey, i64> {
    let mut sums: BTreeMap<AccKey, i64> = BTreeMap::new();
    for p in &record.postings {
        *sums.entry(p.key).or_default() += p.amount;
    }
    sums
}

fn insert_postings<'a>(script: &mut Script<'a>, postings: &'a [PostingRef<'a>]) {
    script.rows(
        "INSERT INTO postings (setl_id, psn_no, insutype, year, acc_key, amount)",
        "",
        6,
        postings,
        |query, (r, key, amount)| {
            let h = &r.header;
            query
                .bind(h.setl_id.clone())
                .bind(h.psn_no.clone())
                .bind(h.insutype.to_string())
                .bind(h.year)
                .bind(key.to_string())
                .bind(*amount)
        },
    );
}

/// One materialised accumulator total: `(psn_no, insutype, year, acc_key, amount)`.
pub(crate) type AccTotalRow = (String, String, i64, AccKey, i64);

/// Sets accumulator totals to their current values.
pub(crate) fn upsert_acc_totals<'a>(script: &mut Script<'a>, rows: &'a [AccTotalRow]) {
    script.rows(
        "INSERT INTO acc_totals (psn_no, insutype, year, acc_key, amount)",
        " ON CONFLICT (psn_no, insutype, year, acc_key) DO UPDATE SET amount = excluded.amount",
        5,
        rows,
        |query, (psn_no, insutype, year, key, amount)| {
            query
                .bind(psn_no.clone())
                .bind(insutype.clone())
                .bind(*year)
                .bind(key.to_string())
                .bind(*amount)
        },
    );
}

/// Sets net personal-account payments `(psn_no, insutype, paid)` to their current values.
pub(crate) fn upsert_account_totals<'a>(
    script: &mut Script<'a>,
    rows: &'a [(String, String, Fen)],
) {
    script.rows(
        "INSERT INTO account_totals (psn_no, insutype, paid)",
        " ON CONFLICT (psn_no, insutype) DO UPDATE SET paid = excluded.paid",
        3,
        rows,
        |query, (psn_no, insutype, paid)| {
            query
                .bind(psn_no.clone())
                .bind(insutype.clone())
                .bind(paid.fen())
        },
    );
}

/// Sets named counters to their current values.
pub(crate) fn upsert_counters<'a>(script: &mut Script<'a>, rows: &'a [(String, i64)]) {
    script.rows(
        "INSERT INTO id_counters (name, value)",
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        2,
        rows,
        |query, (name, value)| query.bind(name.clone()).bind(*value),
    );
}

/// Stores messages with their replies, each reply compressed in `reply_packed` (`reply` then '').
pub(crate) fn insert_messages<'a>(script: &mut Script<'a>, messages: &'a [StoredMessage]) {
    script.rows(
        "INSERT INTO messages (fixmedins_code, msgid, infno, effect_ref, reply, reply_packed, created_at, \
         request_digest)",
        "",
        8,
        messages,
        |query, m| {
            let packed = pack_reply(&m.reply);
            let text = if packed.is_some() {
                String::new()
            } else {
                m.reply.clone()
            };
            query
                .bind(m.fixmedins_code.clone())
                .bind(m.msgid.clone())
                .bind(m.infno.clone())
                .bind(m.effect_ref.clone())
                .bind(text)
                .bind(packed)
                .bind(m.created_at.clone())
                .bind(m.request_digest.clone())
        },
    );
}

/// Writes intent rows as they stand: a new intent is inserted; a resolution changes the state of
/// a stored intent only while it is pending (an intent resolved already keeps its state).
pub(crate) fn upsert_intents<'a>(script: &mut Script<'a>, rows: &'a [IntentRow]) {
    script.rows(
        &format!(
            "INSERT INTO peer_intents ({}, resolved_at)",
            crate::peers::COLUMNS
        ),
        " ON CONFLICT (peer_key) DO UPDATE SET state = excluded.state, \
         resolved_at = excluded.resolved_at WHERE peer_intents.state = 'pending'",
        11,
        rows,
        |query, row| {
            let i = &row.intent;
            query
                .bind(i.peer_key.clone())
                .bind(i.kind.as_str())
                .bind(i.peer_prefix.clone())
                .bind(i.fixmedins_code.clone())
                .bind(i.msgid.clone())
                .bind(i.mdtrt_id.clone())
                .bind(i.orig_key.clone())
                .bind(i.payload.clone())
                .bind(i.state.as_str())
                .bind(i.created_at.clone())
                .bind(row.resolved_at.clone())
        },
    );
}
