//! A rule set is checked when it is loaded: every problem names the file, the field path and
//! what is wrong, in Chinese.

use std::path::Path;

use yibao_audit::{RuleSet, RuleSetFiles};

fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../rules/jiujiang")
        .join(name);
    std::fs::read_to_string(path).expect("shipped rule set")
}

const KNOWLEDGE: &str = r#"
[tables.sex_limit]
[[tables.sex_limit.rows]]
codes = ["XG04CAA047"]
gend = "1"
"#;

fn rule(fields: &str) -> String {
    format!(
        r#"
[meta]
region = "360400"
version = "t"
source = "test"

[[rule]]
id = "T1"
no = 1
name = "限性别"
violation = "超医保支付范围"
stage = ["事中"]
window = "当次"
scenario = ["门(急)诊"]
reason = "性别不符"
provenance = "test"
{fields}
"#
    )
}

fn load(rules: &str, knowledge: &str) -> Result<RuleSet, String> {
    let models = shipped("models.toml");
    RuleSet::parse(&RuleSetFiles {
        rules: (rules, "rules.toml"),
        knowledge: (knowledge, "knowledge.toml"),
        models: (&models, "models.toml"),
    })
    .map_err(|e| e.to_string())
}

fn error(fields: &str) -> String {
    load(&rule(fields), KNOWLEDGE).expect_err("refused")
}

#[test]
fn a_good_rule_loads() {
    let set = load(&rule("sev_deg = 1\ntable = \"sex_limit\"\nscope = \"line\"\nwhen = \"person.gend != row.gend\""), KNOWLEDGE).expect("loads");
    assert_eq!(set.rules.len(), 1);
}

#[test]
fn bad_rules_are_refused_naming_the_field() {
    let cases = [
        (
            "sev_deg = 4\nscope = \"visit\"\nwhen = \"true\"",
            "rules.toml: rule[0].sev_deg: 4 不是",
        ),
        (
            "sev_deg = 1\nscope = \"visit\"\non_hit = \"self_pay\"\nwhen = \"true\"",
            "rule[0].on_hit: self_pay（按全自费处理）只适用于 line 级规则",
        ),
        (
            "sev_deg = 1\nscope = \"line\"\non_hit = \"refuse\"\nwhen = \"true\"",
            "rule[0].on_hit: unknown variant `refuse`",
        ),
        (
            "sev_deg = 1\nscope = \"visit\"\nwhen = \"visit.nonsense\"",
            "rule[0].when: 未知字段 `visit.nonsense`",
        ),
        (
            "sev_deg = 1\nscope = \"visit\"\nwhen = \"visit.med_type > 3\"",
            "rule[0].when: 不能比较 字符串 与 数字",
        ),
        (
            "sev_deg = 1\nscope = \"visit\"\nwhen = \"visit.los_days\"",
            "rule[0].when: 条件应为布尔值",
        ),
        (
            "sev_deg = 1\ntable = \"sex_limit\"\nscope = \"line\"\nwhen = \"row.age_max > 3\"",
            "rule[0].when: 知识表没有每行都有的列 `age_max`",
        ),
        (
            "sev_deg = 1\ntable = \"nope\"\nscope = \"line\"\nwhen = \"true\"",
            "rule[0].table: 没有知识表 `nope`",
        ),
        (
            "sev_deg = 1\nscope = \"visit\"\nwhen = \"line.qty > 1\"",
            "rule[0].scope: visit 级规则不能读取费用明细",
        ),
        (
            "sev_deg = 1\nscope = \"visit\"\nwhen = \"(visit.is_inpatient\"",
            "rule[0].when: 此处应为 `)`",
        ),
        (
            "sev_deg = 1\nscope = \"sometimes\"\nwhen = \"true\"",
            "rule[0].scope",
        ),
    ];
    for (fields, expected) in cases {
        let message = error(fields);
        assert!(message.contains(expected), "{fields}: {message}");
    }
}

#[test]
fn bad_knowledge_is_refused_naming_the_row() {
    let duplicate =
        "[tables.t]\n[[tables.t.rows]]\ncodes = [\"A1\"]\n[[tables.t.rows]]\ncodes = [\"A1\"]\n";
    let message = load(
        &rule("sev_deg = 1\nscope = \"visit\"\nwhen = \"true\""),
        duplicate,
    )
    .expect_err("refused");
    assert!(
        message.contains("knowledge.toml: tables.t.rows[1].codes: 编码 `A1` 已在 rows[0] 中"),
        "{message}"
    );
    let mixed = "[tables.t]\n[[tables.t.rows]]\ncodes = [\"A1\"]\nmax = 1\n[[tables.t.rows]]\ncodes = [\"A2\"]\nmax = \"x\"\n";
    let message = load(
        &rule("sev_deg = 1\nscope = \"visit\"\nwhen = \"true\""),
        mixed,
    )
    .expect_err("refused");
    assert!(
        message.contains("tables.t.rows[1].max: 类型为字符串"),
        "{message}"
    );
}

#[test]
fn bad_model_thresholds_are_refused_naming_the_field() {
    let models = shipped("models.toml").replace("min_count = 3", "min_count = \"three\"");
    let message = RuleSet::parse(&RuleSetFiles {
        rules: (
            &rule("sev_deg = 1\nscope = \"visit\"\nwhen = \"true\""),
            "rules.toml",
        ),
        knowledge: (KNOWLEDGE, "knowledge.toml"),
        models: (&models, "models.toml"),
    })
    .expect_err("refused")
    .to_string();
    assert!(
        message.contains("models.toml: card_cluster.min_count"),
        "{message}"
    );
}

#[test]
fn the_longest_look_back_is_derived_from_the_rules_and_their_rows() {
    let knowledge = r#"
[tables.period]
[[tables.period.rows]]
codes = ["A"]
days = 15
max_count = 1
[[tables.period.rows]]
codes = ["B"]
days = 45
max_count = 1
"#;
    let history = |fields: &str| {
        load(&rule(&format!("sev_deg = 1\n{fields}")), knowledge)
            .expect("loads")
            .history_days()
    };
    let period = "table = \"period\"\nscope = \"line\"\n";
    assert_eq!(
        history(&format!(
            "{period}when = \"hist.count_within(row.days) > row.max_count\""
        )),
        45,
        "the largest row"
    );
    assert_eq!(
        history(&format!(
            "{period}when = \"hist.days_within(row.days * 2) > 1 or hist.same_day_qty() > 3\""
        )),
        90,
        "an argument computed from the row"
    );
    assert_eq!(
        history(
            "scope = \"visit\"\nwhen = \"hist.readmit_gap_days <= 15 and hist.readmit_same_dx\""
        ),
        15,
        "a readmission gap bounded in the rule"
    );
    assert_eq!(
        history(&format!(
            "{period}when = \"hist.any_within_hours(['A'], 30)\""
        )),
        2,
        "hours rounded up to days"
    );
    assert_eq!(
        history(&format!("{period}when = \"line.qty > row.max_count\"")),
        0,
        "no history read"
    );
    let shipped = load(&shipped("rules.toml"), &shipped("knowledge.toml")).expect("shipped");
    assert_eq!(
        shipped.history_days(),
        yibao_audit::history::SUPPLY_LOOK_BACK_DAYS,
        "the shipped rules: purchases whose supply may still run"
    );
}
