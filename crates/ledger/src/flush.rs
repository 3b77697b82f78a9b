//! The SQL of the writer's flush: every pending write of a batch as a few multi-row statements (one per
//! table and bind-parameter chunk), never one statement per record.

use std::collections::BTreeMap;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};
use yibao_domain::Fen;

use crate::entries::{settlement_columns, StoredMessage, HEADER_COLUMNS};
use crate::sql::{placeholders, rows_per_insert, Placeholders};
use crate::{Amounts, FeeLine, FundRow, LedgerError, LineRow, SettlementRecord, Visit};

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Inserts `rows` with `cols` bind parameters each, as `head VALUES (…),(…) tail`: one statement per
/// [`rows_per_insert`] rows. The statements' shapes vary with the batch, so they are prepared for the
/// one use rather than kept in the connection's statement cache (where they would evict the rest).
async fn insert_rows<T>(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    cols: usize,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &T) -> AnyQuery<'q>,
) -> Result<(), LedgerError> {
    let style = Placeholders::for_connection(conn);
    for chunk in rows.chunks(rows_per_insert(cols)) {
        let sql = format!(
            "{head} VALUES {}{tail}",
            placeholders(style, chunk.len(), cols)
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for row in chunk {
            query = bind(query, row);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes the current state of visits (new or changed).
pub(crate) async fn upsert_visits(
    conn: &mut AnyConnection,
    visits: &[&Visit],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO visits (mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, begntime, endtime, status, \
         ipt_otp_no, info)",
        " ON CONFLICT (mdtrt_id) DO UPDATE SET med_type = excluded.med_type, begntime = excluded.begntime, \
         endtime = excluded.endtime, status = excluded.status, info = excluded.info",
        11,
        visits,
        |query, visit| {
            query
                .bind(visit.mdtrt_id.clone())
                .bind(visit.fixmedins_code.clone())
                .bind(visit.psn_no.clone())
                .bind(visit.insutype.clone())
                .bind(visit.kind.as_str())
                .bind(visit.med_type.clone())
                .bind(visit.begntime.clone())
                .bind(visit.endtime.clone())
                .bind(visit.status.as_str())
                .bind(visit.ipt_otp_no.clone())
                .bind(visit.info.to_string())
        },
    )
    .await
}

/// Deletes fee lines named by `(mdtrt_id, feedetl_sn)`.
pub(crate) async fn delete_fee_lines(
    conn: &mut AnyConnection,
    keys: &[(String, String)],
) -> Result<(), LedgerError> {
    let style = Placeholders::for_connection(conn);
    for chunk in keys.chunks(rows_per_insert(2)) {
        let sql = format!(
            "DELETE FROM fee_lines WHERE (mdtrt_id, feedetl_sn) IN (VALUES {})",
            placeholders(style, chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for (mdtrt_id, sn) in chunk {
            query = query.bind(mdtrt_id.clone()).bind(sn.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes the current state of fee lines (new lines, and the `setl_id` of consumed or released ones).
pub(crate) async fn upsert_fee_lines(
    conn: &mut AnyConnection,
    lines: &[&FeeLine],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO fee_lines (mdtrt_id, feedetl_sn, upload_seq, chrg_bchno, init_feedetl_sn, det_item_fee_sumamt, \
         line, result, setl_id)",
        " ON CONFLICT (mdtrt_id, feedetl_sn) DO UPDATE SET setl_id = excluded.setl_id",
        9,
        lines,
        |query, l| {
            query
                .bind(l.mdtrt_id.clone())
                .bind(l.feedetl_sn.clone())
                .bind(l.upload_seq)
                .bind(l.chrg_bchno.clone())
                .bind(l.init_feedetl_sn.clone())
                .bind(l.det_item_fee_sumamt.fen())
                .bind(l.line.to_string())
                .bind(l.result.clone())
                .bind(l.setl_id.clone())
        },
    )
    .await
}

/// Appends ledger entries (headers, fund rows, line splits, postings), each with its ledger sequence.
pub(crate) async fn insert_settlements(
    conn: &mut AnyConnection,
    records: &[(i64, SettlementRecord)],
) -> Result<(), LedgerError> {
    insert_headers(conn, records).await?;
    let funds: Vec<(&str, i64, &FundRow)> = records
        .iter()
        .flat_map(|(_, r)| {
            let setl_id = r.header.setl_id.as_str();
            r.funds
                .iter()
                .enumerate()
                .map(move |(row_no, f)| (setl_id, row_no as i64, f))
        })
        .collect();
    insert_funds(conn, &funds).await?;
    let lines: Vec<(&str, &LineRow)> = records
        .iter()
        .flat_map(|(_, r)| r.lines.iter().map(|l| (r.header.setl_id.as_str(), l)))
        .collect();
    insert_lines(conn, &lines).await?;
    insert_postings(conn, records).await
}

async fn insert_headers(
    conn: &mut AnyConnection,
    records: &[(i64, SettlementRecord)],
) -> Result<(), LedgerError> {
    let head = format!("INSERT INTO settlements ({})", settlement_columns());
    let cols = HEADER_COLUMNS.len() + Amounts::COLUMNS.len();
    insert_rows(conn, &head, "", cols, records, |query, (seq, record)| {
        let h = &record.header;
        let orig = (!h.orig_setl_id.is_empty()).then(|| h.orig_setl_id.clone());
        let mut query = query
            .bind(h.setl_id.clone())
            .bind(*seq)
            .bind(h.kind.as_str())
            .bind(orig)
            .bind(h.infno.clone())
            .bind(h.msgid.clone())
            .bind(h.fixmedins_code.clone())
            .bind(h.mdtrt_id.clone())
            .bind(h.psn_no.clone())
            .bind(h.insutype.clone())
            .bind(h.year)
            .bind(h.med_type.clone())
            .bind(h.mid_setl_flag.clone())
            .bind(h.setl_time.clone())
            .bind(h.clr_type.clone())
            .bind(h.clr_way.clone())
            .bind(h.clr_optins.clone())
            .bind(h.balc.fen());
        for value in record.amounts.values() {
            query = query.bind(value.fen());
        }
        query
    })
    .await
}

async fn insert_funds(
    conn: &mut AnyConnection,
    funds: &[(&str, i64, &FundRow)],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO settlement_funds (setl_id, row_no, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, \
         crt_payb_lmt_amt, fund_payamt, setl_proc_info)",
        "",
        9,
        funds,
        |query, (setl_id, row_no, f)| {
            query
                .bind(setl_id.to_string())
                .bind(*row_no)
                .bind(f.fund_pay_type.clone())
                .bind(f.fund_pay_type_name.clone())
                .bind(f.payer_class.as_str())
                .bind(f.inscp_scp_amt.fen())
                .bind(f.crt_payb_lmt_amt.map(Fen::fen))
                .bind(f.fund_payamt.fen())
                .bind(f.setl_proc_info.clone())
        },
    )
    .await
}

async fn insert_lines(
    conn: &mut AnyConnection,
    lines: &[(&str, &LineRow)],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO settlement_lines (setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, \
         preselfpay_amt, inscp_scp_amt)",
        "",
        7,
        lines,
        |query, (setl_id, l)| {
            query
                .bind(setl_id.to_string())
                .bind(l.feedetl_sn.clone())
                .bind(l.det_item_fee_sumamt.fen())
                .bind(l.fulamt_ownpay_amt.fen())
                .bind(l.overlmt_amt.fen())
                .bind(l.preselfpay_amt.fen())
                .bind(l.inscp_scp_amt.fen())
        },
    )
    .await
}

/// The postings of a record summed per key (the engine may post one key more than once).
pub(crate) fn posting_sums(record: &SettlementRecord) -> BTreeMap<&str, i64> {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for p in &record.postings {
        *sums.entry(p.acc_key.as_str()).or_default() += p.amount;
    }
    sums
}

async fn insert_postings(
    conn: &mut AnyConnection,
    records: &[(i64, SettlementRecord)],
) -> Result<(), LedgerError> {
    let rows: Vec<(&SettlementRecord, &str, i64)> = records
        .iter()
        .flat_map(|(_, r)| {
            posting_sums(r)
                .into_iter()
                .map(move |(key, amount)| (r, key, amount))
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO postings (setl_id, psn_no, insutype, year, acc_key, amount)",
        "",
        6,
        &rows,
        |query, (r, key, amount)| {
            let h = &r.header;
            query
                .bind(h.setl_id.clone())
                .bind(h.psn_no.clone())
                .bind(h.insutype.clone())
                .bind(h.year)
                .bind(key.to_string())
                .bind(*amount)
        },
    )
    .await
}

/// One materialised accumulator total: `(psn_no, insutype, year, acc_key, amount)`.
pub(crate) type AccTotalRow<'a> = (&'a str, &'a str, i64, &'a str, i64);

/// Sets accumulator totals to their current values.
pub(crate) async fn upsert_acc_totals(
    conn: &mut AnyConnection,
    rows: &[AccTotalRow<'_>],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO acc_totals (psn_no, insutype, year, acc_key, amount)",
        " ON CONFLICT (psn_no, insutype, year, acc_key) DO UPDATE SET amount = excluded.amount",
        5,
        rows,
        |query, (psn_no, insutype, year, key, amount)| {
            query
                .bind(psn_no.to_string())
                .bind(insutype.to_string())
                .bind(*year)
                .bind(key.to_string())
                .bind(*amount)
        },
    )
    .await
}

/// Sets net personal-account payments `(psn_no, insutype, paid)` to their current values.
pub(crate) async fn upsert_account_totals(
    conn: &mut AnyConnection,
    rows: &[(&str, &str, Fen)],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO account_totals (psn_no, insutype, paid)",
        " ON CONFLICT (psn_no, insutype) DO UPDATE SET paid = excluded.paid",
        3,
        rows,
        |query, (psn_no, insutype, paid)| {
            query
                .bind(psn_no.to_string())
                .bind(insutype.to_string())
                .bind(paid.fen())
        },
    )
    .await
}

/// Sets named counters to their current values.
pub(crate) async fn upsert_counters(
    conn: &mut AnyConnection,
    rows: &[(&str, i64)],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO id_counters (name, value)",
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        2,
        rows,
        |query, (name, value)| query.bind(name.to_string()).bind(*value),
    )
    .await
}

/// Stores messages with their replies.
pub(crate) async fn insert_messages(
    conn: &mut AnyConnection,
    messages: &[StoredMessage],
) -> Result<(), LedgerError> {
    insert_rows(
        conn,
        "INSERT INTO messages (fixmedins_code, msgid, infno, effect_ref, reply, created_at)",
        "",
        6,
        messages,
        |query, m| {
            query
                .bind(m.fixmedins_code.clone())
                .bind(m.msgid.clone())
                .bind(m.infno.clone())
                .bind(m.effect_ref.clone())
                .bind(m.reply.clone())
                .bind(m.created_at.clone())
        },
    )
    .await
}
