//! A deterministic synthetic pooling region (九江, 360400): persons in the scheme mix of a real
//! county report, employers and wages, institutions by level, a catalogue, and a year of visits
//! in the `yibao settle` input layout. The same seed and inputs give byte-identical files.
//!
//! Output files (in the chosen directory): `persons.csv`, `employers.csv`, `employment.csv`,
//! `institutions.csv`, `catalog.csv`, `visits.jsonl` (sorted by `endtime`).
//!
//! Parameters live in [`tables`]; apart from the report's counts and the division codes they are
//! illustrative.

pub mod catalog;
pub mod employers;
pub mod fraud;
pub mod icd;
pub mod institutions;
pub mod lines;
pub mod output;
pub mod population;
pub mod rng;
pub mod tables;
pub mod visits;

use std::path::PathBuf;

use chrono::NaiveDate;

pub use crate::icd::DiagnosisSource;
use crate::icd::{Diagnoses, IcdError};
use crate::output::{VisitFile, VisitRecord};
use crate::population::Mix;
use crate::rng::{Draw, Stream};
use crate::tables::{COUNTIES, REGION_ADMDVS};
use crate::visits::{Kind, VisitHead, World};

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Number of insured persons.
    pub persons: u64,
    pub seed: u64,
    /// The calendar year of the visits.
    pub year: i32,
    /// Directory the files are written to (created if missing).
    pub out_dir: PathBuf,
    /// Where the diagnosis codes come from (the national list, or the built-in common ones).
    pub diagnoses: DiagnosisSource,
    /// Plant documented fraud patterns in March and write their ground truth (`fraud.jsonl`).
    pub fraud: bool,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{field}: {problem}")]
    Config {
        field: &'static str,
        problem: String,
    },
    #[error(transparent)]
    Icd(#[from] IcdError),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Csv { path: PathBuf, error: csv::Error },
    #[error("no free ID number sequence left for address {address} and birth date {brdy}")]
    IdNumbersExhausted { address: String, brdy: NaiveDate },
}

/// Receives progress: a stage with its number of steps, then advances.
pub trait Progress {
    /// A new stage of `total` steps begins.
    fn stage(&mut self, name: &'static str, total: u64);
    /// `steps` more steps are done.
    fn advance(&mut self, steps: u64);
}

/// Progress that is not shown.
pub struct Silent;

impl Progress for Silent {
    fn stage(&mut self, _name: &'static str, _total: u64) {}
    fn advance(&mut self, _steps: u64) {}
}

/// Counts of what was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub persons: u64,
    pub workers_in_service: u64,
    pub workers_retired: u64,
    pub residents: u64,
    pub poor_residents: u64,
    pub employers: u64,
    pub institutions: u64,
    pub catalog_items: u64,
    /// Visits by `med_type`: 21, 11, 14, 41.
    pub inpatient_visits: u64,
    pub outpatient_visits: u64,
    pub chronic_visits: u64,
    pub pharmacy_visits: u64,
    pub fee_lines: u64,
    pub total_fee_fen: i64,
}

/// Persons generated between progress updates.
const PROGRESS_CHUNK: usize = 1_000;

/// Generates the region described by `config` into `config.out_dir`.
pub fn generate(config: &SynthConfig, progress: &mut dyn Progress) -> Result<Summary, SynthError> {
    check_config(config)?;
    let diagnoses = Diagnoses::from_source(&config.diagnoses)?;
    let dir = &config.out_dir;
    std::fs::create_dir_all(dir).map_err(|error| SynthError::Io {
        path: dir.clone(),
        error,
    })?;
    let catalog = catalog::build(config.seed);
    let mix = Mix::scaled(config.persons);
    progress.stage("persons", config.persons);
    let mut persons = population::generate(config.seed, config.year, mix)?;
    progress.advance(config.persons);
    let (employers, employment) = employers::generate(config.seed, &mut persons);
    let mut per_county = vec![0u64; COUNTIES.len()];
    persons.iter().for_each(|p| per_county[p.county] += 1);
    let institutions = institutions::build(config.seed, &per_county);
    output::write_persons(dir, &persons)?;
    output::write_employers(dir, &employers, &employment, &persons)?;
    output::write_institutions(dir, &institutions.list)?;
    output::write_catalog(dir, &catalog)?;

    let world = World {
        seed: config.seed,
        year: config.year,
        persons: &persons,
        institutions: &institutions,
        diagnoses: &diagnoses,
    };
    let mut planted = if config.fraud {
        fraud::plant(&fraud::Region {
            seed: config.seed,
            year: config.year,
            persons: &persons,
            institutions: &institutions,
            catalog: &catalog,
            diagnoses: &diagnoses,
        })
    } else {
        fraud::Planted::default()
    };
    let mut heads = visit_heads(&world, progress);
    if !planted.heads().is_empty() {
        heads.extend_from_slice(planted.heads());
        heads.sort_unstable_by_key(|h| (h.end, h.person, h.sequence));
    }
    let mut summary = Summary {
        persons: config.persons,
        workers_in_service: mix.in_service,
        workers_retired: mix.retired,
        residents: mix.residents(),
        poor_residents: mix.poor_residents,
        employers: employers.len() as u64,
        institutions: institutions.list.len() as u64,
        catalog_items: catalog.items.len() as u64,
        ..Summary::default()
    };
    progress.stage("visits", heads.len() as u64);
    let mut file = VisitFile::create(dir)?;
    for (index, head) in heads.iter().enumerate() {
        let person = &persons[head.person as usize];
        let institution = &institutions.list[head.institution as usize];
        let lines = match planted.lines_of(head) {
            Some(lines) => lines.clone(),
            None => {
                let mut draw = Draw::new(config.seed, Stream::Lines, line_stream(head));
                lines::draw_lines(&mut draw, head, person, institution.tier, &catalog)
            }
        };
        count_visit(&mut summary, head.kind, &lines);
        let mdtrt_id = format!("{REGION_ADMDVS}{}{:010}", config.year, index + 1);
        planted.record(head, &mdtrt_id);
        file.write(
            &VisitRecord {
                mdtrt_id: &mdtrt_id,
                head,
                person,
                institution,
                lines: &lines,
            },
            &catalog,
            &diagnoses,
        )?;
        if index % PROGRESS_CHUNK == PROGRESS_CHUNK - 1 {
            progress.advance(PROGRESS_CHUNK as u64);
        }
    }
    file.finish()?;
    if config.fraud {
        planted.write_truth(dir, &persons)?;
        planted.write_tel_column(dir)?;
    }
    Ok(summary)
}

fn check_config(config: &SynthConfig) -> Result<(), SynthError> {
    if config.persons == 0 || config.persons > u64::from(u32::MAX) {
        return Err(SynthError::Config {
            field: "persons",
            problem: format!("{} is not in 1..=4294967295", config.persons),
        });
    }
    if !(2000..=2100).contains(&config.year) {
        return Err(SynthError::Config {
            field: "year",
            problem: format!("{} is not in 2000..=2100", config.year),
        });
    }
    Ok(())
}

/// All visit headers, sorted by end time (then person and the person's visit number, so the
/// order is total and deterministic).
fn visit_heads(world: &World<'_>, progress: &mut dyn Progress) -> Vec<VisitHead> {
    progress.stage("planning visits", world.persons.len() as u64);
    let mut heads = Vec::with_capacity(world.persons.len() * 8);
    let mut own = Vec::new();
    for index in 0..world.persons.len() {
        own.clear();
        visits::person_visits(world, index, &mut own);
        heads.extend_from_slice(&own);
        if index % PROGRESS_CHUNK == PROGRESS_CHUNK - 1 {
            progress.advance(PROGRESS_CHUNK as u64);
        }
    }
    heads.sort_unstable_by_key(|h| (h.end, h.person, h.sequence));
    heads
}

/// The visit's own stream: person index and the person's visit number.
fn line_stream(head: &VisitHead) -> u64 {
    (u64::from(head.person) << 24) | u64::from(head.sequence)
}

fn count_visit(summary: &mut Summary, kind: Kind, lines: &[lines::Line]) {
    match kind {
        Kind::Inpatient => summary.inpatient_visits += 1,
        Kind::Outpatient => summary.outpatient_visits += 1,
        Kind::Chronic => summary.chronic_visits += 1,
        Kind::Pharmacy => summary.pharmacy_visits += 1,
    }
    summary.fee_lines += lines.len() as u64;
    summary.total_fee_fen += lines.iter().map(|l| l.amount_fen).sum::<i64>();
}
