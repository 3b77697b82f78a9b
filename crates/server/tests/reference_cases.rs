//! The settlement-core reference cases (`crates/settlement/tests/cases`) replayed over HTTP as a HIS
//! would: register/admit, upload fees, discharge, settle (2207/2304), cancel (2208/2305). The amounts in
//! the replies must equal the cases' expectations, which the engine meets on its own.
//!
//! The cases of stays in another province are replayed a second time across platforms (issue 11):
//! the persons and their filings on the insured platform, the hospital on a platform of its own
//! province, which reads the card (1101) and settles with the insured one. The replies must carry
//! the same amounts to the fen.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use common::{fresh_database, his_envelope, repo_root, Backend, Harness};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_his::{medfee_sumamt, steps, Client, HttpTransport, Message, Reply, Visit};
use yibao_server::config::{Config, PeerConfig};

#[derive(Deserialize)]
struct Case {
    description: String,
    policy: String,
    catalog: String,
    steps: Vec<toml::Table>,
}

/// What the server issued for one of the case's visits.
struct Issued {
    mdtrt_id: String,
    setl_id: Option<String>,
    inpatient: bool,
}

/// Where a replay's messages go and where its persons live.
#[derive(Clone, Copy)]
struct Sites<'h> {
    /// The platform of the hospital: institutions, messages, visits.
    treating: &'h Harness,
    /// The platform of the persons: registry and filings.
    insured: &'h Harness,
}

impl Sites<'_> {
    /// Two platforms: the hospital reads the card (1101) at its own platform before each visit.
    fn across(&self) -> bool {
        !std::ptr::eq(self.treating, self.insured)
    }
}

/// Replays one case file; `tag` keeps its persons and institutions apart from other cases.
struct Replay<'h> {
    sites: Sites<'h>,
    his: Client<'h, HttpTransport>,
    tag: String,
    persons: HashMap<String, Vec<Value>>,
    institutions: HashMap<String, String>,
    visits: HashMap<String, Issued>,
}

fn text(step: &Value, key: &str) -> String {
    match &step[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// A reply's `setlinfo` as sent, and the parsed reply.
fn setlinfo_text(reply: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Reply<'a> {
        #[serde(borrow)]
        output: Option<Output<'a>>,
    }
    #[derive(Deserialize)]
    struct Output<'a> {
        #[serde(borrow)]
        setlinfo: &'a RawValue,
    }
    let parsed: Reply<'_> = serde_json::from_str(reply).ok()?;
    parsed.output.map(|o| o.setlinfo.get().to_string())
}

/// The visit of a settle step, at the replay's institution and person.
fn case_visit(step: &Value, fixmedins: &str, psn_no: &str) -> Result<Visit, String> {
    let feedetail = serde_json::from_value(step["feedetail"].clone())
        .map_err(|e| format!("feedetail of the case: {e}"))?;
    let endtime = text(step, "endtime");
    Ok(Visit {
        psn_no: psn_no.to_string(),
        insutype: text(step, "insutype"),
        med_type: text(step, "med_type"),
        begntime: text(step, "begntime"),
        endtime: (!endtime.is_empty()).then_some(endtime),
        fixmedins_code: fixmedins.to_string(),
        refl_flag: text(step, "refl_flag"),
        dise_codg: text(step, "dise_codg"),
        feedetail,
    })
}

/// The final settlement of an admission (2304) or an outpatient visit (2207).
fn settle_message(visit: &Visit, mdtrt_id: &str, total: Fen, inpatient: bool) -> Message {
    if inpatient {
        steps::settle_inpatient(visit, mdtrt_id, total, false)
    } else {
        steps::settle_outpatient(visit, mdtrt_id, total)
    }
}

impl Replay<'_> {
    async fn ensure_person(&mut self, step: &Value) -> Option<String> {
        let psn_no = text(step, "psn_no");
        if psn_no.is_empty() {
            return None;
        }
        let id = format!("{}{psn_no}", self.tag);
        let insutype = text(step, "insutype");
        let rows = self.persons.entry(id.clone()).or_default();
        if rows.iter().any(|r| r["insutype"] == insutype.as_str()) {
            return Some(id);
        }
        let idet: Vec<String> = step["idet"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        rows.push(json!({
            "psn_no": id, "psn_cert_type": "01", "certno": format!("C{id}"), "psn_name": "参考", "gend": text(step, "gend"),
            "brdy": text(step, "brdy"), "insutype": insutype, "psn_type": text(step, "psn_type"), "psn_insu_stas": "1",
            "psn_insu_date": "2000-01-01", "insuplc_admdvs": text(step, "insuplc_admdvs"), "cvlserv_flag": text(step, "cvlserv_flag"),
            "balc": text(step, "balc"), "idet": idet.join(";"),
        }));
        let rows = rows.clone();
        self.sites
            .insured
            .admin("POST", "/admin/persons", Value::Array(rows).to_string())
            .await;
        Some(id)
    }

    async fn ensure_institution(&mut self, step: &Value) -> String {
        let (lv, admdvs) = (text(step, "hosp_lv"), text(step, "medins_admdvs"));
        let key = format!("{}/{lv}/{admdvs}", text(step, "fixmedins_code"));
        let next = self.institutions.len();
        let code = self
            .institutions
            .entry(key)
            .or_insert_with(|| format!("{}I{next:02}", self.tag))
            .clone();
        let institution = json!([{ "fixmedins_code": code, "fixmedins_name": "参考医院", "fixmedins_type": "1", "hosp_lv": lv, "admdvs": admdvs }]);
        self.sites
            .treating
            .admin("POST", "/admin/institutions", institution.to_string())
            .await;
        code
    }

    /// Sends a message with a fresh msgid; its reply, or the error's text.
    async fn send(&self, message: &Message) -> Result<Reply, String> {
        self.his.send(message).await.map_err(|e| e.to_string())
    }

    /// Runs a settle step as a HIS flow; returns the settlement reply text, or the first error.
    async fn settle(
        &mut self,
        step: &Value,
        fixmedins: &str,
        psn_no: &str,
    ) -> Result<String, String> {
        let visit = case_visit(step, fixmedins, psn_no)?;
        let case_mdtrt = text(step, "mdtrt_id");
        if let Some(issued) = self.visits.get(&case_mdtrt).filter(|v| v.setl_id.is_some()) {
            let again = settle_message(&visit, &issued.mdtrt_id, Fen::ZERO, issued.inpatient);
            return self.send(&again).await.map(|reply| reply.text);
        }
        let inpatient = visit.med_type.starts_with('2');
        if self.sites.across() {
            self.send(&steps::person_info(&visit)).await?;
        }
        let mdtrt_id = self.open_visit(&visit, inpatient).await?;
        let upload = if inpatient {
            steps::upload_inpatient_fees(&visit, &mdtrt_id)
        } else {
            steps::upload_outpatient_fees(&visit, &mdtrt_id)
        };
        self.send(&upload).await?;
        if inpatient {
            self.send(&steps::discharge(&visit, &mdtrt_id)).await?;
        }
        let total = medfee_sumamt(&visit.feedetail).map_err(|e| e.to_string())?;
        let reply = self
            .send(&settle_message(&visit, &mdtrt_id, total, inpatient))
            .await?;
        self.visits.insert(
            case_mdtrt,
            Issued {
                mdtrt_id,
                setl_id: steps::settled_setl_id(&reply).ok(),
                inpatient,
            },
        );
        Ok(reply.text)
    }

    /// Admits (2401), or registers (2201) and describes (2203) an outpatient visit; its id.
    async fn open_visit(&self, visit: &Visit, inpatient: bool) -> Result<String, String> {
        if inpatient {
            let admitted = self.send(&steps::admit(visit)).await?;
            return steps::admitted_mdtrt_id(&admitted).map_err(|e| e.to_string());
        }
        let registered = self.send(&steps::register(visit)).await?;
        let mdtrt_id = steps::registered_mdtrt_id(&registered).map_err(|e| e.to_string())?;
        self.send(&steps::visit_info(visit, &mdtrt_id)).await?;
        Ok(mdtrt_id)
    }

    async fn cancel(&mut self, step: &Value) -> Result<String, String> {
        let case_mdtrt = text(step, "mdtrt_id");
        let Some(issued) = self.visits.get(&case_mdtrt) else {
            return Err(format!("unknown mdtrt_id {case_mdtrt}"));
        };
        let setl_id = issued.setl_id.clone().unwrap_or_default();
        let cancel = Message {
            infno: if issued.inpatient { "2305" } else { "2208" },
            fixmedins_code: self.owner_of(&issued.mdtrt_id).await,
            input: json!({ "data": { "setl_id": setl_id, "mdtrt_id": issued.mdtrt_id } }),
        };
        self.send(&cancel).await.map(|reply| reply.text)
    }

    async fn owner_of(&self, mdtrt_id: &str) -> String {
        let mut conn = self.sites.treating.store.pool().acquire().await.unwrap();
        yibao_ledger::entries::visit(&mut conn, mdtrt_id)
            .await
            .unwrap()
            .unwrap()
            .fixmedins_code
    }

    async fn step(&mut self, step: &Value) -> Result<String, String> {
        if step["op"] == "cancel" {
            return self.cancel(step).await;
        }
        let fixmedins = self.ensure_institution(step).await;
        let psn_no = self.ensure_person(step).await.unwrap_or_default();
        self.file_remote(step, &psn_no).await;
        self.settle(step, &fixmedins, &psn_no).await
    }

    /// Files what a step's `filing_status` says the insured platform's register holds, at the
    /// counter (`/admin/filings`), for the place and first day of the stay; `unfiled` and
    /// `in_province` file nothing: the register decides.
    async fn file_remote(&self, step: &Value, psn_no: &str) {
        let fil_type = match text(step, "filing_status").as_str() {
            "long_term" => "02",
            "referral" => "04",
            "emergency" => "05",
            "temporary" => "06",
            _ => return,
        };
        let begntime = text(step, "begntime");
        let filing = json!({
            "psn_no": psn_no, "insutype": text(step, "insutype"), "fil_type": fil_type,
            "mdtrtarea_admdvs": text(step, "medins_admdvs"), "begndate": &begntime[..10],
            "operator": "参考柜员",
        });
        self.sites
            .insured
            .admin("POST", "/admin/filings", filing.to_string())
            .await;
    }
}

/// Checks a step's outcome; an expected error is matched in the interface's words
/// (`interface_error`) when the case gives them, else by `error`.
fn check(outcome: &Result<String, String>, expect: &toml::Table) -> Vec<String> {
    let error = expect
        .get("interface_error")
        .or_else(|| expect.get("error"))
        .and_then(toml::Value::as_str);
    if let Some(error) = error {
        return match outcome {
            Err(e) if e.contains(error) => vec![],
            Err(e) => vec![format!("error `{e}` does not contain `{error}`")],
            Ok(_) => vec![format!(
                "expected an error containing `{error}`, but it settled"
            )],
        };
    }
    let reply = match outcome {
        Ok(reply) => reply,
        Err(e) => return vec![format!("expected a settlement, got error: {e}")],
    };
    let Some(setlinfo) = setlinfo_text(reply) else {
        return vec!["no setlinfo in the reply".into()];
    };
    let mut problems = Vec::new();
    for (field, expected) in expect {
        if field == "funds" {
            problems.extend(check_funds(reply, expected));
            continue;
        }
        let expected = expected.as_str().unwrap_or_default();
        if !setlinfo.contains(&format!("\"{field}\":{expected}")) {
            problems.push(format!("{field}: expected {expected} in {setlinfo}"));
        }
    }
    problems
}

fn check_funds(reply: &str, expected: &toml::Value) -> Vec<String> {
    let value: Value = serde_json::from_str(reply).unwrap();
    let mut actual: BTreeMap<String, Fen> = BTreeMap::new();
    for row in value["output"]["setldetail"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let code = row["fund_pay_type"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if code == "310200" {
            continue;
        }
        let amount = Fen::parse_yuan(&row["fund_payamt"].to_string()).unwrap();
        *actual.entry(code).or_default() += amount;
    }
    actual.retain(|_, a| *a != Fen::ZERO);
    let expected: BTreeMap<String, Fen> = expected
        .as_table()
        .into_iter()
        .flatten()
        .map(|(code, amount)| {
            (
                code.clone(),
                Fen::parse_yuan(amount.as_str().unwrap_or("x")).unwrap(),
            )
        })
        .collect();
    if actual == expected {
        vec![]
    } else {
        vec![format!("funds: expected {expected:?}, got {actual:?}")]
    }
}

/// The province of the insured platforms (江西).
const INSURED_PROVINCE: &str = "36";
/// A peer of a platform: the platform of the insured places `prefix` at `url`, and the
/// credentials the treating platform of `treating_province` and the insured one share.
fn peer(prefix: &str, url: &str, treating_province: &str) -> PeerConfig {
    PeerConfig {
        admdvs_prefix: prefix.into(),
        url: url.into(),
        access_key: format!("ref-{treating_province}"),
        secret: format!("ref-secret-{treating_province}"),
    }
}

/// A platform on a fresh database of `backend` holding `policy_text` and `catalog` for its region.
async fn platform(backend: Backend, config: Config, policy_text: String, catalog: &str) -> Harness {
    let (database, dir) = fresh_database(backend, "ref").await;
    let h = Harness::start_with(Config {
        database,
        data_dir: dir,
        ..config
    })
    .await;
    let admdvs = h.admin("PUT", "/admin/policy", policy_text).await["admdvs"]
        .as_str()
        .unwrap()
        .to_string();
    let catalog_text = std::fs::read_to_string(repo_root().join(catalog)).unwrap();
    h.admin("PUT", &format!("/admin/catalog/{admdvs}"), catalog_text)
        .await;
    h
}

async fn harness_for(backend: Backend, policy: &str, catalog: &str) -> Harness {
    let policy_text = std::fs::read_to_string(repo_root().join(policy)).unwrap();
    platform(backend, Config::default(), policy_text, catalog).await
}

/// The case files, in name order.
fn case_files() -> Vec<PathBuf> {
    let dir = repo_root().join("crates/settlement/tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the reference cases, found {}",
        files.len()
    );
    files
}

fn load_case(file: &Path) -> Case {
    toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// What replaying a case came to.
struct Replayed {
    /// A line per problem.
    failures: Vec<String>,
    /// The visits it settled.
    settled: usize,
}

/// Replays `case` at `sites` with a HIS speaking `envelope`.
async fn replay_case(
    sites: Sites<'_>,
    envelope: yibao_his::Envelope,
    tag: String,
    file: &Path,
    case: Case,
) -> Replayed {
    let h = sites.treating;
    let his = Client::new(HttpTransport::new(h.client.clone(), &h.base), envelope)
        .with_msgids(|fixmedins: &str| h.msgid(fixmedins));
    let mut replay = Replay {
        sites,
        his,
        tag,
        persons: HashMap::new(),
        institutions: HashMap::new(),
        visits: HashMap::new(),
    };
    let mut failures = Vec::new();
    for (n, mut step) in case.steps.into_iter().enumerate() {
        let expect = step
            .remove("expect")
            .and_then(|e| e.as_table().cloned())
            .unwrap_or_default();
        let step = serde_json::to_value(toml::Value::Table(step)).unwrap();
        let outcome = replay.step(&step).await;
        for problem in check(&outcome, &expect) {
            failures.push(format!(
                "{} ({}) step {}: {problem}",
                file.file_name().unwrap().to_string_lossy(),
                case.description,
                n + 1
            ));
        }
    }
    let settled = replay.visits.values().filter(|v| v.setl_id.is_some());
    Replayed {
        failures,
        settled: settled.count(),
    }
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn replay_all(backend: Backend) {
    let mut servers: HashMap<(String, String), Harness> = HashMap::new();
    let mut failures = Vec::new();
    for (index, file) in case_files().iter().enumerate() {
        let case = load_case(file);
        let key = (case.policy.clone(), case.catalog.clone());
        if !servers.contains_key(&key) {
            servers.insert(
                key.clone(),
                harness_for(backend, &case.policy, &case.catalog).await,
            );
        }
        let h = &servers[&key];
        let sites = Sites {
            treating: h,
            insured: h,
        };
        let tag = format!("K{index:02}");
        let replayed = replay_case(sites, his_envelope(), tag, file, case).await;
        failures.extend(replayed.failures);
    }
    for h in servers.values() {
        h.assert_verifies().await;
    }
    assert_no_failures(&failures);
}

/// The province of every visit of `case` when they are all at hospitals of one other province.
fn other_province(case: &Case) -> Option<String> {
    let mut provinces = case
        .steps
        .iter()
        .filter(|step| step.get("op").and_then(toml::Value::as_str) != Some("cancel"))
        .map(|step| {
            let admdvs = step.get("medins_admdvs").and_then(toml::Value::as_str);
            admdvs.unwrap_or_default().get(..2).unwrap_or_default()
        });
    let province = provinces.next()?;
    let one = provinces.all(|p| p == province);
    (one && !province.is_empty() && province != INSURED_PROVINCE).then(|| province.to_string())
}

/// An insured platform with `case`'s policy and catalogue, and the treating platforms it lists.
struct Platforms {
    insured: Harness,
    /// By province: 九江's rules and `case`'s catalogue for region `<province>0100`, listing the
    /// insured platform.
    treating: HashMap<String, Harness>,
}

/// The provinces of the treating platforms: every other province a case's hospitals are in.
fn treating_provinces(files: &[(PathBuf, Case)]) -> Vec<String> {
    let mut provinces: Vec<String> = files
        .iter()
        .filter_map(|(_, case)| other_province(case))
        .collect();
    provinces.sort();
    provinces.dedup();
    provinces
}

async fn platforms_for(backend: Backend, case: &Case, provinces: &[String]) -> Platforms {
    let policy_text = std::fs::read_to_string(repo_root().join(&case.policy)).unwrap();
    let insured_config = Config {
        peers: provinces
            .iter()
            .map(|p| peer(p, "http://127.0.0.1:9", p))
            .collect(),
        ..Config::default()
    };
    let insured = platform(backend, insured_config, policy_text, &case.catalog).await;
    let mut treating = HashMap::new();
    for province in provinces {
        let admdvs = format!("{province}0100");
        let config = Config {
            platform_admdvs: admdvs.clone(),
            peers: vec![peer(INSURED_PROVINCE, &insured.base, province)],
            ..Config::default()
        };
        let rules = common::jiujiang_rules_at(&admdvs);
        let t = platform(backend, config, rules, &case.catalog).await;
        treating.insert(province.clone(), t);
    }
    Platforms { insured, treating }
}

/// The cases of stays in another province, each across platforms: the same amounts.
async fn replay_across_platforms(backend: Backend) {
    let files: Vec<(PathBuf, Case)> = case_files()
        .into_iter()
        .map(|file| {
            let case = load_case(&file);
            (file, case)
        })
        .collect();
    let provinces = treating_provinces(&files);
    let mut groups: HashMap<(String, String), Platforms> = HashMap::new();
    let mut failures = Vec::new();
    let (mut replayed, mut settled) = (0, 0);
    for (index, (file, case)) in files.into_iter().enumerate() {
        let Some(province) = other_province(&case) else {
            continue;
        };
        let key = (case.policy.clone(), case.catalog.clone());
        if !groups.contains_key(&key) {
            groups.insert(key.clone(), platforms_for(backend, &case, &provinces).await);
        }
        let group = &groups[&key];
        let treating = &group.treating[&province];
        let insuplc_admdvs = case.steps[0]
            .get("insuplc_admdvs")
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_string();
        let envelope = yibao_his::Envelope {
            mdtrtarea_admvs: format!("{province}0100"),
            insuplc_admdvs,
            ..his_envelope()
        };
        let sites = Sites {
            treating,
            insured: &group.insured,
        };
        let tag = format!("X{index:02}");
        let outcome = replay_case(sites, envelope, tag, &file, case).await;
        failures.extend(outcome.failures);
        settled += outcome.settled;
        replayed += 1;
    }
    assert!(replayed >= 20, "cases of another province: {replayed}");
    let mut intents = 0;
    for group in groups.values() {
        group.insured.assert_verifies().await;
        for treating in group.treating.values() {
            treating.assert_verifies().await;
            let mut conn = treating.store.pool().acquire().await.unwrap();
            intents += yibao_ledger::peers::intent_keys(&mut conn)
                .await
                .unwrap()
                .len();
        }
    }
    assert_no_failures(&failures);
    assert!(
        settled >= 20 && intents >= settled,
        "every settlement made with the insured platform: {settled} settled, {intents} intents"
    );
}

#[tokio::test]
async fn reference_cases_over_http_sqlite() {
    replay_all(Backend::Sqlite).await;
}

#[tokio::test]
async fn reference_cases_over_http_postgres() {
    replay_all(Backend::Postgres).await;
}

#[tokio::test]
async fn reference_cases_across_platforms_sqlite() {
    replay_across_platforms(Backend::Sqlite).await;
}

#[tokio::test]
async fn reference_cases_across_platforms_postgres() {
    replay_across_platforms(Backend::Postgres).await;
}
