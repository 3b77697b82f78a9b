//! Planted fraud (`yibao synth --fraud`): documented patterns of supervision.md §3–§4 added to the
//! year's visits in March, each group with the finding an audit should raise, so that
//! `yibao audit run` can be measured. The ground truth is written to `fraud.jsonl`, one line per
//! planted group: `pattern`, `expect` (the rule id or model name), `psn_nos`, `mdtrt_ids`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::catalog::Catalog;
use crate::icd::Diagnoses;
use crate::institutions::{Institutions, Tier};
use crate::lines::Line;
use crate::population::SynthPerson;
use crate::rng::{Draw, Stream};
use crate::visits::{Diagnosis, Kind, VisitHead};
use crate::SynthError;

/// Planted visits are numbered from here within their person, apart from ordinary visits.
const SEQUENCE_BASE: u32 = 1 << 20;
const FEN_IN_PRICE_COUNT_UNITS: i64 = 10_000 * 10_000;

/// One planted group: what it is, what should find it, and its visits (person, sequence).
struct Group {
    pattern: &'static str,
    expect: &'static str,
    visits: Vec<(u32, u32)>,
}

/// The planted visits with their own lines, and the groups they form.
#[derive(Default)]
pub struct Planted {
    heads: Vec<VisitHead>,
    lines: HashMap<(u32, u32), Vec<Line>>,
    groups: Vec<Group>,
    mdtrt_ids: HashMap<(u32, u32), String>,
    /// Shared phone numbers of companions (结伴住院), by person.
    tels: HashMap<u32, String>,
}

impl Planted {
    /// The planted visit heads, to be merged with the ordinary ones.
    pub fn heads(&self) -> &[VisitHead] {
        &self.heads
    }

    /// The lines of a planted visit (`None` for an ordinary one).
    pub fn lines_of(&self, head: &VisitHead) -> Option<&Vec<Line>> {
        self.lines.get(&(head.person, head.sequence))
    }

    /// Notes the `mdtrt_id` a planted visit was written under.
    pub fn record(&mut self, head: &VisitHead, mdtrt_id: &str) {
        if self.lines.contains_key(&(head.person, head.sequence)) {
            self.mdtrt_ids
                .insert((head.person, head.sequence), mdtrt_id.to_string());
        }
    }

    /// Adds a `tel` column to `dir/persons.csv`: the companions' shared numbers, empty elsewhere.
    pub fn write_tel_column(&self, dir: &Path) -> Result<(), SynthError> {
        let path = dir.join("persons.csv");
        let io = |error| SynthError::Io {
            path: path.clone(),
            error,
        };
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let mut out = String::with_capacity(text.len() + text.len() / 8);
        for (i, line) in text.lines().enumerate() {
            out.push_str(line);
            out.push(',');
            match i {
                0 => out.push_str("tel"),
                row => {
                    if let Some(tel) = self.tels.get(&(row as u32 - 1)) {
                        out.push_str(tel);
                    }
                }
            }
            out.push('\n');
        }
        std::fs::write(&path, out).map_err(io)
    }

    /// Writes `dir/fraud.jsonl`.
    pub fn write_truth(&self, dir: &Path, persons: &[SynthPerson]) -> Result<(), SynthError> {
        let path = dir.join("fraud.jsonl");
        let io = |error| SynthError::Io {
            path: path.clone(),
            error,
        };
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
        for group in &self.groups {
            let mut psn_nos: Vec<&str> = group
                .visits
                .iter()
                .map(|(p, _)| persons[*p as usize].psn_no.as_str())
                .collect();
            psn_nos.sort_unstable();
            psn_nos.dedup();
            let mut mdtrt_ids: Vec<&str> = group
                .visits
                .iter()
                .filter_map(|v| self.mdtrt_ids.get(v).map(String::as_str))
                .collect();
            mdtrt_ids.sort_unstable();
            let line = format!(
                "{{\"pattern\":\"{}\",\"expect\":\"{}\",\"psn_nos\":{},\"mdtrt_ids\":{}}}\n",
                group.pattern,
                group.expect,
                json_list(&psn_nos),
                json_list(&mdtrt_ids)
            );
            out.write_all(line.as_bytes()).map_err(io)?;
        }
        out.flush().map_err(io)
    }
}

fn json_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(","))
}

/// What the planter reads.
pub struct Region<'a> {
    pub seed: u64,
    pub year: i32,
    pub persons: &'a [SynthPerson],
    pub institutions: &'a Institutions,
    pub catalog: &'a Catalog,
    pub diagnoses: &'a Diagnoses,
}

struct Planter<'a> {
    region: &'a Region<'a>,
    draw: Draw,
    planted: Planted,
    next_sequence: HashMap<u32, u32>,
    diagnosis: Diagnosis,
}

/// Plants every pattern: groups per pattern grow with the population (3 up to 200).
pub fn plant(region: &Region<'_>) -> Planted {
    let first_chapter = region
        .diagnoses
        .by_chapter
        .iter()
        .position(|codes| !codes.is_empty())
        .unwrap_or(0);
    let mut planter = Planter {
        region,
        draw: Draw::new(region.seed, Stream::Fraud, 0),
        planted: Planted::default(),
        next_sequence: HashMap::new(),
        diagnosis: Diagnosis::Chapter {
            chapter: first_chapter as u8,
            code: 0,
        },
    };
    let groups = (region.persons.len() / 2000).clamp(3, 200);
    for g in 0..groups {
        planter.card_cluster(g);
        planter.frequent_visitor(g);
        planter.split_admission(g);
        planter.night_pharmacy(g);
        planter.sex_violation(g);
        planter.duplicate_charge(g);
        planter.exam_stay(g);
        planter.companions(g);
    }
    planter.planted
}

impl Planter<'_> {
    fn march(&self, day: u32, hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(self.region.year, 3, day.clamp(1, 31))
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .unwrap_or_default()
    }

    fn person(&mut self) -> u32 {
        self.draw.below(self.region.persons.len() as u64) as u32
    }

    fn person_where(&mut self, want: impl Fn(&SynthPerson) -> bool) -> u32 {
        for _ in 0..1000 {
            let p = self.person();
            if want(&self.region.persons[p as usize]) {
                return p;
            }
        }
        self.person()
    }

    fn institution(&mut self, tier: Tier) -> u32 {
        let region = self.region;
        let list = &region.institutions.list;
        let of_tier: Vec<u32> = (0..list.len() as u32)
            .filter(|&i| list[i as usize].tier == tier)
            .collect();
        *self.draw.pick(&of_tier)
    }

    /// The first catalogue item whose code starts with `prefix` (a drug's generic code or a whole
    /// service code), priced in whole fen.
    fn item(&self, prefix: &str) -> Option<usize> {
        let region = self.region;
        region
            .catalog
            .items
            .iter()
            .position(|i| i.code.starts_with(prefix) && i.price_micro % 10_000 == 0)
    }

    fn line(&self, item: usize, count: i64) -> Line {
        let pric_micro = self.region.catalog.items[item].price_micro;
        let cnt_e4 = count * 10_000;
        Line {
            item: item as u32,
            cnt_e4,
            pric_micro,
            amount_fen: pric_micro * cnt_e4 / FEN_IN_PRICE_COUNT_UNITS,
            approval: "0",
        }
    }

    fn lines(&self, items: &[(&str, i64)]) -> Vec<Line> {
        items
            .iter()
            .filter_map(|(prefix, count)| self.item(prefix).map(|i| self.line(i, *count)))
            .collect()
    }

    /// Adds one planted visit and returns its key.
    fn visit(
        &mut self,
        person: u32,
        (kind, institution): (Kind, u32),
        begin: NaiveDateTime,
        end: NaiveDateTime,
        lines: Vec<Line>,
    ) -> (u32, u32) {
        let next = self.next_sequence.entry(person).or_insert(SEQUENCE_BASE);
        let sequence = *next;
        *next += 1;
        self.planted.heads.push(VisitHead {
            end,
            begin,
            person,
            sequence,
            kind,
            institution,
            diagnosis: self.diagnosis,
            target_fen: lines.iter().map(|l| l.amount_fen).sum(),
            stay_days: (end.date() - begin.date()).num_days().max(0) as u32,
            referred: false,
            surgical: false,
        });
        self.planted.lines.insert((person, sequence), lines);
        (person, sequence)
    }

    fn group(&mut self, pattern: &'static str, expect: &'static str, visits: Vec<(u32, u32)>) {
        self.planted.groups.push(Group {
            pattern,
            expect,
            visits,
        });
    }

    /// 卡聚集: five cards settled a minute apart at one clinic on four days.
    fn card_cluster(&mut self, g: usize) {
        let cards: Vec<u32> = (0..5).map(|_| self.person()).collect();
        let clinic = self.institution(Tier::Village);
        let mut visits = Vec::new();
        for day in 0..4u32 {
            let date = 2 + day * 7 + (g % 5) as u32;
            for (i, &card) in cards.iter().enumerate() {
                let at = self.march(date, 15, 2 * i as u32);
                let lines = self.lines(&[("001103000010000", 1), ("XR06AXA040", 1 + i as i64)]);
                visits.push(self.visit(
                    card,
                    (Kind::Outpatient, clinic),
                    at,
                    at + Duration::minutes(10),
                    lines,
                ));
            }
        }
        self.group("card cluster", "卡聚集", visits);
    }

    /// 高频就诊: fourteen outpatient visits in March.
    fn frequent_visitor(&mut self, _g: usize) {
        let person = self.person();
        let clinic = self.institution(Tier::Township);
        let visits = (0..14u32)
            .map(|d| {
                let at = self.march(1 + 2 * d, 9, 30);
                let lines =
                    self.lines(&[("001103000010000", 1), ("XR05CBA038", 1 + i64::from(d % 3))]);
                self.visit(
                    person,
                    (Kind::Outpatient, clinic),
                    at,
                    at + Duration::minutes(15),
                    lines,
                )
            })
            .collect();
        self.group("high-frequency visitor", "高频就诊人群分析", visits);
    }

    fn stay_lines(&self, days: i64) -> Vec<Line> {
        self.lines(&[
            ("001201000010000", days),
            ("001204000010000", days),
            ("XJ01DDA003", 2 * days),
        ])
    }

    /// 分解住院: discharged and admitted again to the same hospital four days later, same diagnosis.
    fn split_admission(&mut self, g: usize) {
        let person = self.person();
        let hospital = self.institution(Tier::Second);
        let start = 2 + (g % 8) as u32;
        self.visit(
            person,
            (Kind::Inpatient, hospital),
            self.march(start, 9, 0),
            self.march(start + 6, 10, 0),
            self.stay_lines(6),
        );
        let again = self.visit(
            person,
            (Kind::Inpatient, hospital),
            self.march(start + 10, 9, 0),
            self.march(start + 16, 10, 0),
            self.stay_lines(6),
        );
        self.group("split admission", "JJ-R19", vec![again]);
    }

    /// 异常购药: five cards at one pharmacy late at night.
    fn night_pharmacy(&mut self, g: usize) {
        let pharmacy = self.institution(Tier::Pharmacy);
        let day = 3 + (g % 25) as u32;
        let visits = (0..5u32)
            .map(|i| {
                let person = self.person();
                let at = self.march(day, 23, 10 * i);
                let lines = self.lines(&[("XJ01CAA001", 1 + i64::from(i))]);
                self.visit(
                    person,
                    (Kind::Pharmacy, pharmacy),
                    at,
                    at + Duration::minutes(5),
                    lines,
                )
            })
            .collect();
        self.group("pharmacy night burst", "异常购药", visits);
    }

    /// 限性别: a man billed a test the catalogue restricts to women.
    fn sex_violation(&mut self, g: usize) {
        let person = self.person_where(|p| p.male);
        let hospital = self.institution(Tier::Second);
        let at = self.march(4 + (g % 20) as u32, 10, 0);
        let lines = self.lines(&[("001102000010000", 1), ("003105000010000", 1)]);
        let visit = self.visit(
            person,
            (Kind::Outpatient, hospital),
            at,
            at + Duration::minutes(20),
            lines,
        );
        self.group("sex restriction", "JJ-R01C", vec![visit]);
    }

    /// 重复收费: 诊察费 billed beside the 一般诊疗费 that includes it.
    fn duplicate_charge(&mut self, g: usize) {
        let person = self.person();
        let clinic = self.institution(Tier::Township);
        let at = self.march(5 + (g % 20) as u32, 11, 0);
        let lines = self.lines(&[
            ("001103000010000", 1),
            ("001102000010000", 1),
            ("XR06AXA040", 1),
        ]);
        let visit = self.visit(
            person,
            (Kind::Outpatient, clinic),
            at,
            at + Duration::minutes(20),
            lines,
        );
        self.group("duplicate charge", "JJ-R11", vec![visit]);
    }

    /// 结伴住院: three persons sharing a phone admitted to one hospital on consecutive days.
    fn companions(&mut self, g: usize) {
        let hospital = self.institution(Tier::Second);
        let day = 3 + (g % 20) as u32;
        let tel = format!("139{:08}", 10_000 + g);
        let visits = (0..3u32)
            .map(|i| {
                let person = self.person();
                self.planted.tels.insert(person, tel.clone());
                let begin = self.march(day + i, 9, 0);
                let end = self.march(day + i + 5, 10, 0);
                let lines = self.stay_lines(5);
                self.visit(person, (Kind::Inpatient, hospital), begin, end, lines)
            })
            .collect();
        self.group("companions", "住院异常", visits);
    }

    /// 体检住院: a two-day stay of examinations.
    fn exam_stay(&mut self, g: usize) {
        let person = self.person();
        let hospital = self.institution(Tier::Second);
        let day = 6 + (g % 20) as u32;
        let lines = self.lines(&[
            ("002101000010000", 1),
            ("002202000010000", 1),
            ("002201000010000", 1),
            ("002702000010000", 2),
            ("001201000010000", 2),
        ]);
        let visit = self.visit(
            person,
            (Kind::Inpatient, hospital),
            self.march(day, 9, 0),
            self.march(day + 2, 10, 0),
            lines,
        );
        self.group("exam stay", "体检住院", vec![visit]);
    }
}
