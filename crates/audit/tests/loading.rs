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
