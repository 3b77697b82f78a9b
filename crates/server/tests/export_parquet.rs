//! The Parquet export (`yibao_export::export_year`) over a ledger filled through HTTP, on SQLite and
//! on PostgreSQL: the files read back with the `parquet` crate hold the ledger's rows and sums.

use crate::common;

use std::fs::File;
use std::path::Path;

use arrow_array::{Array, Int64Array, RecordBatch};
use chrono::Datelike;
use common::{each_backend, line, Harness, DRUG};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;
use yibao_ledger::entries::{self, EntryFilter};

const HOSPITAL: &str = "H36040200001";

fn read(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn sum(batches: &[RecordBatch], column: &str) -> i64 {
    let mut total = 0;
    for batch in batches {
        let values = batch.column_by_name(column).unwrap();
        let values = values.as_any().downcast_ref::<Int64Array>().unwrap();
        total += values.iter().map(Option::unwrap).sum::<i64>();
    }
    total
}

/// Registers, uploads `lines` drug lines of 10.00 and settles; returns `(mdtrt_id, setl_id)`.
async fn settle(h: &Harness, psn_no: &str, lines: usize) -> (String, String) {
    let out = h
        .ok("2201", HOSPITAL, json!({ "data": { "psn_no": psn_no, "insutype": "390", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "OTP1" } }))
        .await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    let fees: Vec<_> = (1..=lines)
        .map(|sn| line(&sn.to_string(), &mdtrt_id, DRUG, "1", "10.00", "10.00"))
        .collect();
    h.ok("2204", HOSPITAL, json!({ "feedetail": fees })).await;
    let total = format!("{}.00", lines * 10);
    let settled = h
        .ok("2207", HOSPITAL, json!({ "data": { "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_id": mdtrt_id, "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "insutype": "390", "acct_used_flag": "0" } }))
        .await;
    (
        mdtrt_id,
        settled["setlinfo"]["setl_id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn the_export_holds_the_ledgers_rows_and_sums() {
    each_backend("export_parquet", |h| async move {
        settle(&h, "P0001", 3).await;
        let (mdtrt_id, setl_id) = settle(&h, "P0003", 2).await;
        h.ok(
            "2208",
            HOSPITAL,
            json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P0003" } }),
        )
        .await;

        let year = chrono::Local::now().year();
        let dir = common::scratch_dir("export_parquet").join(format!("{year}"));
        let written = yibao_export::export_year(&h.store, year, &dir)
            .await
            .unwrap();
        let files: Vec<&str> = written.iter().map(|s| s.file).collect();
        assert_eq!(
            files,
            [
                "settlements.parquet",
                "fee_lines.parquet",
                "funds.parquet",
                "visits.parquet"
            ]
        );
        let counts: Vec<u64> = written.iter().map(|s| s.rows).collect();
        assert_eq!((counts[0], counts[1], counts[3]), (3, 7, 2));

        let mut conn = h.store.pool().acquire().await.unwrap();
        let entries = entries::entries(&mut conn, &EntryFilter::default())
            .await
            .unwrap();
        let mut fund_rows = 0;
        let mut fund_paid = 0;
        for entry in &entries {
            let funds = entries::funds_of(&mut conn, &entry.header.setl_id)
                .await
                .unwrap();
            fund_rows += funds.len();
            fund_paid += funds.iter().map(|f| f.row.fund_payamt.fen()).sum::<i64>();
        }
        drop(conn);
        let settlements = read(&dir.join("settlements.parquet"));
        assert_eq!(rows(&settlements), entries.len());
        assert_eq!(sum(&settlements, "medfee_sumamt_fen"), 3_000);
        let psn_cash: i64 = entries.iter().map(|e| e.amounts.psn_cash_pay.fen()).sum();
        assert_eq!(sum(&settlements, "psn_cash_pay_fen"), psn_cash);
        let funds = read(&dir.join("funds.parquet"));
        assert_eq!(rows(&funds), fund_rows);
        assert_eq!(counts[2], fund_rows as u64);
        assert_eq!(sum(&funds, "fund_payamt_fen"), fund_paid);
        let lines = read(&dir.join("fee_lines.parquet"));
        assert_eq!(sum(&lines, "det_item_fee_sumamt_fen"), 3_000);
        assert_eq!(rows(&read(&dir.join("visits.parquet"))), 2);
        h.stop().await;
    })
    .await;
}
