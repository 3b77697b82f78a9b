//! Every reply against the national field tables (`../shared/domain/interface-fields.json`, the
//! spec's input and output tables of 33 transactions), over real HTTP on SQLite and PostgreSQL: a
//! day's outpatient and inpatient work is run, and each output node of each implemented transaction
//! must carry every field the spec marks non-null (and no `null` in it).

use crate::common;

use std::collections::BTreeMap;

use common::{bed_days, line, setl_id, Backend, Harness, BED, DRUG};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

/// Transactions whose replies are not yet in the spec's form, with the reason; everything else the
/// service implements and the tables list must be exercised and conform.
const NOT_YET_IN_SPEC_FORM: &[(&str, &str)] = &[];

/// The spec's output tables: infno → (node, non-null fields).
type OutputTables = BTreeMap<String, Vec<(String, Vec<String>)>>;

/// Reads [`OutputTables`]; `None` (test skipped) without the reference data (`yibao-testdata`).
fn output_tables() -> Option<OutputTables> {
    let path = yibao_testdata::interface_fields()?;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec: Value = serde_json::from_str(&text).unwrap();
    let mut tables = BTreeMap::new();
    for (infno, transaction) in spec.as_object().unwrap() {
        let nodes = transaction["tables"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["dir"] == "out")
            .map(|t| {
                let required = t["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f[4] == "Y")
                    .map(|f| f[0].as_str().unwrap().to_string())
                    .collect();
                (t["node"].as_str().unwrap().to_string(), required)
            })
            .collect();
        tables.insert(infno.clone(), nodes);
    }
    Some(tables)
}

/// Runs a transaction that must succeed and keeps its output.
async fn keep(
    h: &Harness,
    outputs: &mut BTreeMap<String, Value>,
    infno: &str,
    input: Value,
) -> Value {
    let output = h.ok(infno, HOSPITAL, input).await;
    outputs.insert(infno.to_string(), output.clone());
    output
}

/// Runs a day's work and keeps the output of every transaction (the last one of each `infno`).
async fn day_of_work(h: &Harness) -> BTreeMap<String, Value> {
    let mut outputs = BTreeMap::new();
    keep(
        h,
        &mut outputs,
        "9001",
        json!({ "signIn": { "opter_no": "001", "mac": "", "ip": "" } }),
    )
    .await;
    keep(
        h,
        &mut outputs,
        "9002",
        json!({ "signOut": { "sign_no": "1", "opter_no": "001" } }),
    )
    .await;
    keep(h, &mut outputs, "1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "psn_cert_type": "01", "certno": "360402197502140022", "psn_name": "测试乙" } })).await;

    // Outpatient: register, upload, pre-settle, settle, query, cancel.
    let reg = keep(h, &mut outputs, "2201", json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "ipt_otp_no": "OTP1" } })).await;
    let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
    keep(h, &mut outputs, "2203", json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "med_type": "11", "begntime": "2026-03-01 09:00:00", "dise_codg": "J06.900" }, "diseinfo": [{ "diag_type": "1", "diag_code": "J06.900", "diag_name": "急性上呼吸道感染" }] })).await;
    keep(h, &mut outputs, "2204", json!({ "feedetail": [line("1", &mdtrt_id, DRUG, "2", "0.50", "1.00"), line("2", &mdtrt_id, BED, "1", "40.00", "40.00")] })).await;
    let settle = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "41.00", "insutype": "310", "acct_used_flag": "1", "mdtrt_cert_type": "02", "chrg_bchno": "B1", "psn_setlway": "01" } });
    keep(h, &mut outputs, "2206", settle.clone()).await;
    let settled = keep(h, &mut outputs, "2207", settle).await;
    let outpatient_setl = setl_id(&settled);
    keep(
        h,
        &mut outputs,
        "5203",
        json!({ "data": { "psn_no": "P0002", "setl_id": outpatient_setl, "mdtrt_id": mdtrt_id } }),
    )
    .await;
    keep(
        h,
        &mut outputs,
        "5204",
        json!({ "data": { "psn_no": "P0002", "setl_id": outpatient_setl, "mdtrt_id": mdtrt_id } }),
    )
    .await;
    keep(
        h,
        &mut outputs,
        "5206",
        json!({ "data": { "psn_no": "P0002", "cum_ym": "202603" } }),
    )
    .await;
    keep(h, &mut outputs, "3201", json!({ "data": { "insutype": "310", "clr_type": "11", "setl_optins": "360400", "stmt_begndate": "2026-01-01", "stmt_enddate": "2026-12-31", "medfee_sumamt": "41.00", "fund_pay_sumamt": "0", "acct_pay": "0", "fixmedins_setl_cnt": "1" } })).await;
    exchange_files(h, &mut outputs, &outpatient_setl).await;
    keep(
        h,
        &mut outputs,
        "2208",
        json!({ "data": { "psn_no": "P0002", "setl_id": outpatient_setl, "mdtrt_id": mdtrt_id } }),
    )
    .await;
    keep(
        h,
        &mut outputs,
        "2205",
        json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "chrg_bchno": "0000" } }),
    )
    .await;
    keep(
        h,
        &mut outputs,
        "2202",
        json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "ipt_otp_no": "OTP1" } }),
    )
    .await;

    // Inpatient: admit, change, upload, cancel a line, discharge and undo it, pre-settle, settle,
    // cancel, settle again and reverse that; a second admission cancelled.
    let admitted = keep(h, &mut outputs, "2401", json!({ "mdtrtinfo": { "psn_no": "P0003", "insutype": "390", "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402195501010033", "med_type": "21", "begntime": "2026-02-20 08:00:00", "dise_codg": "K80.100", "ipt_no": "ZY1" }, "diseinfo": [{ "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石伴急性胆囊炎", "maindiag_flag": "1" }] })).await;
    let stay = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
    keep(h, &mut outputs, "2403", json!({ "adminfo": { "mdtrt_id": stay, "psn_no": "P0003", "dise_codg": "K80.100", "begntime": "2026-02-20 08:00:00" } })).await;
    keep(
        h,
        &mut outputs,
        "2301",
        json!({ "feedetail": [bed_days("1", &stay, 5, None), bed_days("2", &stay, 1, None)] }),
    )
    .await;
    keep(
        h,
        &mut outputs,
        "2302",
        json!({ "data": { "mdtrt_id": stay, "psn_no": "P0003", "feedetl_sn": "2" } }),
    )
    .await;
    let discharge = json!({ "dscginfo": { "mdtrt_id": stay, "psn_no": "P0003", "insutype": "390", "endtime": "2026-02-25 10:00:00", "dise_codg": "K80.100", "dscg_way": "1" } });
    keep(h, &mut outputs, "2402", discharge.clone()).await;
    keep(
        h,
        &mut outputs,
        "2405",
        json!({ "data": { "mdtrt_id": stay, "psn_no": "P0003" } }),
    )
    .await;
    keep(h, &mut outputs, "2402", discharge).await;
    let settle = json!({ "data": { "psn_no": "P0003", "mdtrt_id": stay, "medfee_sumamt": "200.00", "mid_setl_flag": "0", "insutype": "390", "acct_used_flag": "0", "mdtrt_cert_type": "02", "psn_setlway": "01", "dscgTime": "2026-02-25 10:00:00" } });
    keep(h, &mut outputs, "2303", settle.clone()).await;
    let settled = keep(h, &mut outputs, "2304", settle.clone()).await;
    let stay_setl = setl_id(&settled);
    keep(
        h,
        &mut outputs,
        "2305",
        json!({ "data": { "psn_no": "P0003", "setl_id": stay_setl, "mdtrt_id": stay } }),
    )
    .await;
    let msgid = h.msgid(HOSPITAL);
    let (_, reply) = h.call_with("2304", HOSPITAL, &msgid, settle).await;
    assert_eq!(reply["infcode"], 0, "{reply}");
    keep(
        h,
        &mut outputs,
        "2601",
        json!({ "data": { "psn_no": "P0003", "omsgid": msgid, "oinfno": "2304" } }),
    )
    .await;
    let second = h.ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0001", "insutype": "390", "mdtrt_cert_type": "02", "med_type": "21", "begntime": "2026-02-21 08:00:00", "dise_codg": "K80.100" } })).await;
    let second = second["result"]["mdtrt_id"].as_str().unwrap().to_string();
    keep(
        h,
        &mut outputs,
        "2404",
        json!({ "data": { "mdtrt_id": second, "psn_no": "P0001" } }),
    )
    .await;
    outputs
}

/// The file channel and the catalogue exchange: 9101, 3202 by file, 9102 (raw bytes, no output
/// table), 1301, 1305, 1312, 1901.
async fn exchange_files(h: &Harness, outputs: &mut BTreeMap<String, Value>, setl_id: &str) {
    use base64::Engine;
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("detail.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    writeln!(zip, "{setl_id}\t\tP0002\t41.00\t0.00\t0.00\t0").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let uploaded = keep(h, outputs, "9101", json!({ "fsUploadIn": { "in": encoded, "filename": "detail.zip", "fixmedins_code": HOSPITAL } })).await;
    let reconciled = keep(h, outputs, "3202", json!({ "data": { "setl_optins": "360400", "file_qury_no": uploaded["file_qury_no"], "stmt_begndate": "2026-01-01", "stmt_enddate": "2026-12-31", "medfee_sumamt": "41.00", "fund_pay_sumamt": "0", "cash_payamt": "41.00", "fixmedins_setl_cnt": "1", "clr_type": "11", "fixmedins_refd_setl_flag": "0" } })).await;
    let result = h
        .download(HOSPITAL, &reconciled["fileinfo"]["file_qury_no"])
        .await;
    assert_eq!(result.content_type, "application/octet-stream");
    outputs.insert("9102".into(), json!({}));
    keep(h, outputs, "1301", json!({ "data": { "ver": "0" } })).await;
    keep(h, outputs, "1305", json!({ "data": { "ver": "0" } })).await;
    keep(
        h,
        outputs,
        "1312",
        json!({ "data": { "updt_time": "2000-01-01", "page_num": 1, "page_size": 100 } }),
    )
    .await;
    keep(h, outputs, "1901", json!({ "data": { "type": "insutype", "parent_value": "", "admdvs": "360400", "date": "2026-03-01", "Vali_Flag": "1" } })).await;
}

/// A field that must be present and not `null` in every row of a node.
fn missing_in(node: &Value, fields: &[String]) -> Vec<String> {
    let rows: Vec<&Value> = match node {
        Value::Array(rows) => rows.iter().collect(),
        other => vec![other],
    };
    let mut missing = Vec::new();
    for field in fields {
        if rows
            .iter()
            .any(|row| row.get(field).is_none_or(Value::is_null))
        {
            missing.push(field.clone());
        }
    }
    missing
}

#[tokio::test]
async fn every_reply_carries_the_spec_non_null_fields() {
    let Some(tables) = output_tables() else {
        return;
    };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "fields").await;
        let outputs = day_of_work(&h).await;
        let mut problems = Vec::new();
        for (infno, nodes) in &tables {
            if yibao_server::tx::spec(infno).is_none()
                || NOT_YET_IN_SPEC_FORM.iter().any(|(n, _)| n == infno)
            {
                continue;
            }
            let Some(output) = outputs.get(infno) else {
                problems.push(format!(
                    "{infno}: implemented but not exercised by the day's work"
                ));
                continue;
            };
            for (node, fields) in nodes {
                // `无节点`: the fields sit in `output` itself (1312: in its rows, `data`, beside
                // the page's counts); `sign_time` (9002) is a field of the node `signoutoutb`.
                let value = match node.as_str() {
                    "无节点" if infno == "1312" => &output["data"],
                    "无节点" => output,
                    "sign_time" => &output["signoutoutb"],
                    name => &output[name],
                };
                if value.is_null() {
                    problems.push(format!("{infno}: node `{node}` missing: {output}"));
                    continue;
                }
                let missing = missing_in(value, fields);
                if !missing.is_empty() {
                    problems.push(format!("{infno} {node}: {}", missing.join(", ")));
                }
            }
        }
        assert!(problems.is_empty(), "{backend:?}:\n{}", problems.join("\n"));
        h.stop().await;
    }
}
