//! Malformed input in a batch: each bad line gets an error object, the other lines are grouped.

use serde_json::Value;
use yibao_drg_grouper::{
    group_json_lines, group_records, parse_csv_cases, BatchOptions, GrouperSet, LoadOptions,
};

/// The national rule versions (only `only`, when given); `None` without the reference data.
fn rules(only: Option<&str>) -> Option<GrouperSet> {
    let dir = yibao_testdata::chs_drg()?;
    Some(GrouperSet::open(&dir, only, LoadOptions::default()).expect("rules open"))
}

/// Groups JSON lines with CHS-DRG 1.1; `None` without the reference data.
fn run(lines: &[&str], trace: bool, parallel: bool) -> Option<Vec<Value>> {
    let set = rules(Some("chs_drg_11"))?;
    let threads = if parallel { 2 } else { 1 };
    let out = group_json_lines(&set, lines, 1, BatchOptions { trace, threads });
    let values = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("output is JSON"))
        .collect();
    Some(values)
}

const GOOD: &str = r#"{"id":"good","sex":2,"age":70,"age_days":25600,"weight_g":0,"los":6,"leaving_type":1,"diagnoses":["I48.900x003","J96.000"],"procedures":[]}"#;

#[test]
fn bad_lines_do_not_stop_the_batch() {
    let lines = [
        GOOD,
        "{\"id\": \"broken\", ",
        r#"{"id":"nosex","age":40,"diagnoses":["I48.900x003"],"procedures":[]}"#,
        r#"{"id":"unknown","sex":1,"age":40,"diagnoses":["XYZ.123"],"procedures":["00.0000x999"]}"#,
        r#"{"id":"empty","sex":1,"age":40,"diagnoses":[],"procedures":[]}"#,
        r#"{"id":"badsex","sex":"7","age":40,"diagnoses":["I48.900x003"]}"#,
        r#"{"id":"badversion","grouper":"chs_drg_99","sex":1,"age":40,"diagnoses":["I48.900x003"]}"#,
        r#"{"id":"zj","grouper":"zhejiang_2022","sex":2,"age":70,"diagnoses":["I48.900x003","J96.000"]}"#,
    ];
    let Some(out) = run(&lines, false, false) else {
        return;
    };
    assert_eq!(out.len(), lines.len());
    assert_eq!(out[0]["drg"], "FU23");
    assert_eq!(out[0]["status"], "分组成功");
    assert_eq!(out[1]["line"], 2);
    assert!(out[1]["error"]
        .as_str()
        .unwrap()
        .starts_with("line 2: not a valid JSON object"));
    assert_eq!(
        (&out[2]["status"], &out[2]["drg"]),
        (&Value::from("信息校验不通过"), &Value::from("0000"))
    );
    assert_eq!(
        (&out[3]["status"], &out[3]["mdc"]),
        (&Value::from("无法入组"), &Value::from("0000"))
    );
    assert_eq!(out[4]["status"], "信息校验不通过");
    assert!(out[5]["error"]
        .as_str()
        .unwrap()
        .contains("line 6: field `sex`"));
    assert_eq!(out[6]["id"], "badversion");
    assert!(out[6]["error"]
        .as_str()
        .unwrap()
        .contains("unknown rule version `chs_drg_99`"));
    assert_eq!(out[7]["id"], "zj");
    assert!(out[7].get("error").is_none());
}

#[test]
fn parallel_output_keeps_input_order() {
    let lines: Vec<String> = (0..10_000)
        .map(|i| GOOD.replace("\"good\"", &format!("\"c{i}\"")))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(out) = run(&refs, false, true) else {
        return;
    };
    assert_eq!(out.len(), 10_000);
    assert!(out
        .iter()
        .enumerate()
        .all(|(i, v)| v["id"] == format!("c{i}").as_str() && v["drg"] == "FU23"));
}

#[test]
fn csv_records_group_like_json() {
    let csv = "id,sex,age,age_days,weight_g,los,leaving_type,diagnoses,procedures\n\
               good,2,70,25600,0,6,1,I48.900x003|J96.000,\n\
               bad,2,seventy,,,,,I48.900x003,\n";
    let records: Vec<_> = parse_csv_cases(csv.as_bytes()).expect("header").collect();
    let Some(set) = rules(Some("chs_drg_11")) else {
        return;
    };
    let out =
        String::from_utf8(group_records(&set, &records, BatchOptions::default())).expect("utf-8");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines[0]["drg"], "FU23");
    assert_eq!(lines[1]["line"], 3);
}

#[test]
fn trace_is_added_on_request() {
    let Some(out) = run(&[GOOD], true, false) else {
        return;
    };
    let trace: Vec<&str> = out[0]["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(trace[0], "符合MDCF入组条件，匹配规则：主诊断匹配");
    assert!(
        trace.contains(&"诊断J96.000属于MCC，排除表109"),
        "{trace:?}"
    );
    let untraced = run(&[GOOD], false, false).expect("rules open");
    assert!(untraced[0].get("trace").is_none());
}

#[test]
fn qy_switch_is_per_version() {
    let Some(mut set) = rules(None) else {
        return;
    };
    let qy_on = LoadOptions {
        ambiguous_groups: Some(true),
        ..LoadOptions::default()
    };
    set.configure("chs_drg_11", qy_on).expect("known version");
    assert!(set.configure("chs_drg_99", LoadOptions::default()).is_err());
    let line = |version: &str| {
        format!(
            r#"{{"id":"q","grouper":"{version}","sex":1,"age":50,"diagnoses":["I63.900"],"procedures":["99.9999","47.0901"]}}"#
        )
    };
    let (on, off) = (line("chs_drg_11"), line("chs_drg_10"));
    let out = String::from_utf8(group_json_lines(
        &set,
        &[on.as_str(), off.as_str()],
        1,
        BatchOptions::default(),
    ))
    .expect("utf-8");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(
        (&lines[0]["status"], &lines[0]["drg"]),
        (&Value::from("歧义病案"), &Value::from("BQY"))
    );
    assert_eq!(lines[1]["status"], "分组成功");
}
