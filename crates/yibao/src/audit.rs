//! `yibao audit run --visits V.jsonl --persons P.csv [--policy P] [--catalog C] [--from D --to D]
//! [--rules DIR] [--out F]`: settles the visits as `yibao settle` does (line splits and fund
//! amounts), then runs the rule base and the seven models of `yibao-audit` and writes one JSON line
//! per finding. The rules are the crate's and the rule set's data; this module reads and writes files.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use chrono::{NaiveDate, NaiveDateTime};
use clap::{Args, Subcommand};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;
use yibao_audit::{
    audit, audit_where, Claim, ClaimLine, Finding, Period, PersonInfo, RuleSet, HISTORY_DAYS,
};
use yibao_catalog::Catalog;
use yibao_domain::Fen;
use yibao_ledger::audit_claims;
use yibao_policy::Policy;
use yibao_settlement::Engine;
use yibao_wire::render::{LineResult, Yuan};
use yibao_wire::{BatchSettler, Outcome, SettleOutput, WireVisit};

/// What each output field means (also in the README).
const RUN_OUTPUT: &str = "\
Output: one JSON line per finding, ordered by kind (rule before model), id, then the evidence.
  kind             rule or model
  id               the rule id (JJ-R01 …) or the model's name: 门诊异常, 异常购药, 卡聚集, 体检住院,
                   慢特病人群分析, 高频就诊人群分析, 住院异常
  psn_nos, fixmedins_codes, mdtrt_ids   the evidence: persons, institutions and visits concerned
  amount           yuan at issue (two decimals): the flagged lines' in-scope amount for a line rule,
                   fund plus account payment of the visits for a visit rule or a model
  score            0–100: a rule's severity (100 明确违规, 80 高度可疑, 60 轻度可疑), a model's score (60–100)
  reason           a sentence in Chinese";

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Post-payment audit (事后) of a file of visits: every rule and the seven models.
    #[command(after_help = RUN_OUTPUT)]
    Run(RunArgs),
}

#[derive(Args)]
struct RunArgs {
    /// JSON Lines of visits in the `yibao settle` input format.
    #[arg(long, required_unless_present = "month", conflicts_with = "month")]
    visits: Option<PathBuf>,
    /// Person CSV (the import format: `psn_no, gend, brdy, …`) with the optional columns `tel`,
    /// `addr`, `emp_name` and `death_date` (yyyy-MM-dd); other columns are ignored.
    #[arg(long, required_unless_present = "month", conflicts_with = "month")]
    persons: Option<PathBuf>,
    /// Policy file (TOML) [default: the shipped 九江 policy, policies/jiujiang.toml].
    #[arg(long, conflicts_with = "month")]
    policy: Option<PathBuf>,
    /// Catalogue of the place of treatment (CSV, or TAB-separated .txt/.tsv) [default: the
    /// `catalog.csv` beside the visits file, as `yibao synth` writes it, else the shipped 九江
    /// sample catalogue, catalogs/jiujiang-sample.csv].
    #[arg(long, conflicts_with = "month")]
    catalog: Option<PathBuf>,
    /// First day of the audited period (yyyy-MM-dd); earlier visits still count as history.
    #[arg(long, conflicts_with = "month")]
    from: Option<NaiveDate>,
    /// Last day of the audited period (yyyy-MM-dd).
    #[arg(long, conflicts_with = "month")]
    to: Option<NaiveDate>,
    /// Audit the claims settled in this month (yyyy-MM) in the ledger instead of files, with the
    /// year before as history; the findings are also stored (replacing the month's earlier ones).
    #[arg(long)]
    month: Option<String>,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Rule set directory holding rules.toml, knowledge.toml and models.toml [default: the shipped
    /// 九江 set, rules/jiujiang].
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Findings file (JSON Lines) [default: standard output].
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: &AuditArgs) -> anyhow::Result<bool> {
    match &args.command {
        AuditCommand::Run(run) => run_audit(run),
    }
}

/// Where the ledger is (`--month`, `yibao case`).
#[derive(Args)]
pub struct LedgerArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data", global = true)]
    data_dir: PathBuf,
    /// `postgres://…` or `sqlite:…` instead of the embedded database.
    #[arg(long, global = true)]
    database: Option<String>,
}

impl LedgerArgs {
    /// Opens the ledger.
    pub async fn open(&self) -> anyhow::Result<yibao_ledger::Store> {
        let database = match &self.database {
            Some(url) => yibao_region::Database::Url(url.clone()),
            None => yibao_region::Database::DataDir(self.data_dir.clone()),
        };
        Ok(yibao_region::open(&database).await?)
    }
}

/// One output line.
#[derive(Serialize)]
struct FindingLine<'a> {
    kind: &'static str,
    id: &'a str,
    psn_nos: &'a [String],
    fixmedins_codes: &'a [String],
    mdtrt_ids: &'a [String],
    amount: Yuan,
    score: u32,
    reason: &'a str,
}

impl<'a> FindingLine<'a> {
    fn of(f: &'a Finding) -> FindingLine<'a> {
        FindingLine {
            kind: f.kind.as_str(),
            id: &f.id,
            psn_nos: &f.psn_nos,
            fixmedins_codes: &f.fixmedins_codes,
            mdtrt_ids: &f.mdtrt_ids,
            amount: Yuan(f.amount),
            score: f.score,
            reason: &f.reason,
        }
    }
}

fn load_rules(dir: Option<&Path>) -> anyhow::Result<RuleSet> {
    Ok(yibao_server::audit::load_rule_set(dir)?)
}

/// Reads the person file; every problem names the row and column.
fn read_persons(path: &Path) -> anyhow::Result<FxHashMap<String, PersonInfo>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let Some(psn_no) = column("psn_no") else {
        bail!("{}: 缺少列 psn_no", path.display());
    };
    let (gend, brdy, death) = (column("gend"), column("brdy"), column("death_date"));
    let (tel, addr, emp) = (column("tel"), column("addr"), column("emp_name"));
    let mut persons = FxHashMap::default();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.with_context(|| format!("{} 第 {row} 行", path.display()))?;
        let text = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let date = |c: Option<usize>, name: &str| -> anyhow::Result<Option<NaiveDate>> {
            match text(c).as_str() {
                "" => Ok(None),
                t => yibao_wire::lenient::parse_datetime(t)
                    .map(|d| Some(d.date()))
                    .with_context(|| {
                        format!(
                            "{} 第 {row} 行 {name}：`{t}` 不是日期 yyyy-MM-dd",
                            path.display()
                        )
                    }),
            }
        };
        let person = PersonInfo {
            psn_no: text(Some(psn_no)),
            gend: text(gend),
            brdy: date(brdy, "brdy")?,
            death_date: date(death, "death_date")?,
            tel: text(tel),
            addr: text(addr),
            emp_name: text(emp),
        };
        if person.psn_no.is_empty() {
            bail!("{} 第 {row} 行 psn_no：为空", path.display());
        }
        persons.insert(person.psn_no.clone(), person);
    }
    Ok(persons)
}

/// Diagnosis codes of a `dise_codg` (`;`- or `,`-separated).
fn split_diagnoses(dise_codg: &str) -> Vec<String> {
    dise_codg
        .split([';', ','])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// The claim of a settled visit: the visit as sent, with each line's category and in-scope amount
/// and the visit's fund amounts from the settlement.
fn claim_of(
    wire: &WireVisit,
    raw: &Value,
    settled: &SettleOutput,
    policy: &Policy,
    catalog: &Catalog,
) -> Claim {
    let results: FxHashMap<&str, &LineResult> = settled
        .result
        .iter()
        .map(|r| (r.feedetl_sn.as_str(), r))
        .collect();
    let doctors = raw.get("feedetail").and_then(Value::as_array);
    let lines = wire
        .feedetail
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let result = results.get(l.feedetl_sn.as_str());
            let own = result.map_or(Fen::ZERO, |r| r.fulamt_ownpay_amt.0);
            ClaimLine {
                code: l.med_list_codg.clone(),
                chrgitm_type: result
                    .and_then(|r| r.med_chrgitm_type.clone())
                    .unwrap_or_default(),
                cnt_e4: l.cnt,
                pric_micro_yuan: l.pric,
                amount: l.det_item_fee_sumamt,
                inscope: l.det_item_fee_sumamt - own,
                doctor: doctors
                    .and_then(|d| d.get(i))
                    .and_then(|d| d.get("bilg_dr_codg"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                limits: yibao_server::audit::line_limits(catalog, &l.med_list_codg),
            }
        })
        .collect();
    let amounts = &settled.setlinfo.amounts.amounts;
    Claim {
        mdtrt_id: wire.mdtrt_id.clone(),
        psn_no: wire.psn_no.clone(),
        fixmedins_code: wire.fixmedins_code.clone().unwrap_or_default(),
        med_type: wire.med_type.to_string(),
        level: policy.level_of(wire.hosp_lv).map_or(1, |l| l.level),
        insutype: wire.insutype.to_string(),
        gend: wire.gend.to_string(),
        brdy: Some(wire.brdy),
        diagnoses: split_diagnoses(wire.dise_codg.as_deref().unwrap_or_default()),
        begin: wire.begntime,
        end: wire.endtime,
        lines,
        total: amounts.medfee_sumamt,
        fund_pay: amounts.fund_pay_sumamt,
        acct_pay: amounts.acct_pay,
    }
}

/// A line for a settling shard: its 1-based number and its JSON.
type NumberedLine = (usize, Value);

/// Settles the file in person shards, one thread each (a person's visits and cancellations stay
/// in order within their shard); cancelled visits are dropped. Bad lines are reported on standard
/// error and skipped.
fn read_claims(
    path: &Path,
    policy: &Policy,
    catalog: &Catalog,
) -> anyhow::Result<(Vec<Claim>, bool)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let shards = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(shards);
        let mut workers = Vec::with_capacity(shards);
        for _ in 0..shards {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<NumberedLine>(4096);
            senders.push(sender);
            workers.push(scope.spawn(move || settle_shard(receiver, path, policy, catalog)));
        }
        let mut all_ok = true;
        let mut owner: FxHashMap<String, usize> = FxHashMap::default();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let raw: Value = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(e) => {
                    all_ok = false;
                    eprintln!("{} 第 {} 行：不是有效的 JSON：{e}", path.display(), i + 1);
                    continue;
                }
            };
            let shard = shard_of(&raw, shards, &mut owner);
            if senders[shard].send((i + 1, raw)).is_err() {
                break;
            }
        }
        drop(senders);
        let mut claims = Vec::new();
        for worker in workers {
            let (mine, ok) = worker
                .join()
                .map_err(|_| anyhow::anyhow!("a settling thread failed"))?;
            claims.extend(mine);
            all_ok &= ok;
        }
        Ok((claims, all_ok))
    })
}

/// The shard of a line: by `psn_no`; a cancellation goes where its visit went.
fn shard_of(raw: &Value, shards: usize, owner: &mut FxHashMap<String, usize>) -> usize {
    use std::hash::{Hash, Hasher};
    let text = |field: &str| match raw.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mdtrt_id = text("mdtrt_id");
    if raw.get("op").and_then(Value::as_str) == Some("cancel") {
        return owner.get(&mdtrt_id).copied().unwrap_or(0);
    }
    let mut hasher = rustc_hash::FxHasher::default();
    text("psn_no").hash(&mut hasher);
    let shard = (hasher.finish() % shards as u64) as usize;
    owner.insert(mdtrt_id, shard);
    shard
}

/// Settles one shard's lines in order.
fn settle_shard(
    lines: std::sync::mpsc::Receiver<NumberedLine>,
    path: &Path,
    policy: &Policy,
    catalog: &Catalog,
) -> (Vec<Claim>, bool) {
    let mut settler = BatchSettler::new(Engine::new(policy, catalog));
    let mut claims: Vec<Claim> = Vec::new();
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut all_ok = true;
    for (line_no, raw) in lines {
        match settler.process_value_numbered(&raw) {
            Outcome::Settled(out) if out.op == "cancel" => {
                if let Some(at) = index.remove(&out.mdtrt_id) {
                    claims[at].mdtrt_id.clear();
                }
            }
            Outcome::Settled(out) => {
                if let Ok(wire) = WireVisit::from_json(&raw) {
                    index.insert(wire.mdtrt_id.clone(), claims.len());
                    claims.push(claim_of(&wire, &raw, &out, policy, catalog));
                }
            }
            Outcome::Error(e) => {
                all_ok = false;
                eprintln!("{} 第 {line_no} 行：{}", path.display(), e.error);
            }
        }
    }
    claims.retain(|c| !c.mdtrt_id.is_empty());
    (claims, all_ok)
}

/// Audits everything first and writes only then; reports counts and speed on standard error.
fn run_audit(args: &RunArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let rules = load_rules(args.rules.as_deref())?;
    let (claims, persons, findings, all_ok) = match &args.month {
        Some(month) => month_claims(args, month, &rules)?,
        None => file_claims(args, &rules)?,
    };
    let read_s = started.elapsed().as_secs_f64();
    write_findings(args.out.as_deref(), &findings)?;
    drop(persons);
    let seconds = started.elapsed().as_secs_f64();
    let lines: usize = claims.iter().map(|c| c.lines.len()).sum();
    eprintln!(
        "yibao audit run: {} 条规则（{} {}），{} 次就诊、{lines} 条明细，{} 条发现；读取与结算 {read_s:.2} s，共 {seconds:.2} s（{:.0} 条明细/秒）",
        rules.rules.len(),
        rules.meta.region,
        rules.meta.version,
        claims.len(),
        findings.len(),
        lines as f64 / seconds.max(1e-9)
    );
    Ok(all_ok)
}

/// Claims, persons, findings and whether every input line was read.
type Audited = (
    Vec<Claim>,
    FxHashMap<String, PersonInfo>,
    Vec<Finding>,
    bool,
);

/// File mode: the visits settled with the policy and catalogue given, audited over `--from`–`--to`.
fn file_claims(args: &RunArgs, rules: &RuleSet) -> anyhow::Result<Audited> {
    let (Some(visits), Some(persons)) = (&args.visits, &args.persons) else {
        bail!("--visits 与 --persons 须一起给出（或用 --month 审核账本）");
    };
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            bail!("--from {from} 晚于 --to {to}：审核期间为空");
        }
    }
    let policy = match &args.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::parse(SHIPPED_POLICY).context("policies/jiujiang.toml")?,
    };
    let catalog = region_catalog(args.catalog.as_deref(), visits)?;
    let persons = read_persons(persons)?;
    let (claims, all_ok) = read_claims(visits, &policy, &catalog)?;
    let period = Period {
        from: args.from,
        to: args.to,
    };
    let findings = audit(rules, &claims, &persons, &period);
    Ok((claims, persons, findings, all_ok))
}

/// The shipped reference policy (九江), used when no `--policy` is given.
const SHIPPED_POLICY: &str = include_str!("../../../policies/jiujiang.toml");
/// The shipped sample catalogue, used when no `--catalog` is given and none lies beside the visits.
const SHIPPED_CATALOG: &str = include_str!("../../../catalogs/jiujiang-sample.csv");
/// The catalogue file `yibao synth` writes beside its visits.
const SYNTH_CATALOG: &str = "catalog.csv";

/// The catalogue of the place of treatment: `--catalog`, else the one beside the visits, else the
/// shipped sample (said on standard error).
fn region_catalog(given: Option<&Path>, visits: &Path) -> anyhow::Result<Catalog> {
    if let Some(path) = given {
        return Ok(Catalog::from_path(path)?);
    }
    let beside = visits
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(SYNTH_CATALOG);
    if beside.is_file() {
        eprintln!("yibao audit run: 目录 {}", beside.display());
        return Ok(Catalog::from_path(&beside)?);
    }
    eprintln!("yibao audit run: 目录为内置的九江样例目录 catalogs/jiujiang-sample.csv");
    Catalog::from_reader(SHIPPED_CATALOG.as_bytes(), b',').context("catalogs/jiujiang-sample.csv")
}

/// The first and last moment of a month `yyyy-MM`.
fn month_bounds(month: &str) -> anyhow::Result<(NaiveDateTime, NaiveDateTime)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| month.len() == 7)
        .with_context(|| format!("--month {month}：须为 yyyy-MM"))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .context("--month：月份超出范围")?;
    let last = (next - chrono::Duration::days(1))
        .and_hms_opt(23, 59, 59)
        .context("--month：月份超出范围")?;
    Ok((first.and_time(chrono::NaiveTime::MIN), last))
}

/// Ledger mode: the claims settled in the month, with the [`HISTORY_DAYS`] before as history, levels
/// and catalogue restrictions from the stored policies and catalogues; findings are stored.
fn month_claims(args: &RunArgs, month: &str, rules: &RuleSet) -> anyhow::Result<Audited> {
    let (first, last) = month_bounds(month)?;
    let history_from = first - chrono::Duration::days(HISTORY_DAYS);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = args.ledger.open().await?;
        let regions = yibao_server::state::Regions::load(&store).await?;
        let mut conn = store.pool().acquire().await?;
        let institutions = yibao_ledger::registry::institutions(&mut conn).await?;
        let visits = audit_claims::settled_visits(&mut conn, history_from, last).await?;
        let persons: FxHashMap<String, PersonInfo> = audit_claims::person_facts(&mut conn)
            .await?
            .into_iter()
            .map(|(psn_no, gend, brdy)| {
                let info = PersonInfo {
                    psn_no: psn_no.clone(),
                    gend,
                    brdy,
                    ..PersonInfo::default()
                };
                (psn_no, info)
            })
            .collect();
        let claims: Vec<Claim> = visits
            .iter()
            .map(|v| stored_claim_of(v, &regions, &institutions))
            .collect();
        let settled_in_month: rustc_hash::FxHashSet<&str> = visits
            .iter()
            .filter(|v| v.setl_time >= first)
            .map(|v| v.mdtrt_id.as_str())
            .collect();
        let findings = audit_where(rules, &claims, &persons, &|c: &Claim| {
            settled_in_month.contains(c.mdtrt_id.as_str())
        });
        let stored: Vec<audit_claims::StoredFinding> =
            findings.iter().map(stored_finding).collect();
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
        audit_claims::replace_findings(&mut conn, month, &stored, &now).await?;
        drop(conn);
        store.close().await;
        Ok((claims, persons, findings, true))
    })
}

/// A settled visit of the ledger as a claim: its institution's level under the policy of the
/// institution's region, the catalogue's restrictions of each line.
fn stored_claim_of(
    visit: &audit_claims::SettledVisit,
    regions: &yibao_server::state::Regions,
    institutions: &[yibao_ledger::Institution],
) -> Claim {
    let institution = institutions
        .iter()
        .find(|i| i.fixmedins_code == visit.fixmedins_code);
    let admdvs = institution.map_or("", |i| i.admdvs.as_str());
    let policy = regions.policy_for(admdvs);
    let catalog = regions
        .region_of(admdvs)
        .and_then(|region| regions.catalog(region));
    let level = match (policy, institution) {
        (Some(policy), Some(institution)) => yibao_domain::Code::new(&institution.hosp_lv)
            .ok()
            .and_then(|lv| policy.parsed.level_of(lv))
            .map_or(1, |l| l.level),
        _ => 1,
    };
    let lines = visit
        .lines
        .iter()
        .map(|l| yibao_server::audit::claim_line(l, catalog.map(|c| c.parsed.as_ref())))
        .collect();
    Claim {
        mdtrt_id: visit.mdtrt_id.clone(),
        psn_no: visit.psn_no.clone(),
        fixmedins_code: visit.fixmedins_code.clone(),
        med_type: visit.med_type.to_string(),
        level,
        insutype: visit.insutype.to_string(),
        gend: String::new(),
        brdy: None,
        diagnoses: split_diagnoses(&visit.dise_codg),
        begin: visit.begntime,
        end: visit.endtime,
        lines,
        total: visit.medfee_sumamt,
        fund_pay: visit.fund_pay_sumamt,
        acct_pay: visit.acct_pay,
    }
}

fn stored_finding(f: &Finding) -> audit_claims::StoredFinding {
    audit_claims::StoredFinding {
        kind: f.kind.as_str().to_string(),
        id: f.id.clone(),
        psn_nos: f.psn_nos.clone(),
        fixmedins_codes: f.fixmedins_codes.clone(),
        mdtrt_ids: f.mdtrt_ids.clone(),
        amount: f.amount,
        score: i64::from(f.score),
        reason: f.reason.clone(),
    }
}

/// Writes one JSON line per finding to `out` (standard output without it).
fn write_findings(out: Option<&Path>, findings: &[Finding]) -> anyhow::Result<()> {
    let out: Box<dyn Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(out);
    for finding in findings {
        serde_json::to_writer(&mut out, &FindingLine::of(finding))?;
        out.write_all(b"\n")?;
    }
    out.flush().context("writing the findings")
}
