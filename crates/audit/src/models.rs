//! The seven big-data models of supervision.md §4 (杭州's names), monthly post-payment batches over
//! the period's claims. Thresholds are data ([`ModelConfig`], `models.toml`); each finding carries
//! a score of 60–100 and the claims behind it.

use chrono::{Datelike, NaiveDate, Timelike};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;
use yibao_domain::Fen;

use crate::claim::{listed, Claim, PersonInfo, Text};
use crate::finding::{Finding, FindingKind};

/// Thresholds of the seven models.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub outpatient: OutpatientConfig,
    pub pharmacy: PharmacyConfig,
    pub card_cluster: CardClusterConfig,
    pub exam_stay: ExamStayConfig,
    pub chronic: ChronicConfig,
    pub high_frequency: HighFrequencyConfig,
    pub companion: CompanionConfig,
}

/// 门诊异常: identical small totals paid mainly from accounts at one institution on one day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutpatientConfig {
    pub med_types: Vec<String>,
    pub min_persons: usize,
    /// Share of the institution-day's swipes, percent.
    pub min_day_share_pct: u32,
    pub small_amount_max_yuan: i64,
    /// Share of the group's money paid from personal accounts, percent.
    pub min_account_share_pct: u32,
}

/// 异常购药: burst hours and night swipes at a pharmacy; persons buying day after day or the same
/// drug too often.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PharmacyConfig {
    pub med_types: Vec<String>,
    pub hour_min_swipes: usize,
    /// The hour's swipes ≥ this × the adjacent hours' mean.
    pub hour_ratio: usize,
    pub night_start_hour: u32,
    pub night_end_hour: u32,
    pub night_min_swipes: usize,
    pub consecutive_days: usize,
    pub same_drug_per_month: usize,
}

/// 卡聚集 (§4.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardClusterConfig {
    pub med_types: Vec<String>,
    pub time_interval_s: i64,
    pub min_count: usize,
    pub min_jg_num: usize,
    pub min_size: usize,
    pub max_size: usize,
    /// At most this many following settlements are paired with each one (bounds busy hours).
    pub max_neighbours: usize,
}

/// 体检住院.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamStayConfig {
    pub exam_types: Vec<String>,
    pub min_exam_share_pct: u32,
    pub max_los_days: i64,
}

/// 慢特病人群分析.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChronicConfig {
    pub med_types: Vec<String>,
    pub min_institutions: usize,
    pub refill_days: i64,
    pub min_early_refills: usize,
}

/// 高频就诊人群分析.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighFrequencyConfig {
    pub min_visits: usize,
    /// The threshold is also at least this percentile of person-month visit counts.
    pub percentile: usize,
    pub drug_types: Vec<String>,
}

/// 住院异常 (结伴住院).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanionConfig {
    pub min_persons: usize,
    pub window_days: i64,
    /// Similar: this share (percent) of the stays share a diagnosis category, or fees within
    /// `max_fee_ratio_pct` of each other (max ÷ min, percent).
    pub min_same_dx_pct: u32,
    pub max_fee_ratio_pct: u32,
    /// A link value (phone, address, employer) shared by more persons is ignored.
    pub max_link_persons: usize,
}

/// Model names exactly as in the 杭州 report.
pub const MODEL_NAMES: [&str; 7] = [
    "门诊异常",
    "异常购药",
    "卡聚集",
    "体检住院",
    "慢特病人群分析",
    "高频就诊人群分析",
    "住院异常",
];

fn insured(claims: &[&Claim]) -> Fen {
    claims.iter().map(|c| c.fund_pay + c.acct_pay).sum()
}

fn model_finding(id: &str, claims: &[&Claim], score: u32, reason: String) -> Finding {
    let texts = |text: fn(&Claim) -> &str| {
        let mut v: Vec<&str> = claims.iter().map(|c| text(c)).collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter().map(str::to_string).collect::<Vec<String>>()
    };
    let psn_nos = texts(|c| &c.psn_no);
    let codes = texts(|c| &c.fixmedins_code);
    let ids = texts(|c| &c.mdtrt_id);
    Finding {
        kind: FindingKind::Model,
        id: id.to_string(),
        psn_nos,
        fixmedins_codes: codes,
        mdtrt_ids: ids,
        amount: insured(claims),
        score: score.clamp(60, 100),
        reason,
    }
}

/// 60 + 40 × a share in percent (capped at 100 %).
fn score_of_pct(pct: u64) -> u32 {
    60 + (40 * pct.min(100) / 100) as u32
}

fn pct(part: i64, whole: i64) -> u64 {
    if whole <= 0 {
        0
    } else {
        (part.max(0) * 100 / whole) as u64
    }
}

/// Runs the seven models over the period's claims.
pub fn run_models(
    config: &ModelConfig,
    claims: &[&Claim],
    persons: &FxHashMap<String, PersonInfo>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    outpatient(&config.outpatient, claims, &mut out);
    pharmacy(&config.pharmacy, claims, &mut out);
    card_cluster(&config.card_cluster, claims, &mut out);
    exam_stay(&config.exam_stay, claims, &mut out);
    chronic(&config.chronic, claims, &mut out);
    high_frequency(&config.high_frequency, claims, &mut out);
    companion(&config.companion, claims, persons, &mut out);
    out
}

fn of_types<'a>(claims: &[&'a Claim], med_types: &[String]) -> Vec<&'a Claim> {
    claims
        .iter()
        .copied()
        .filter(|c| listed(med_types, c.med_type.as_str()))
        .collect()
}

/// Groups claims by a key, in key order.
fn group_by<'a, K: Ord + std::hash::Hash>(
    claims: impl IntoIterator<Item = &'a Claim>,
    key: impl Fn(&Claim) -> K,
) -> Vec<(K, Vec<&'a Claim>)> {
    let mut map: FxHashMap<K, Vec<&'a Claim>> = FxHashMap::default();
    for c in claims {
        map.entry(key(c)).or_default().push(c);
    }
    let mut groups: Vec<(K, Vec<&'a Claim>)> = map.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, g) in &mut groups {
        g.sort_by(|a, b| (a.begin, &a.mdtrt_id).cmp(&(b.begin, &b.mdtrt_id)));
    }
    groups
}

fn distinct_persons(claims: &[&Claim]) -> usize {
    claims
        .iter()
        .map(|c| &*c.psn_no)
        .collect::<FxHashSet<&str>>()
        .len()
}

fn outpatient(cfg: &OutpatientConfig, claims: &[&Claim], out: &mut Vec<Finding>) {
    let small = Fen::from_yuan(cfg.small_amount_max_yuan);
    let days = group_by(of_types(claims, &cfg.med_types), |c| {
        (c.fixmedins_code.clone(), c.begin.date())
    });
    for ((code, date), day) in days {
        for (total, group) in group_by(day.iter().copied(), |c| c.total) {
            if total > small || distinct_persons(&group) < cfg.min_persons {
                continue;
            }
            let share = pct(group.len() as i64, day.len() as i64);
            let acct: Fen = group.iter().map(|c| c.acct_pay).sum();
            let sum: Fen = group.iter().map(|c| c.total).sum();
            let acct_share = pct(acct.fen(), sum.fen());
            if share >= u64::from(cfg.min_day_share_pct)
                && acct_share >= u64::from(cfg.min_account_share_pct)
            {
                let reason = format!(
                    "{code} 在 {date} 有 {} 人次金额均为 {} 元，占当日刷卡 {share}%，个人账户支付占 {acct_share}%，疑似空刷或虚构就诊",
                    group.len(),
                    total.to_yuan_string()
                );
                out.push(model_finding(
                    "门诊异常",
                    &group,
                    score_of_pct(share),
                    reason,
                ));
            }
        }
    }
}

fn pharmacy(cfg: &PharmacyConfig, claims: &[&Claim], out: &mut Vec<Finding>) {
    let buys = of_types(claims, &cfg.med_types);
    for ((code, date), day) in group_by(buys.iter().copied(), |c| {
        (c.fixmedins_code.clone(), c.begin.date())
    }) {
        let mut by_hour: [Vec<&Claim>; 24] = Default::default();
        for c in &day {
            by_hour[c.begin.hour() as usize].push(c);
        }
        for hour in 0..24 {
            let n = by_hour[hour].len();
            let before = if hour > 0 { by_hour[hour - 1].len() } else { 0 };
            let after = by_hour.get(hour + 1).map_or(0, Vec::len);
            let burst = n >= cfg.hour_min_swipes && 2 * n >= cfg.hour_ratio * (before + after);
            let night = is_night(cfg, hour as u32) && n >= cfg.night_min_swipes;
            if burst || night {
                let what = if night { "夜间" } else { "突增" };
                let reason = format!(
                    "药店 {code} 在 {date} {hour} 时刷卡 {n} 次（前后一小时 {before}、{after} 次），{what}购药异常"
                );
                let ratio = pct(
                    n as i64,
                    (before + after).max(1) as i64 * cfg.hour_ratio as i64 / 2,
                );
                out.push(model_finding(
                    "异常购药",
                    &by_hour[hour],
                    score_of_pct(ratio.saturating_sub(100)),
                    reason,
                ));
            }
        }
    }
    for ((psn_no, month), mine) in group_by(buys.iter().copied(), |c| {
        (c.psn_no.clone(), month_of(c.begin.date()))
    }) {
        let run = longest_run(&mine);
        let same_drug = most_bought(&mine);
        if run >= cfg.consecutive_days || same_drug.1 > cfg.same_drug_per_month {
            let reason = format!(
                "参保人 {psn_no} 在 {month} 连续 {run} 天购药，同一药品 {} 购买 {} 次，疑似囤药或倒卖",
                same_drug.0, same_drug.1
            );
            let score = score_of_pct(pct(
                (run + same_drug.1) as i64,
                (cfg.consecutive_days + cfg.same_drug_per_month) as i64 * 2,
            ));
            out.push(model_finding("异常购药", &mine, score, reason));
        }
    }
}

fn is_night(cfg: &PharmacyConfig, hour: u32) -> bool {
    hour >= cfg.night_start_hour || hour < cfg.night_end_hour
}

fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The longest run of consecutive calendar days with a claim.
fn longest_run(claims: &[&Claim]) -> usize {
    let mut dates: Vec<NaiveDate> = claims.iter().map(|c| c.begin.date()).collect();
    dates.dedup();
    let (mut best, mut run) = (0, 0);
    for (i, d) in dates.iter().enumerate() {
        run = if i > 0 && (*d - dates[i - 1]).num_days() == 1 {
            run + 1
        } else {
            1
        };
        best = best.max(run);
    }
    best
}

/// The item code bought on most claims, and on how many.
fn most_bought(claims: &[&Claim]) -> (String, usize) {
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    for c in claims {
        let codes: FxHashSet<&str> = c.lines.iter().map(|l| l.code()).collect();
        for code in codes {
            *counts.entry(code).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map_or((String::new(), 0), |(c, n)| (c.to_string(), n))
}

/// Co-occurrences of two persons: how often, and the claims.
#[derive(Default)]
struct Pair<'a> {
    count: usize,
    claims: Vec<&'a Claim>,
}

/// A pair's co-occurrences while counting: how often, at how many institutions, and the last
/// institution counted (an institution's pairs are visited together, so this counts them exactly).
#[derive(Clone, Copy, Default)]
struct PairCount {
    count: u32,
    institutions: u32,
    last_institution: u32,
}

/// Most pair occurrences counted in one pass; more are counted in passes over disjoint sets of
/// pairs, so that the counting map stays bounded however many persons a region has.
const PAIRS_PER_PASS: usize = 4_000_000;

/// The eligible claims by institution (in code order, each in time order) with each claim's
/// person as an index into the persons sorted by `psn_no`, so a pair is one `u64` in person order.
struct Cards<'a> {
    by_institution: Vec<(Text, Vec<&'a Claim>)>,
    person_of: Vec<Vec<u32>>,
    persons: Vec<&'a str>,
}

impl<'a> Cards<'a> {
    fn new(by_institution: Vec<(Text, Vec<&'a Claim>)>) -> Cards<'a> {
        let mut persons: Vec<&str> = by_institution
            .iter()
            .flat_map(|(_, at)| at.iter().map(|c| &*c.psn_no))
            .collect();
        persons.sort_unstable();
        persons.dedup();
        let index: FxHashMap<&str, u32> = persons
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i as u32))
            .collect();
        let person_of = by_institution
            .iter()
            .map(|(_, at)| at.iter().map(|c| index[&*c.psn_no]).collect())
            .collect();
        Cards {
            by_institution,
            person_of,
            persons,
        }
    }

    /// Calls `visit` for every two cards settling at one institution within `time_interval_s`
    /// (counting at most `max_neighbours` following settlements): the institution's index, the pair
    /// (lower person index first) and the two claims.
    fn for_each_pair(
        &self,
        cfg: &CardClusterConfig,
        mut visit: impl FnMut(u32, u64, &'a Claim, &'a Claim),
    ) {
        for (g, (_, at)) in self.by_institution.iter().enumerate() {
            let ids = &self.person_of[g];
            for (i, a) in at.iter().enumerate() {
                for (j, b) in at.iter().enumerate().skip(i + 1).take(cfg.max_neighbours) {
                    if (b.begin - a.begin).num_seconds() > cfg.time_interval_s {
                        break;
                    }
                    let (x, y) = (ids[i], ids[j]);
                    if x != y {
                        let key = (u64::from(x.min(y)) << 32) | u64::from(x.max(y));
                        visit(g as u32, key, a, b);
                    }
                }
            }
        }
    }

    /// The pairs seen at least `min_count` times at `min_jg_num` institutions or more.
    fn frequent_pairs(&self, cfg: &CardClusterConfig) -> FxHashMap<u64, PairCount> {
        let mut occurrences = 0usize;
        self.for_each_pair(cfg, |_, _, _, _| occurrences += 1);
        let passes = occurrences.div_ceil(PAIRS_PER_PASS).max(1) as u64;
        let mut frequent = FxHashMap::default();
        for pass in 0..passes {
            let mut counts: FxHashMap<u64, PairCount> = FxHashMap::default();
            self.for_each_pair(cfg, |g, key, _, _| {
                if (key >> 32) % passes != pass {
                    return;
                }
                let pair = counts.entry(key).or_default();
                pair.count += 1;
                if pair.institutions == 0 || pair.last_institution != g {
                    pair.institutions += 1;
                    pair.last_institution = g;
                }
            });
            frequent.extend(counts.into_iter().filter(|(_, p)| {
                p.count as usize >= cfg.min_count && p.institutions as usize >= cfg.min_jg_num
            }));
        }
        frequent
    }

    fn names(&self, key: u64) -> (&'a str, &'a str) {
        let person = |i: u64| self.persons[i as usize];
        (person(key >> 32), person(key & u64::from(u32::MAX)))
    }
}

fn card_cluster(cfg: &CardClusterConfig, claims: &[&Claim], out: &mut Vec<Finding>) {
    let eligible = of_types(claims, &cfg.med_types);
    let mut visits: FxHashMap<&str, usize> = FxHashMap::default();
    for c in &eligible {
        *visits.entry(&*c.psn_no).or_default() += 1;
    }
    let kept = eligible
        .into_iter()
        .filter(|c| visits[&*c.psn_no] >= cfg.min_count);
    let cards = Cards::new(group_by(kept, |c| c.fixmedins_code.clone()));
    let frequent = cards.frequent_pairs(cfg);
    let mut pairs: FxHashMap<u64, Pair> = frequent
        .iter()
        .map(|(key, p)| {
            let pair = Pair {
                count: p.count as usize,
                claims: Vec::new(),
            };
            (*key, pair)
        })
        .collect();
    cards.for_each_pair(cfg, |_, key, a, b| {
        if let Some(pair) = pairs.get_mut(&key) {
            pair.claims.extend([a, b]);
        }
    });
    let mut edges: Vec<((&str, &str), Pair)> = pairs
        .into_iter()
        .map(|(key, pair)| (cards.names(key), pair))
        .collect();
    edges.sort_by(|a, b| a.0.cmp(&b.0));
    for community in communities(&edges, cfg.min_count, cfg) {
        out.push(cluster_finding(&community, &edges));
    }
}

/// Connected groups of the pair graph after pruning persons with fewer than two partners; groups
/// above `max_size` are re-split with a higher co-occurrence threshold.
fn communities<'a>(
    edges: &[((&'a str, &'a str), Pair)],
    threshold: usize,
    cfg: &CardClusterConfig,
) -> Vec<Vec<&'a str>> {
    let mut live: Vec<(&str, &str)> = edges
        .iter()
        .filter(|(_, p)| p.count >= threshold)
        .map(|(k, _)| *k)
        .collect();
    loop {
        let mut degree: FxHashMap<&str, usize> = FxHashMap::default();
        for (a, b) in &live {
            *degree.entry(a).or_default() += 1;
            *degree.entry(b).or_default() += 1;
        }
        let before = live.len();
        live.retain(|(a, b)| degree[a] >= 2 && degree[b] >= 2);
        if live.len() == before {
            break;
        }
    }
    let mut groups: Vec<Vec<&str>> = components(&live);
    let mut out = Vec::new();
    for group in groups.drain(..) {
        if group.len() < cfg.min_size {
            continue;
        }
        if group.len() <= cfg.max_size {
            out.push(group);
            continue;
        }
        let members: FxHashSet<&str> = group.iter().copied().collect();
        let inner: Vec<((&str, &str), Pair)> = edges
            .iter()
            .filter(|((a, b), p)| members.contains(a) && members.contains(b) && p.count > threshold)
            .map(|(k, p)| {
                (
                    *k,
                    Pair {
                        count: p.count,
                        claims: Vec::new(),
                    },
                )
            })
            .collect();
        out.extend(communities(&inner, threshold + 1, cfg));
    }
    out
}

fn components<'a>(edges: &[(&'a str, &'a str)]) -> Vec<Vec<&'a str>> {
    let mut parent: FxHashMap<&str, &str> = FxHashMap::default();
    fn root<'a>(parent: &mut FxHashMap<&'a str, &'a str>, x: &'a str) -> &'a str {
        let mut r = x;
        while let Some(&p) = parent.get(r) {
            if p == r {
                break;
            }
            r = p;
        }
        parent.insert(x, r);
        r
    }
    for (a, b) in edges {
        parent.entry(a).or_insert(a);
        parent.entry(b).or_insert(b);
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    let nodes: Vec<&str> = parent.keys().copied().collect();
    let mut groups: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    for n in nodes {
        let r = root(&mut parent, n);
        groups.entry(r).or_default().push(n);
    }
    let mut out: Vec<Vec<&str>> = groups.into_values().collect();
    for g in &mut out {
        g.sort_unstable();
    }
    out.sort();
    out
}

fn cluster_finding(members: &[&str], edges: &[((&str, &str), Pair)]) -> Finding {
    let set: FxHashSet<&str> = members.iter().copied().collect();
    let inner: Vec<&Pair> = edges
        .iter()
        .filter(|((a, b), _)| set.contains(a) && set.contains(b))
        .map(|(_, p)| p)
        .collect();
    let mut claims: Vec<&Claim> = inner
        .iter()
        .flat_map(|p| p.claims.iter().copied())
        .collect();
    claims.sort_by(|a, b| a.mdtrt_id.cmp(&b.mdtrt_id));
    claims.dedup_by(|a, b| a.mdtrt_id == b.mdtrt_id);
    let n = members.len() as i64;
    let density = pct(2 * inner.len() as i64, n * (n - 1));
    let total: Fen = claims.iter().map(|c| c.total).sum();
    let fund_share = pct(insured(&claims).fen(), total.fen());
    let institutions: FxHashSet<&str> = claims.iter().map(|c| &*c.fixmedins_code).collect();
    let reason = format!(
        "{} 张医保卡在 {} 家机构多次于短时间内先后结算（{} 对共现，连通度 {density}%），疑似卡聚集冒名或空刷",
        members.len(),
        institutions.len(),
        inner.len()
    );
    model_finding(
        "卡聚集",
        &claims,
        score_of_pct((density + fund_share) / 2),
        reason,
    )
}

fn exam_stay(cfg: &ExamStayConfig, claims: &[&Claim], out: &mut Vec<Finding>) {
    for stay in claims.iter().filter(|c| c.is_inpatient()) {
        let exams: Fen = stay
            .lines
            .iter()
            .filter(|l| listed(&cfg.exam_types, l.chrgitm_type()))
            .map(|l| l.amount)
            .sum();
        let share = pct(exams.fen(), stay.total.fen());
        if share >= u64::from(cfg.min_exam_share_pct) && stay.los_days() <= cfg.max_los_days {
            let reason = format!(
                "住院 {} 天，检查化验费占 {share}%（{} 元），疑似以体检为目的的低标准入院",
                stay.los_days(),
                exams.to_yuan_string()
            );
            let above = share.saturating_sub(u64::from(cfg.min_exam_share_pct));
            let room = 100 - u64::from(cfg.min_exam_share_pct).min(99);
            out.push(model_finding(
                "体检住院",
                &[stay],
                score_of_pct(above * 100 / room),
                reason,
            ));
        }
    }
}

fn chronic(cfg: &ChronicConfig, claims: &[&Claim], out: &mut Vec<Finding>) {
    let visits = of_types(claims, &cfg.med_types);
    for ((psn_no, month), mine) in
        group_by(visits, |c| (c.psn_no.clone(), month_of(c.begin.date())))
    {
        let institutions: FxHashSet<&str> = mine.iter().map(|c| &*c.fixmedins_code).collect();
        let early = mine
            .windows(2)
            .filter(|w| (w[1].begin.date() - w[0].begin.date()).num_days() < cfg.refill_days)
            .count();
        if institutions.len() >= cfg.min_institutions || early >= cfg.min_early_refills {
            let reason = format!(
                "慢特病参保人 {psn_no} 在 {month} 于 {} 家机构就诊 {} 次，其中 {early} 次间隔短于 {} 天的配药周期，疑似囤药或回流药",
                institutions.len(),
                mine.len(),
                cfg.refill_days
            );
            let score = score_of_pct(pct(
                (institutions.len() + early) as i64,
                (cfg.min_institutions + cfg.min_early_refills) as i64 * 2,
            ));
            out.push(model_finding("慢特病人群分析", &mine, score, reason));
        }
    }
}

fn high_frequency(cfg: &HighFrequencyConfig, claims: &[&Claim], out: &mut Vec<Finding>) {
    let outpatient = claims.iter().copied().filter(|c| !c.is_inpatient());
    let months = group_by(outpatient, |c| (c.psn_no.clone(), month_of(c.begin.date())));
    let mut counts: Vec<usize> = months.iter().map(|(_, v)| v.len()).collect();
    counts.sort_unstable();
    let threshold = cfg
        .min_visits
        .max(crate::eval::percentile(&counts, cfg.percentile));
    for ((psn_no, month), mine) in months {
        if mine.len() < threshold {
            continue;
        }
        let parts = frequency_parts(cfg, &mine);
        let mean = parts.iter().sum::<u64>() / parts.len() as u64;
        let institutions: FxHashSet<&str> = mine.iter().map(|c| &*c.fixmedins_code).collect();
        let reason = format!(
            "参保人 {psn_no} 在 {month} 门诊就诊 {} 次（阈值 {threshold}），涉及 {} 家机构；病种重叠 {}%、基金支付占比 {}%、金额相似 {}%、间隔规律 {}%、药品占比 {}%",
            mine.len(),
            institutions.len(),
            parts[0], parts[1], parts[2], parts[3], parts[4]
        );
        out.push(model_finding(
            "高频就诊人群分析",
            &mine,
            score_of_pct(mean),
            reason,
        ));
    }
}

/// The five sub-scores in percent: disease overlap, fund share, similar amounts, regular
/// intervals, drug share.
fn frequency_parts(cfg: &HighFrequencyConfig, claims: &[&Claim]) -> [u64; 5] {
    let n = claims.len() as i64;
    let top_share = |keys: Vec<String>| {
        let mut counts: FxHashMap<String, i64> = FxHashMap::default();
        for k in keys {
            *counts.entry(k).or_default() += 1;
        }
        pct(counts.values().copied().max().unwrap_or(0), n)
    };
    let dx = top_share(
        claims
            .iter()
            .map(|c| {
                c.diagnoses
                    .first()
                    .and_then(|d| d.get(..3))
                    .unwrap_or_default()
                    .to_string()
            })
            .collect(),
    );
    let total: Fen = claims.iter().map(|c| c.total).sum();
    let fund = pct(insured(claims).fen(), total.fen());
    let amounts = top_share(
        claims
            .iter()
            .map(|c| (c.total.fen() / 100).to_string())
            .collect(),
    );
    let gaps: Vec<i64> = claims
        .windows(2)
        .map(|w| (w[1].begin - w[0].begin).num_hours())
        .collect();
    let regular = if gaps.is_empty() {
        0
    } else {
        let mean = gaps.iter().sum::<i64>() / gaps.len() as i64;
        let spread = gaps.iter().map(|g| (g - mean).abs()).sum::<i64>() / gaps.len() as i64;
        100u64.saturating_sub(pct(spread, mean.max(1)))
    };
    let drugs: Fen = claims
        .iter()
        .flat_map(|c| &c.lines)
        .filter(|l| listed(&cfg.drug_types, l.chrgitm_type()))
        .map(|l| l.amount)
        .sum();
    [dx, fund, amounts, regular, pct(drugs.fen(), total.fen())]
}

/// What links persons to each other in the person file.
type Link = fn(&PersonInfo) -> &str;

fn companion(
    cfg: &CompanionConfig,
    claims: &[&Claim],
    persons: &FxHashMap<String, PersonInfo>,
    out: &mut Vec<Finding>,
) {
    let stays: Vec<&Claim> = claims
        .iter()
        .copied()
        .filter(|c| c.is_inpatient())
        .collect();
    let mut seen: FxHashSet<Vec<String>> = FxHashSet::default();
    let links: [(&str, Link); 3] = [
        ("电话", |p| &p.tel),
        ("地址", |p| &p.addr),
        ("单位", |p| &p.emp_name),
    ];
    for (label, link) in links {
        let mut sharing: FxHashMap<&str, usize> = FxHashMap::default();
        for person in persons.values() {
            *sharing.entry(link(person).trim()).or_default() += 1;
        }
        let linked = stays.iter().copied().filter_map(|c| {
            let value = persons.get(&*c.psn_no).map(link).unwrap_or_default().trim();
            let usable = !value.is_empty()
                && sharing
                    .get(value)
                    .is_some_and(|&n| n <= cfg.max_link_persons);
            usable.then(|| (value.to_string(), c))
        });
        let mut groups: FxHashMap<(String, String), Vec<&Claim>> = FxHashMap::default();
        for (value, c) in linked {
            groups
                .entry((value, c.fixmedins_code.to_string()))
                .or_default()
                .push(c);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for ((value, code), mut group) in groups {
            group.sort_by(|a, b| (a.begin, &a.mdtrt_id).cmp(&(b.begin, &b.mdtrt_id)));
            for cluster in admission_clusters(cfg, &group) {
                let ids: Vec<String> = cluster.iter().map(|c| c.mdtrt_id.to_string()).collect();
                if !seen.insert(ids) {
                    continue;
                }
                let reason = format!(
                    "{} 名{label}相同（{value}）的参保人在 {} 天内先后入住 {code}，病种或费用相近，疑似结伴住院",
                    distinct_persons(&cluster),
                    cfg.window_days
                );
                let score = score_of_pct(pct(
                    distinct_persons(&cluster) as i64,
                    cfg.min_persons as i64 * 2,
                ));
                out.push(model_finding("住院异常", &cluster, score, reason));
            }
        }
    }
}

/// Maximal runs of admissions within `window_days` of the run's first, with enough persons and
/// similar diagnoses or fees.
fn admission_clusters<'a>(cfg: &CompanionConfig, stays: &[&'a Claim]) -> Vec<Vec<&'a Claim>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < stays.len() {
        let first = stays[i].begin.date();
        let end = stays[i..]
            .iter()
            .take_while(|c| (c.begin.date() - first).num_days() <= cfg.window_days)
            .count()
            + i;
        let run: Vec<&Claim> = stays[i..end].to_vec();
        if distinct_persons(&run) >= cfg.min_persons && similar(cfg, &run) {
            out.push(run);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn similar(cfg: &CompanionConfig, stays: &[&Claim]) -> bool {
    let mut dx: FxHashMap<&str, i64> = FxHashMap::default();
    for s in stays {
        *dx.entry(
            s.diagnoses
                .first()
                .and_then(|d| d.get(..3))
                .unwrap_or_default(),
        )
        .or_default() += 1;
    }
    let same = pct(dx.values().copied().max().unwrap_or(0), stays.len() as i64);
    let min = stays.iter().map(|s| s.total.fen()).min().unwrap_or(0);
    let max = stays.iter().map(|s| s.total.fen()).max().unwrap_or(0);
    same >= u64::from(cfg.min_same_dx_pct) || pct(max, min) <= u64::from(cfg.max_fee_ratio_pct)
}
