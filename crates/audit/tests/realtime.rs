//! The real-time check of one claim (`check_claim`, what 3101/3102 and fee upload run): only the
//! rules of the stage, the lines concerned with their in-scope amounts, history from earlier claims,
//! `rule_ids` and the caller's filter honoured.

mod common;

use common::{line, shipped, C};
use yibao_audit::history::PersonHistory;
use yibao_audit::{check_claim, OnHit, PersonInfo};

fn hits(stage: &str, ids: &[&str], claims: &[C], self_pay_only: bool) -> Vec<(String, Vec<u32>)> {
    let set = shipped();
    let refs: Vec<&yibao_audit::Claim> = claims.iter().map(|c| &c.0).collect();
    let last = &claims.last().unwrap().0;
    let hist = PersonHistory::new(refs);
    let ci = hist
        .claims
        .iter()
        .position(|c| c.mdtrt_id == last.mdtrt_id)
        .unwrap() as u32;
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let person = PersonInfo::default();
    check_claim(
        &set,
        stage,
        &ids,
        |r| !self_pay_only || r.on_hit == OnHit::SelfPay,
        &person,
        &hist,
        ci,
    )
    .into_iter()
    .map(|h| {
        (
            h.rule.id.clone(),
            h.lines.iter().map(|(li, _)| *li).collect(),
        )
    })
    .collect()
}

#[test]
fn a_claim_is_checked_by_the_rules_of_its_stage_with_its_history() {
    let tamsulosin = || line("XG04CAA047B001", "09", "1", "40.45");
    let hba1c = || line("002703000010000", "04", "1", "40.00");
    let woman = |id: &str, begin: &str| C::new(id, "P1", begin).person("2", "1960-01-01");
    let now = woman("v2", "2025-03-10 09:00")
        .line(line("XJ01CAA040A001", "09", "2", "10.00"))
        .line(tamsulosin())
        .line(hba1c());
    let earlier = woman("v1", "2025-03-01 09:00").line(hba1c());

    let before = hits("事前", &[], &[earlier.clone(), now.clone()], false);
    assert!(
        before.contains(&("JJ-R01".to_string(), vec![1])),
        "{before:?}"
    );
    assert!(
        !before.iter().any(|(id, _)| id == "JJ-R10"),
        "JJ-R10 is 事中/事后: {before:?}"
    );

    let during = hits("事中", &[], &[earlier.clone(), now.clone()], false);
    assert!(
        during.contains(&("JJ-R10".to_string(), vec![2])),
        "{during:?}"
    );
    let alone = hits("事中", &[], std::slice::from_ref(&now), false);
    assert!(
        !alone.iter().any(|(id, _)| id == "JJ-R10"),
        "no history: {alone:?}"
    );

    let only = hits("事中", &["JJ-R10"], &[earlier.clone(), now.clone()], false);
    assert_eq!(only, vec![("JJ-R10".to_string(), vec![2])]);
    let self_pay = hits("事中", &[], &[earlier, now], true);
    assert_eq!(self_pay, vec![("JJ-R01".to_string(), vec![1])]);
}
