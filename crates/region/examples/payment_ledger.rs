//! Builds the ledger of the payment benchmark (BENCHMARKS.md, "Paying institutions"): a year of
//! settlements of a synthetic region, written straight into the settlement ledger, with the
//! benefit policy and the institutions' budgets, ready for `yibao pay month` and `yibao pay
//! year-end`.
//!
//! ```text
//! yibao synth --persons 1000000 --seed 7 --year 2025 --out /tmp/pay-bench/synth
//! cargo run --release -p yibao-region --example payment_ledger -- /tmp/pay-bench/synth /tmp/pay-bench/db
//! ```
//!
//! Each visit of `visits.jsonl` is settled by the engine under `policies/jiujiang.toml` and the
//! region's catalogue, the person's year-to-date carried from visit to visit (as `yibao settle`
//! does, without keeping the settlements), and stored as one `settlements` row dated at the end of
//! care (`setl_time`), as a year settled at discharge would be. Only the columns the payment reads
//! are filled beyond the required ones: no fund rows, postings or messages, so `yibao verify` on
//! this database reports the entries incomplete; it is a benchmark fixture, not a ledger to audit.
//! The budgets are the demo's (`policies/payment/jiujiang-demo-budgets.toml`: the year's claims ×
//! a ratio per institution in turn).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Datelike;
use sqlx::Connection;
use yibao_catalog::Catalog;
use yibao_domain::{Code, Fen, SetlAmounts};
use yibao_ledger::provider::{self, ProviderKey};
use yibao_ledger::registry::{self, Document};
use yibao_ledger::Store;
use yibao_policy::Policy;
use yibao_provider_payment::PaymentPolicy;
use yibao_region::DemoBudgets;
use yibao_settlement::{Engine, YearToDate};
use yibao_wire::WireVisit;

/// Rows per INSERT statement.
const ROWS_PER_STATEMENT: usize = 100;
/// Rows per transaction.
const ROWS_PER_COMMIT: usize = 20_000;

/// The identifying columns of a benchmark settlement row, before the amounts.
const COLUMNS: [&str; 18] = [
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
];

/// One settlement to store.
struct Row {
    fixmedins_code: String,
    mdtrt_id: String,
    psn_no: String,
    insutype: Code,
    year: i32,
    med_type: Code,
    setl_time: String,
    balc: Fen,
    amounts: SetlAmounts,
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, synth, data_dir] = args.as_slice() else {
        return Err("usage: payment_ledger <synth output dir> <data dir of the new ledger>".into());
    };
    let started = Instant::now();
    let policy_text = std::fs::read_to_string(repo("policies/jiujiang.toml"))?;
    let policy = Policy::parse(&policy_text)?;
    let catalog = Catalog::from_path(&Path::new(synth).join("catalog.csv"))?;
    let engine = Engine::new(&policy, &catalog);
    std::fs::create_dir_all(data_dir)?;
    let store = Store::open_data_dir(Path::new(data_dir)).await?;
    registry::put_document(
        &store,
        Document::Policy,
        "360400",
        &policy_text,
        "2025-01-01 00:00:00",
    )
    .await?;
    let visits =
        std::io::BufReader::new(std::fs::File::open(Path::new(synth).join("visits.jsonl"))?);
    let mut years: HashMap<(String, Code, i32), YearToDate> = HashMap::new();
    let mut balances: HashMap<String, Fen> = HashMap::new();
    let mut claims: BTreeMap<ProviderKey, Fen> = BTreeMap::new();
    let mut pending = Vec::with_capacity(ROWS_PER_COMMIT);
    let (mut seq, mut failed) = (0i64, 0u64);
    for line in visits.lines() {
        let value: serde_json::Value = serde_json::from_str(&line?)?;
        let wire = WireVisit::from_json(&value)?;
        let visit = wire.visit();
        let year = visit.settlement_date().year();
        let balance = *balances
            .entry(wire.psn_no.clone())
            .or_insert_with(|| wire.balc.unwrap_or(Fen::ZERO));
        let ytd = years
            .entry((wire.psn_no.clone(), wire.insutype, year))
            .or_default();
        let settlement = match engine.settle(&wire.person(), &visit, ytd, balance) {
            Ok(settlement) => settlement,
            Err(_) => {
                failed += 1;
                continue;
            }
        };
        ytd.apply(&settlement.postings);
        balances.insert(wire.psn_no.clone(), settlement.balc);
        let fixmedins_code = wire.fixmedins_code.clone().unwrap_or_default();
        *claims
            .entry((fixmedins_code.clone(), wire.insutype))
            .or_default() += settlement.totals.fund_pay_sumamt;
        pending.push(Row {
            fixmedins_code,
            mdtrt_id: wire.mdtrt_id,
            psn_no: wire.psn_no,
            insutype: wire.insutype,
            year,
            med_type: wire.med_type,
            setl_time: wire.endtime.format("%Y-%m-%d %H:%M:%S").to_string(),
            balc: settlement.balc,
            amounts: settlement.totals,
        });
        if pending.len() == ROWS_PER_COMMIT {
            insert(&store, &mut seq, &pending).await?;
            pending.clear();
        }
    }
    insert(&store, &mut seq, &pending).await?;
    let payment = PaymentPolicy::load(&repo("policies/payment/jiujiang-budget.toml"))?;
    let rule = DemoBudgets::from_toml_str(&std::fs::read_to_string(repo(
        "policies/payment/jiujiang-demo-budgets.toml",
    ))?)?;
    let budgets = rule.budgets(2025, &claims, payment.rounding);
    provider::upsert_budgets(&store, &budgets, "2025-01-01 00:00:00").await?;
    store.close().await;
    println!(
        "{seq} settlements ({failed} visits refused by the engine), {} budgets, in {:.1} s",
        budgets.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Inserts `rows` in one transaction, numbering them on from `seq`.
async fn insert(
    store: &Store,
    seq: &mut i64,
    rows: &[Row],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let columns: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .chain(SetlAmounts::COLUMNS.iter().copied())
            .collect();
        let width = columns.len();
        let tuples: Vec<String> = (0..chunk.len())
            .map(|r| {
                let cells: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO settlements ({}) VALUES {}",
            columns.join(", "),
            tuples.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            *seq += 1;
            let clr_type = if row.med_type.as_str() == "21" {
                "21"
            } else {
                "11"
            };
            query = query
                .bind(format!("B{seq}"))
                .bind(*seq)
                .bind("settle")
                .bind(None::<String>)
                .bind(if clr_type == "21" { "2304" } else { "2207" })
                .bind(format!("BM{seq}"))
                .bind(row.fixmedins_code.clone())
                .bind(row.mdtrt_id.clone())
                .bind(row.psn_no.clone())
                .bind(row.insutype.as_str().to_string())
                .bind(i64::from(row.year))
                .bind(row.med_type.as_str().to_string())
                .bind("0")
                .bind(row.setl_time.clone())
                .bind(clr_type)
                .bind("1")
                .bind("360400")
                .bind(row.balc.fen());
            for (_, amount) in row.amounts.columns() {
                query = query.bind(amount.fen());
            }
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
