//! Running the rule base over claims: per person, the history is built once, then every rule is
//! evaluated per visit or per fee line; flagged lines of one rule and visit make one finding.

use rustc_hash::FxHashMap;
use yibao_domain::{Code, Fen};

use crate::claim::{age_years, listed, Claim, ClaimLine, PersonInfo};
use crate::finding::{Finding, FindingKind};
use crate::history::{starts_with_any, PersonHistory, NO_GAP_DAYS};
use crate::knowledge::{KeyKind, Knowledge, Table};
use crate::lang::{Env, Field, Func, Val, NUM_SCALE};
use crate::rules::{Rule, Scope};
use crate::RuleSet;

/// Peer statistics per (`med_type`, first diagnosis category).
#[derive(Debug, Default)]
pub struct Peers {
    groups: FxHashMap<(Code, Code), PeerStats>,
}

#[derive(Debug, Default, Clone, Copy)]
struct PeerStats {
    p95_total: Fen,
    p90_los_days: i64,
    count: i64,
}

fn peer_key(claim: &Claim) -> (Code, Code) {
    let dx = Code::new(claim.dx_category()).unwrap_or_default();
    (claim.med_type, dx)
}

/// The value at a percentile (nearest rank) of sorted values.
pub fn percentile<T: Copy + Default>(sorted: &[T], percent: usize) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

impl Peers {
    /// Computes the statistics over all claims.
    pub fn new<'a>(claims: impl Iterator<Item = &'a Claim>) -> Peers {
        let mut raw: FxHashMap<(Code, Code), (Vec<Fen>, Vec<i64>)> = FxHashMap::default();
        for claim in claims {
            let entry = raw.entry(peer_key(claim)).or_default();
            entry.0.push(claim.total);
            entry.1.push(claim.los_days());
        }
        let groups = raw
            .into_iter()
            .map(|(key, (mut totals, mut los))| {
                totals.sort_unstable();
                los.sort_unstable();
                let stats = PeerStats {
                    p95_total: percentile(&totals, 95),
                    p90_los_days: percentile(&los, 90),
                    count: totals.len() as i64,
                };
                (key, stats)
            })
            .collect();
        Peers { groups }
    }

    fn of(&self, claim: &Claim) -> PeerStats {
        self.groups
            .get(&peer_key(claim))
            .copied()
            .unwrap_or_default()
    }
}

/// What a condition sees.
struct Ctx<'a> {
    /// `yyyy-MM-dd` of the visit's begin.
    date: &'a str,
    knowledge: &'a Knowledge,
    person: &'a PersonInfo,
    hist: &'a PersonHistory<'a>,
    ci: u32,
    claim: &'a Claim,
    line: Option<(u32, &'a ClaimLine)>,
    row: Option<(&'a Table, u32)>,
    peer: PeerStats,
}

fn yuan(amount: Fen) -> i64 {
    amount.fen().saturating_mul(NUM_SCALE / 100)
}

/// A whole number (days, a count, a level) as a rule-language number.
fn whole(n: i64) -> i64 {
    n.saturating_mul(NUM_SCALE)
}

impl Ctx<'_> {
    fn line_field(&self, field: Field) -> Val<'_> {
        let Some((li, line)) = self.line else {
            return Val::Num(0);
        };
        match field {
            Field::LineCode => Val::Str(line.code()),
            Field::LineChrgitmType => Val::Str(line.chrgitm_type()),
            Field::LineQty => Val::Num(line.cnt_e4),
            Field::LinePriceYuan => Val::Num(line.pric_micro_yuan / 100),
            Field::LineAmountYuan => Val::Num(yuan(line.amount)),
            Field::LineTypeRank => {
                let ahead = self
                    .claim
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(j, l)| {
                        l.item.chrgitm_type == line.item.chrgitm_type
                            && (l.amount > line.amount
                                || (l.amount == line.amount && *j < li as usize))
                    })
                    .count();
                Val::Num(whole(ahead as i64 + 1))
            }
            Field::LineLmtGend => Val::Str(&line.item.limits.gend),
            Field::LineLmtAgeMin => {
                Val::Num(whole(line.item.limits.age_min_years.map_or(-1, i64::from)))
            }
            Field::LineLmtAgeMax => Val::Num(whole(
                line.item
                    .limits
                    .age_max_years
                    .map_or(NO_GAP_DAYS, i64::from),
            )),
            Field::LineLmtLevel => Val::Num(whole(line.item.limits.min_level.map_or(0, i64::from))),
            Field::LineSupplyDays => match self.row_num("units_per_day") {
                Some(per_day) if per_day > 0 => Val::Num(line.cnt_e4 * NUM_SCALE / per_day),
                _ => Val::Num(0),
            },
            _ => Val::Num(0),
        }
    }

    fn row_num(&self, column: &str) -> Option<i64> {
        match self.row(column) {
            Val::Num(n) => Some(n),
            _ => None,
        }
    }

    fn visit_field(&self, field: Field) -> Val<'_> {
        let c = self.claim;
        match field {
            Field::VisitMedType => Val::Str(c.med_type.as_str()),
            Field::VisitDate => Val::Str(self.date),
            Field::VisitLevel => Val::Num(whole(i64::from(c.level))),
            Field::VisitInsutype => Val::Str(c.insutype.as_str()),
            Field::VisitIsInpatient => Val::Bool(c.is_inpatient()),
            Field::VisitLosDays => Val::Num(whole(c.los_days())),
            Field::VisitTotalYuan => Val::Num(yuan(c.total)),
            Field::VisitFundYuan => Val::Num(yuan(c.fund_pay)),
            Field::VisitDaysAfterDeath => Val::Num(whole(
                self.person
                    .death_date
                    .map_or(-NO_GAP_DAYS, |d| (c.begin.date() - d).num_days()),
            )),
            Field::VisitHasDiagnosis => Val::Bool(c.diagnoses.iter().any(|d| !d.is_empty())),
            Field::VisitBedDays => Val::Num(
                c.lines
                    .iter()
                    .filter(|l| l.chrgitm_type() == "01")
                    .map(|l| l.cnt_e4)
                    .sum(),
            ),
            _ => Val::Num(0),
        }
    }

    fn hist_field(&self, field: Field) -> Val<'_> {
        let (h, ci) = (self.hist, self.ci);
        let inpatient = self.claim.is_inpatient();
        match field {
            Field::HistReadmitGapDays => Val::Num(whole(if inpatient {
                h.readmission(ci).0
            } else {
                NO_GAP_DAYS
            })),
            Field::HistReadmitSameDx => Val::Bool(inpatient && h.readmission(ci).1),
            Field::HistOverlappingStayElsewhere => {
                Val::Bool(inpatient && h.overlapping_stay_elsewhere(ci))
            }
            Field::HistVisitsElsewhereDuringStay => Val::Num(whole(if inpatient {
                h.visits_elsewhere_during_stay(ci)
            } else {
                0
            })),
            Field::HistInpatientElsewhere => Val::Bool(!inpatient && h.inpatient_elsewhere(ci)),
            Field::HistDaysToAdmissionSameInst => Val::Num(whole(if inpatient {
                NO_GAP_DAYS
            } else {
                h.days_to_admission_same_inst(ci)
            })),
            _ => Val::Num(0),
        }
    }

    fn row_call(&self, func: Func, args: &[Val<'_>]) -> Val<'_> {
        let (Some((table, row)), Some((li, _))) = (self.row, self.line) else {
            return Val::Num(0);
        };
        let (h, ci) = (self.hist, self.ci);
        let days = |i: usize| match args.get(i) {
            Some(Val::Num(n)) => n / NUM_SCALE,
            _ => 0,
        };
        match func {
            Func::HistSameDayQty => Val::Num(h.same_day_qty(ci, table, row)),
            Func::HistCountWithin => Val::Num(whole(h.count_within(ci, days(0), table, row))),
            Func::HistDaysWithin => Val::Num(whole(h.days_within(ci, days(0), table, row))),
            Func::HistRemainingSupplyDays => Val::Num(h.remaining_supply_days(
                ci,
                table,
                row,
                self.row_num("units_per_day").unwrap_or(0),
            )),
            Func::HistAnyWithinHours => match args.first() {
                Some(Val::List(prefixes)) => {
                    Val::Bool(h.any_within_hours(ci, li, prefixes, days(1)))
                }
                _ => Val::Bool(false),
            },
            _ => Val::Num(0),
        }
    }
}

impl Env for Ctx<'_> {
    fn field(&self, field: Field) -> Val<'_> {
        match field {
            Field::PersonGend => Val::Str(if self.person.gend.is_empty() {
                self.claim.gend.as_str()
            } else {
                &self.person.gend
            }),
            Field::PersonAgeYears => Val::Num(whole(
                self.person
                    .brdy
                    .or(self.claim.brdy)
                    .map_or(-1, |b| age_years(b, self.claim.begin.date())),
            )),
            Field::PersonHasDeathDate => Val::Bool(self.person.death_date.is_some()),
            Field::PeerP95TotalYuan => Val::Num(yuan(self.peer.p95_total)),
            Field::PeerP90LosDays => Val::Num(whole(self.peer.p90_los_days)),
            Field::PeerCount => Val::Num(whole(self.peer.count)),
            f if crate::lang::needs_line(f) => self.line_field(f),
            f if crate::lang::is_history_field(f) => self.hist_field(f),
            f => self.visit_field(f),
        }
    }

    fn row(&self, column: &str) -> Val<'_> {
        self.row
            .and_then(|(table, row)| table.row(row).get(column))
            .map_or(Val::Bool(false), |v| v.as_val())
    }

    fn call(&self, func: Func, args: &[Val<'_>]) -> Val<'_> {
        let c = self.claim;
        match (func, args.first()) {
            (Func::VisitDxAny, Some(Val::List(prefixes))) => {
                Val::Bool(c.diagnoses.iter().any(|d| starts_with_any(d, prefixes)))
            }
            (Func::VisitTypeCount, Some(Val::Str(kind))) => Val::Num(whole(
                c.lines.iter().filter(|l| l.chrgitm_type() == *kind).count() as i64,
            )),
            (Func::VisitHasAny, Some(Val::List(prefixes))) => {
                Val::Bool(c.lines.iter().any(|l| starts_with_any(l.code(), prefixes)))
            }
            (Func::HistPriorAny, Some(Val::List(prefixes))) => {
                let days = match args.get(1) {
                    Some(Val::Num(n)) => n / NUM_SCALE,
                    _ => 0,
                };
                Val::Num(whole(self.hist.prior_any(self.ci, prefixes, days)))
            }
            _ => self.row_call(func, args),
        }
    }
}

impl Rule {
    fn applies_to(&self, claim: &Claim) -> bool {
        (self.med_types.is_empty() || listed(&self.med_types, claim.med_type.as_str()))
            && (self.levels.is_empty() || self.levels.contains(&claim.level))
            && (self.insutypes.is_empty() || listed(&self.insutypes, claim.insutype.as_str()))
    }
}

impl<'a> Ctx<'a> {
    /// The context of claim `ci` of the history, before any line.
    fn of_visit(
        date: &'a str,
        set: &'a RuleSet,
        person: &'a PersonInfo,
        hist: &'a PersonHistory<'a>,
        ci: u32,
        peer: PeerStats,
    ) -> Ctx<'a> {
        Ctx {
            date,
            knowledge: &set.knowledge,
            person,
            hist,
            ci,
            claim: hist.claims[ci as usize],
            line: None,
            row: None,
            peer,
        }
    }
}

/// Runs every rule over one person's claims; findings only for the claims `reported` picks.
pub fn audit_person(
    set: &RuleSet,
    peers: &Peers,
    person: &PersonInfo,
    hist: &PersonHistory<'_>,
    reported: &(dyn Fn(&Claim) -> bool + Sync),
    out: &mut Vec<Finding>,
) {
    for (ci, claim) in hist.claims.iter().enumerate() {
        if !reported(claim) {
            continue;
        }
        let date = claim.begin.date().to_string();
        let ctx = Ctx::of_visit(&date, set, person, hist, ci as u32, peers.of(claim));
        for rule in set.rules.iter().filter(|r| r.applies_to(claim)) {
            if let Some(hit) = evaluate(rule, &ctx) {
                out.push(finding_of(&hit, claim));
            }
        }
    }
}

fn line_key<'a>(table: &Table, line: &'a ClaimLine) -> Option<&'a str> {
    match table.key {
        KeyKind::Item => Some(line.code()),
        KeyKind::Doctor => line.doctor.as_deref(),
    }
}

/// What one rule flags on one claim: the lines concerned (index in the claim, in-scope amount) and
/// the money at issue; a visit rule flags no line and puts the fund's and account's payment at issue.
#[derive(Debug, Clone)]
pub struct Hit<'r> {
    pub rule: &'r Rule,
    pub lines: Vec<(u32, Fen)>,
    pub amount: Fen,
}

fn evaluate<'r>(rule: &'r Rule, visit: &Ctx<'_>) -> Option<Hit<'r>> {
    let claim = visit.claim;
    if rule.scope == Scope::Visit {
        return rule.when.test(visit).then(|| Hit {
            rule,
            lines: Vec::new(),
            amount: claim.fund_pay + claim.acct_pay,
        });
    }
    let table = rule.table.map(|t| visit.knowledge.by_index(t));
    let mut hit = Hit {
        rule,
        lines: Vec::new(),
        amount: Fen::ZERO,
    };
    for (li, line) in claim.lines.iter().enumerate() {
        let row = match table {
            Some(t) => match line_key(t, line).and_then(|k| t.row_of(k)) {
                Some(r) => Some((t, r)),
                None => continue,
            },
            None => None,
        };
        let ctx = Ctx {
            line: Some((li as u32, line)),
            row,
            ..*visit
        };
        if rule.when.test(&ctx) {
            hit.amount += line.inscope;
            hit.lines.push((li as u32, line.inscope));
        }
    }
    (!hit.lines.is_empty()).then_some(hit)
}

fn finding_of(hit: &Hit<'_>, claim: &Claim) -> Finding {
    let mut codes: Vec<&str> = Vec::new();
    for &(li, _) in &hit.lines {
        let code = claim.lines[li as usize].code();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let detail = if codes.is_empty() {
        String::new()
    } else {
        format!("，涉及项目 {}", codes.join("、"))
    };
    rule_finding(hit.rule, claim, hit.amount, detail)
}

/// Runs the rules of one stage (事前 for 3101, 事中 for 3102 and fee upload) over one claim of a
/// person's history, in real time: no peer statistics (rules reading them stay silent), history
/// from `hist`. `rule_ids`, when not empty, limits the rules run; `keep` picks rules further.
pub fn check_claim<'s>(
    set: &'s RuleSet,
    stage: &str,
    rule_ids: &[String],
    keep: impl Fn(&Rule) -> bool,
    person: &PersonInfo,
    hist: &PersonHistory<'_>,
    ci: u32,
) -> Vec<Hit<'s>> {
    let claim = hist.claims[ci as usize];
    let date = claim.begin.date().to_string();
    let ctx = Ctx::of_visit(&date, set, person, hist, ci, PeerStats::default());
    set.rules
        .iter()
        .filter(|r| r.runs_at(stage) && r.applies_to(claim) && keep(r))
        .filter(|r| rule_ids.is_empty() || rule_ids.contains(&r.id))
        .filter_map(|rule| evaluate(rule, &ctx))
        .collect()
}

fn rule_finding(rule: &Rule, claim: &Claim, amount: Fen, detail: String) -> Finding {
    Finding {
        kind: FindingKind::Rule,
        id: rule.id.clone(),
        psn_nos: vec![claim.psn_no.to_string()],
        fixmedins_codes: vec![claim.fixmedins_code.to_string()],
        mdtrt_ids: vec![claim.mdtrt_id.to_string()],
        amount,
        score: match rule.sev_deg {
            1 => 100,
            2 => 80,
            _ => 60,
        },
        reason: format!(
            "{}（{}）：就诊 {} {}{}",
            rule.reason,
            rule.name,
            claim.mdtrt_id,
            claim.begin.date(),
            detail
        ),
    }
}
