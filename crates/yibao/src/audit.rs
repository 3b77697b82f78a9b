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
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use yibao_audit::{
    audit, audit_where, Claim, ClaimLine, Finding, Interner, Period, PersonInfo, RuleSet, Text,
    HISTORY_DAYS,
};
use yibao_catalog::Catalog;
use yibao_domain::Fen;
use yibao_ledger::audit_claims;
use yibao_policy::Policy;
use yibao_settlement::Engine;
use yibao_settlement::{LineSplit, Settlement};
use yibao_wire::render::Yuan;
use yibao_wire::{read_line, Carry, LineError, WireLine, WireVisit};

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

/// Text read per settling round: whole lines, about this many bytes.
const CHUNK_BYTES: usize = 16 << 20;

/// Calls `each` with successive runs of whole lines of the file (about [`CHUNK_BYTES`] each, ending
/// with a newline except at the end of the file) and the 1-based number of the run's first line.
/// A reader thread reads and checks the next run while `each` works on this one.
fn for_each_chunk(
    path: &Path,
    mut each: impl FnMut(&str, usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Chunk>>(1);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<String>();
    std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(file, path, &full_tx, &empty_rx));
        for chunk in full_rx {
            let chunk = chunk?;
            each(&chunk.text, chunk.first_line)?;
            // The reader is gone only when the file is read, and then the buffer is not needed.
            let _ = empty_tx.send(chunk.text);
        }
        Ok(())
    })
}

/// A run of whole lines and the 1-based number of its first line.
struct Chunk {
    text: String,
    first_line: usize,
}

/// Sends the file's runs of lines in order (reusing the buffers sent back), then an error if
/// reading failed; stops early when nobody receives.
fn read_chunks(
    file: std::fs::File,
    path: &Path,
    full: &std::sync::mpsc::SyncSender<anyhow::Result<Chunk>>,
    empty: &std::sync::mpsc::Receiver<String>,
) {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut first_line = 1;
    loop {
        let buffer = empty
            .try_recv()
            .unwrap_or_else(|_| String::with_capacity(CHUNK_BYTES + (1 << 20)));
        let chunk = match read_chunk(&mut reader, path, buffer) {
            Ok(text) if text.is_empty() => return,
            Ok(text) => {
                let lines = text.lines().count();
                let chunk = Chunk { text, first_line };
                first_line += lines;
                Ok(chunk)
            }
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        if full.send(chunk).is_err() || failed {
            return;
        }
    }
}

/// Whole lines of about [`CHUNK_BYTES`] into `buffer`; empty at the end of the file.
fn read_chunk(
    reader: &mut BufReader<std::fs::File>,
    path: &Path,
    buffer: String,
) -> anyhow::Result<String> {
    let mut bytes = buffer.into_bytes();
    bytes.clear();
    while bytes.len() < CHUNK_BYTES {
        let read = reader
            .read_until(b'\n', &mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
    }
    String::from_utf8(bytes).with_context(|| format!("cannot read {}: not UTF-8", path.display()))
}

/// The `mdtrt_id`s some line of the file cancels: only their settlements are kept for undoing.
fn cancelled_ids(path: &Path) -> anyhow::Result<FxHashSet<String>> {
    let mut ids = FxHashSet::default();
    for_each_chunk(path, |text, _| {
        if !yibao_wire::batch::may_have_op(text) {
            return Ok(());
        }
        for line in text.lines().filter(|l| yibao_wire::batch::may_have_op(l)) {
            if let Ok(WireLine::Cancel(id)) = read_line(line) {
                ids.insert(id);
            }
        }
        Ok(())
    })?;
    Ok(ids)
}

/// A settlement a later line cancels, with what undoing it needs.
struct Undo {
    claim: usize,
    psn_no: String,
    insutype: yibao_domain::Code,
    settlement: Settlement,
    live: bool,
}

/// One settling shard: the persons whose `psn_no` hashes to it, their state carried in file
/// order, and their claims built as each visit settles (the JSON is dropped at once).
struct Shard<'a> {
    engine: Engine<'a>,
    policy: &'a Policy,
    catalog: &'a Catalog,
    carry: Carry,
    interner: Interner,
    claims: Vec<Claim>,
    /// `mdtrt_id`s with a live settlement (a second settlement of one is refused).
    live: FxHashSet<Text>,
    to_cancel: &'a FxHashSet<String>,
    undo: FxHashMap<String, Undo>,
    settlement: Settlement,
}

/// A line for a shard: its number and what it holds.
type ShardLine = (usize, WireLine);

impl<'a> Shard<'a> {
    fn new(policy: &'a Policy, catalog: &'a Catalog, to_cancel: &'a FxHashSet<String>) -> Self {
        Shard {
            engine: Engine::new(policy, catalog),
            policy,
            catalog,
            carry: Carry::default(),
            interner: Interner::default(),
            claims: Vec::new(),
            live: FxHashSet::default(),
            to_cancel,
            undo: FxHashMap::default(),
            settlement: Settlement::default(),
        }
    }

    /// Settles or cancels the lines in order; returns the refused ones' numbers and reasons.
    fn process(&mut self, lines: Vec<ShardLine>) -> Vec<(usize, String)> {
        let mut refused = Vec::new();
        for (line_no, line) in lines {
            let result = match line {
                WireLine::Settle(wire) => self.settle(&wire),
                WireLine::Cancel(id) => self.cancel(&id),
            };
            if let Err(e) = result {
                refused.push((line_no, e));
            }
        }
        refused
    }

    fn settle(&mut self, wire: &WireVisit) -> Result<(), String> {
        if self.live.contains(wire.mdtrt_id.as_str()) {
            return Err(yibao_wire::batch::already_settled(&wire.mdtrt_id));
        }
        self.carry
            .settle_into(&self.engine, wire, &mut self.settlement)?;
        let claim = self.claim_of(wire);
        self.live.insert(claim.mdtrt_id.clone());
        if self.to_cancel.contains(&wire.mdtrt_id) {
            let undo = Undo {
                claim: self.claims.len(),
                psn_no: wire.psn_no.clone(),
                insutype: wire.insutype,
                settlement: self.settlement.clone(),
                live: true,
            };
            self.undo.insert(wire.mdtrt_id.clone(), undo);
        }
        self.claims.push(claim);
        Ok(())
    }

    fn cancel(&mut self, mdtrt_id: &str) -> Result<(), String> {
        let Some(undo) = self.undo.get_mut(mdtrt_id) else {
            return Err(yibao_wire::batch::unknown_settlement(mdtrt_id));
        };
        if !undo.live {
            return Err(yibao_wire::batch::already_cancelled(mdtrt_id));
        }
        self.carry
            .cancel(&undo.psn_no, undo.insutype, &undo.settlement);
        undo.live = false;
        self.live.remove(mdtrt_id);
        self.claims[undo.claim].mdtrt_id = Text::from("");
        Ok(())
    }

    /// The claim of the visit just settled: the visit as sent, with each line's category and
    /// in-scope amount (by `feedetl_sn`, the last split of a repeated one) and the fund amounts.
    fn claim_of(&mut self, wire: &WireVisit) -> Claim {
        let settled = &self.settlement;
        let catalog = self.catalog;
        let interner = &mut self.interner;
        let splits = last_splits(wire, settled);
        let lines: Box<[ClaimLine]> = wire
            .feedetail
            .iter()
            .zip(splits)
            .map(|(l, split)| {
                let own = split.map_or(Fen::ZERO, |s| s.amounts.fulamt_ownpay_amt);
                let chrgitm_type = split
                    .and_then(|s| s.med_chrgitm_type)
                    .map(|t| t.code())
                    .unwrap_or_default();
                ClaimLine {
                    item: interner.item(&l.med_list_codg, chrgitm_type, |code| {
                        yibao_server::audit::line_limits(catalog, code)
                    }),
                    cnt_e4: l.cnt,
                    pric_micro_yuan: l.pric,
                    amount: l.det_item_fee_sumamt,
                    inscope: l.det_item_fee_sumamt - own,
                    doctor: l.bilg_dr_codg.as_deref().map(|d| interner.text(d)),
                }
            })
            .collect();
        let amounts = &settled.totals;
        Claim {
            mdtrt_id: Text::from(wire.mdtrt_id.as_str()),
            psn_no: interner.text(&wire.psn_no),
            fixmedins_code: interner.text(wire.fixmedins_code.as_deref().unwrap_or_default()),
            med_type: wire.med_type,
            level: self.policy.level_of(wire.hosp_lv).map_or(1, |l| l.level),
            insutype: wire.insutype,
            gend: wire.gend,
            brdy: Some(wire.brdy),
            diagnoses: interner.diagnoses(wire.dise_codg.as_deref().unwrap_or_default()),
            begin: wire.begntime,
            end: wire.endtime,
            lines,
            total: amounts.medfee_sumamt,
            fund_pay: amounts.fund_pay_sumamt,
            acct_pay: amounts.acct_pay,
        }
    }
}

/// Lines up to which [`last_splits`] compares serial numbers pairwise instead of hashing them.
const PAIRWISE_LINES: usize = 8;

/// For each line of the visit, the last split of a line with its `feedetl_sn` (a repeated serial
/// number takes its last split), or `None`. A long inpatient bill is matched through a map, not
/// line against split.
fn last_splits<'s>(wire: &WireVisit, settled: &'s Settlement) -> Vec<Option<&'s LineSplit>> {
    let sn_of = |s: &LineSplit| {
        wire.feedetail
            .get(s.line as usize)
            .map(|o| o.feedetl_sn.as_str())
    };
    if wire.feedetail.len() <= PAIRWISE_LINES {
        return wire
            .feedetail
            .iter()
            .map(|l| {
                settled
                    .lines
                    .iter()
                    .rev()
                    .find(|s| sn_of(s) == Some(l.feedetl_sn.as_str()))
            })
            .collect();
    }
    let mut last: FxHashMap<&str, &LineSplit> = FxHashMap::default();
    for split in &settled.lines {
        if let Some(sn) = sn_of(split) {
            last.insert(sn, split);
        }
    }
    wire.feedetail
        .iter()
        .map(|l| last.get(l.feedetl_sn.as_str()).copied())
        .collect()
}

/// The shard of a person.
fn shard_of(psn_no: &str, shards: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    psn_no.hash(&mut hasher);
    (hasher.finish() % shards as u64) as usize
}

/// Settles the file as `yibao settle` would and keeps each settled visit as a compact claim,
/// streaming: a run of lines is parsed in parallel (once, typed), then settled in person shards
/// in parallel (a person's visits and cancellations in file order; a cancellation goes where its
/// visit went); cancelled visits are dropped. Bad lines are reported on standard error, in line
/// order, and skipped. Returns the claims, shard by shard, and whether every line was read.
fn read_claims(
    path: &Path,
    policy: &Policy,
    catalog: &Catalog,
) -> anyhow::Result<(Vec<Vec<Claim>>, bool)> {
    use rayon::prelude::*;
    let to_cancel = cancelled_ids(path)?;
    let shard_count = rayon::current_num_threads().clamp(1, 8);
    let mut shards: Vec<Shard> = (0..shard_count)
        .map(|_| Shard::new(policy, catalog, &to_cancel))
        .collect();
    let mut owner: FxHashMap<String, usize> = FxHashMap::default();
    let mut all_ok = true;
    for_each_chunk(path, |text, first_line| {
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (first_line + i, l))
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        let read: Vec<(usize, Result<WireLine, LineError>)> = lines
            .into_par_iter()
            .map(|(no, l)| (no, read_line(l)))
            .collect();
        let mut batches: Vec<Vec<ShardLine>> = (0..shard_count).map(|_| Vec::new()).collect();
        let mut refused: Vec<(usize, String)> = Vec::new();
        for (no, line) in read {
            let shard = match &line {
                Ok(WireLine::Settle(wire)) => {
                    let shard = shard_of(&wire.psn_no, shard_count);
                    if to_cancel.contains(&wire.mdtrt_id) {
                        owner.insert(wire.mdtrt_id.clone(), shard);
                    }
                    shard
                }
                Ok(WireLine::Cancel(id)) => owner.get(id).copied().unwrap_or(0),
                Err(LineError::NotJson(e)) => {
                    refused.push((no, format!("不是有效的 JSON：{e}")));
                    continue;
                }
                Err(LineError::Refused { error, .. }) => {
                    refused.push((no, error.clone()));
                    continue;
                }
            };
            if let Ok(line) = line {
                batches[shard].push((no, line));
            }
        }
        let settled: Vec<Vec<(usize, String)>> = shards
            .par_iter_mut()
            .zip(batches)
            .map(|(shard, batch)| shard.process(batch))
            .collect();
        refused.extend(settled.into_iter().flatten());
        refused.sort_unstable();
        for (no, error) in &refused {
            eprintln!("{} 第 {no} 行：{error}", path.display());
        }
        all_ok &= refused.is_empty();
        Ok(())
    })?;
    let claims = shards
        .into_iter()
        .map(|shard| {
            let mut claims = shard.claims;
            claims.retain(|c| !c.mdtrt_id.is_empty());
            claims
        })
        .collect();
    Ok((claims, all_ok))
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
    let seconds = started.elapsed().as_secs_f64();
    let visits: usize = claims.iter().map(Vec::len).sum();
    let lines: usize = claims.iter().flatten().map(|c| c.lines.len()).sum();
    eprintln!(
        "yibao audit run: {} 条规则（{} {}），{} 次就诊、{lines} 条明细，{} 条发现；读取与结算 {read_s:.2} s，共 {seconds:.2} s（{:.0} 条明细/秒）",
        rules.rules.len(),
        rules.meta.region,
        rules.meta.version,
        visits,
        findings.len(),
        lines as f64 / seconds.max(1e-9)
    );
    leave_to_the_os((claims, persons, findings));
    Ok(all_ok)
}

/// Frees nothing: the process ends right after a run, and the OS takes back its pages at once,
/// where dropping millions of claims one by one (each `Arc` and slice) took seconds.
fn leave_to_the_os<T>(done: T) {
    std::mem::forget(done);
}

/// Claims (in parts), persons, findings and whether every input line was read.
type Audited = (
    Vec<Vec<Claim>>,
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
    let findings = audit(rules, claims.iter().flatten(), &persons, &period);
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
        let mut interners: FxHashMap<String, Interner> = FxHashMap::default();
        let claims: Vec<Claim> = visits
            .iter()
            .map(|v| stored_claim_of(v, &regions, &institutions, &mut interners))
            .collect();
        let settled_in_month: rustc_hash::FxHashSet<&str> = visits
            .iter()
            .filter(|v| v.setl_time >= first)
            .map(|v| v.mdtrt_id.as_str())
            .collect();
        let findings = audit_where(rules, &claims, &persons, &|c: &Claim| {
            settled_in_month.contains(&*c.mdtrt_id)
        });
        let stored: Vec<audit_claims::StoredFinding> =
            findings.iter().map(stored_finding).collect();
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
        audit_claims::replace_findings(&mut conn, month, &stored, &now).await?;
        drop(conn);
        store.close().await;
        Ok((vec![claims], persons, findings, true))
    })
}

/// A settled visit of the ledger as a claim: its institution's level under the policy of the
/// institution's region, the catalogue's restrictions of each line (texts and items shared through
/// one interner per region's catalogue).
fn stored_claim_of(
    visit: &audit_claims::SettledVisit,
    regions: &yibao_server::state::Regions,
    institutions: &[yibao_ledger::Institution],
    interners: &mut FxHashMap<String, Interner>,
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
        (Some(policy), Some(institution)) => policy
            .parsed
            .level_of(institution.hosp_lv)
            .map_or(1, |l| l.level),
        _ => 1,
    };
    let interner = interners
        .entry(regions.region_of(admdvs).unwrap_or_default().to_string())
        .or_default();
    let lines = visit
        .lines
        .iter()
        .map(|l| {
            let catalog = catalog.map(|c| c.parsed.as_ref());
            yibao_server::audit::claim_line(l, catalog, interner)
        })
        .collect();
    Claim {
        mdtrt_id: Text::from(visit.mdtrt_id.as_str()),
        psn_no: interner.text(&visit.psn_no),
        fixmedins_code: interner.text(&visit.fixmedins_code),
        med_type: visit.med_type.code(),
        level,
        insutype: visit.insutype.code(),
        gend: yibao_domain::Code::default(),
        brdy: None,
        diagnoses: interner.diagnoses(&visit.dise_codg),
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
