//! Claims and persons for the audit tests, and the shipped rule set.

#![allow(dead_code)]

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use rustc_hash::FxHashMap;
use yibao_audit::{
    audit, Claim, ClaimLine, Finding, Item, LineLimits, Period, PersonInfo, RuleSet, RuleSetFiles,
    Text,
};
use yibao_domain::{Code, Fen};

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../rules/jiujiang")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shipped 九江 rule set.
pub fn shipped() -> RuleSet {
    let (rules, knowledge, models) = (
        read("rules.toml"),
        read("knowledge.toml"),
        read("models.toml"),
    );
    RuleSet::parse(&RuleSetFiles {
        rules: (&rules, "rules.toml"),
        knowledge: (&knowledge, "knowledge.toml"),
        models: (&models, "models.toml"),
    })
    .expect("the shipped rule set loads")
}

pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("yyyy-MM-dd HH:mm")
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("yyyy-MM-dd")
}

/// A fee line: code, charge category, quantity, unit price in yuan (two decimals at most).
pub fn line(code: &str, chrgitm_type: &str, cnt: &str, price_yuan: &str) -> ClaimLine {
    let cnt_e4 = scaled(cnt, 4);
    let pric_micro_yuan = scaled(price_yuan, 6);
    let amount = Fen(cnt_e4 * pric_micro_yuan / 1_000_000 / 100);
    ClaimLine {
        item: Item::shared(code, Code::lit(chrgitm_type), LineLimits::default()),
        cnt_e4,
        pric_micro_yuan,
        amount,
        inscope: amount,
        doctor: None,
    }
}

fn scaled(text: &str, digits: u32) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<width$}", width = digits as usize);
    whole.parse::<i64>().expect("number") * 10_i64.pow(digits) + frac.parse::<i64>().unwrap_or(0)
}

/// A claim builder with ordinary defaults: outpatient (11) at a level-2 institution, insutype 310,
/// a 40-year-old woman, paid 70 % by the fund.
#[derive(Clone)]
pub struct C(pub Claim);

impl C {
    pub fn new(mdtrt_id: &str, psn_no: &str, begin: &str) -> C {
        C(Claim {
            mdtrt_id: mdtrt_id.into(),
            psn_no: psn_no.into(),
            fixmedins_code: "H1".into(),
            med_type: Code::lit("11"),
            level: 2,
            insutype: Code::lit("310"),
            gend: Code::lit("2"),
            brdy: Some(date("1985-01-01")),
            diagnoses: vec!["J06.900".into()].into(),
            begin: at(begin),
            end: at(begin),
            lines: Box::default(),
            total: Fen::ZERO,
            fund_pay: Fen::ZERO,
            acct_pay: Fen::ZERO,
        })
    }

    /// An inpatient stay from `begin` to `end`.
    pub fn stay(mdtrt_id: &str, psn_no: &str, begin: &str, end: &str) -> C {
        let mut c = C::new(mdtrt_id, psn_no, begin).med_type("21");
        c.0.end = at(end);
        c
    }

    pub fn med_type(mut self, med_type: &str) -> C {
        self.0.med_type = Code::lit(med_type);
        self
    }

    pub fn at_inst(mut self, code: &str, level: u8) -> C {
        self.0.fixmedins_code = code.into();
        self.0.level = level;
        self
    }

    pub fn insutype(mut self, insutype: &str) -> C {
        self.0.insutype = Code::lit(insutype);
        self
    }

    pub fn person(mut self, gend: &str, brdy: &str) -> C {
        self.0.gend = Code::lit(gend);
        self.0.brdy = Some(date(brdy));
        self
    }

    pub fn dx(mut self, codes: &[&str]) -> C {
        self.0.diagnoses = codes.iter().map(|c| Text::from(*c)).collect();
        self
    }

    pub fn line(mut self, l: ClaimLine) -> C {
        self.0.total += l.amount;
        self.0.fund_pay = Fen(self.0.total.fen() * 7 / 10);
        let mut lines = std::mem::take(&mut self.0.lines).into_vec();
        lines.push(l);
        self.0.lines = lines.into();
        self
    }

    /// Paid wholly from the personal account.
    pub fn paid_from_account(mut self) -> C {
        self.0.acct_pay = self.0.total;
        self.0.fund_pay = Fen::ZERO;
        self
    }
}

/// All findings of the shipped rule set over the claims.
pub fn run(claims: Vec<C>, persons: &[PersonInfo]) -> Vec<Finding> {
    let claims: Vec<Claim> = claims.into_iter().map(|c| c.0).collect();
    let persons: FxHashMap<String, PersonInfo> = persons
        .iter()
        .map(|p| (p.psn_no.clone(), p.clone()))
        .collect();
    audit(&shipped(), &claims, &persons, &Period::default())
}

/// The ids of the findings whose evidence includes the visit.
pub fn ids_on(findings: &[Finding], mdtrt_id: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.mdtrt_ids.iter().any(|m| m == mdtrt_id))
        .map(|f| f.id.clone())
        .collect()
}

/// Whether `rule` flags `mdtrt_id` among the claims.
pub fn flags(rule: &str, mdtrt_id: &str, claims: Vec<C>) -> bool {
    flags_with(rule, mdtrt_id, claims, &[])
}

pub fn flags_with(rule: &str, mdtrt_id: &str, claims: Vec<C>, persons: &[PersonInfo]) -> bool {
    ids_on(&run(claims, persons), mdtrt_id)
        .iter()
        .any(|id| id == rule)
}
