//! `yibao audit run` on small files: visits settled with the 九江 policy and sample catalogue, the
//! shipped rule set flags a sex-restricted drug and a planted 门诊异常 group, writes the documented
//! JSON lines in a stable order, honours the period, and refuses a bad person file naming row and
//! column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("yibao-audit-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Files { dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn visit(mdtrt_id: &str, psn_no: &str, gend: &str, begin: &str, lines: &str) -> String {
    format!(
        r#"{{"mdtrt_id":"{mdtrt_id}","psn_no":"{psn_no}","insutype":"310","psn_type":"11","gend":"{gend}","brdy":"1980-05-01","balc":"500.00","med_type":"11","begntime":"{begin}","endtime":"{begin}","fixmedins_code":"H36040200001","hosp_lv":"5","medins_admdvs":"360402","dise_codg":"J06.900","feedetail":[{lines}]}}"#
    )
}

const REGISTRATION: &str = r#"{"feedetl_sn":"1","med_list_codg":"110100001","cnt":"1","pric":"30","det_item_fee_sumamt":"30"}"#;
const PROGESTERONE: &str = r#"{"feedetl_sn":"1","med_list_codg":"XG03DAH032B002010100667","cnt":"2","pric":"20","det_item_fee_sumamt":"40"}"#;

fn visits() -> String {
    let mut text = String::new();
    for i in 0..5 {
        text += &visit(
            &format!("M{i}"),
            &format!("P{i}"),
            "2",
            &format!("2025-03-10 {:02}:00:00", 8 + i),
            REGISTRATION,
        );
        text.push('\n');
    }
    text += &visit("X1", "Q1", "1", "2025-03-12 10:00:00", PROGESTERONE);
    text.push('\n');
    text += &visit("X2", "Q1", "1", "2025-04-02 10:00:00", PROGESTERONE);
    text.push('\n');
    text
}

const PERSONS: &str = "psn_no,psn_cert_type,certno,psn_name,gend,brdy,insutype,psn_type,psn_insu_stas,psn_insu_date,insuplc_admdvs,cvlserv_flag,balc,tel,death_date
Q1,01,360402198005010011,张三,1,1980-05-01,310,11,1,2020-01-01,360402,0,500,13900000000,
";

fn audit(files: &Files, persons: &str, extra: &[&str]) -> Output {
    let visits = files.write("visits.jsonl", &visits());
    let persons = files.write("persons.csv", persons);
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["audit", "run", "--visits"])
        .arg(&visits)
        .arg("--persons")
        .arg(&persons)
        .arg("--policy")
        .arg(repo("policies/jiujiang.toml"))
        .arg("--catalog")
        .arg(repo("catalogs/jiujiang-sample.csv"))
        .args(extra)
        .output()
        .expect("run yibao")
}

fn findings(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn rules_and_models_over_a_file_of_visits() {
    let files = Files::new("run");
    let output = audit(&files, PERSONS, &[]);
    let text = String::from_utf8(output.stdout.clone()).expect("utf-8");
    let found = findings(&output);
    let first = text.lines().next().expect("a finding");
    let order = [
        "kind",
        "id",
        "psn_nos",
        "fixmedins_codes",
        "mdtrt_ids",
        "amount",
        "score",
        "reason",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| first.find(&format!("\"{k}\":")).expect(k))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{first}");
    assert_eq!(found[0].as_object().expect("object").len(), order.len());
    let sex: Vec<&Value> = found.iter().filter(|f| f["id"] == "JJ-R01C").collect();
    assert_eq!(sex.len(), 2, "{text}");
    assert_eq!(sex[0]["kind"], "rule");
    assert_eq!(sex[0]["mdtrt_ids"], serde_json::json!(["X1"]));
    assert_eq!(sex[0]["score"], 100);
    // The catalogue's own sex restriction already made the line 全自费: nothing of the fund at issue.
    assert_eq!(sex[0]["amount"].to_string(), "0.0");
    assert!(text.contains(r#""amount":0.00,"#), "{text}");
    let clinic: Vec<&Value> = found.iter().filter(|f| f["id"] == "门诊异常").collect();
    assert_eq!(clinic.len(), 1, "{text}");
    assert_eq!(clinic[0]["kind"], "model");
    assert!(text.contains(r#""amount":150.00,"#), "{text}");
    assert_eq!(
        clinic[0]["psn_nos"],
        serde_json::json!(["P0", "P1", "P2", "P3", "P4"])
    );
    assert!(clinic[0]["reason"]
        .as_str()
        .expect("reason")
        .contains("疑似空刷"));
    let again = audit(&files, PERSONS, &[]);
    assert_eq!(
        text,
        String::from_utf8(again.stdout).expect("utf-8"),
        "same input, same bytes"
    );
}

#[test]
fn the_period_limits_what_is_reported() {
    let files = Files::new("period");
    let found = findings(&audit(
        &files,
        PERSONS,
        &["--from", "2025-04-01", "--to", "2025-04-30"],
    ));
    let ids: Vec<&str> = found
        .iter()
        .map(|f| f["mdtrt_ids"][0].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["X2"]);
}

#[test]
fn an_empty_period_is_refused() {
    let files = Files::new("empty");
    let output = audit(
        &files,
        PERSONS,
        &["--from", "2025-04-01", "--to", "2025-03-31"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--from 2025-04-01 晚于 --to 2025-03-31"),
        "{stderr}"
    );
}

#[test]
fn an_out_file_holds_the_findings() {
    let files = Files::new("out");
    let out = files.dir.join("findings.jsonl");
    let output = audit(&files, PERSONS, &["--out", out.to_str().expect("path")]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    let written = std::fs::read_to_string(&out).expect("findings file");
    assert_eq!(written.lines().count(), 3, "{written}");
}

#[test]
fn a_bad_person_file_is_refused_naming_row_and_column() {
    let files = Files::new("bad");
    let bad = PERSONS.replace("13900000000,", "13900000000,2025-13-01");
    let output = audit(&files, &bad, &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("第 2 行 death_date：`2025-13-01` 不是日期"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
