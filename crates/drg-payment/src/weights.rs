//! Base-point sources: a regional weight table (CSV: DRG code + RW/权重/标准分值 column) or three
//! years of history weighted 1:2:7.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yibao_domain::{decimal, Fen};

use crate::scaled::{div_half_up, to_i64, Points, SCALE};

/// Column names tried, in order, when no weight column is given.
pub const WEIGHT_COLUMNS: [&str; 4] = ["RW", "权重", "初始权重", "标准分值"];
/// Decimals kept when reading a weight (some tables carry nine).
const WEIGHT_DECIMALS: u32 = 9;

/// Why a base-point source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WeightError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("{path}: no column named {wanted}")]
    MissingColumn { path: PathBuf, wanted: String },
    #[error("{path} line {line}: `{value}` in column {column} is not a number: {problem}")]
    BadNumber {
        path: PathBuf,
        line: usize,
        column: String,
        value: String,
        problem: String,
    },
    #[error("{path}: history needs {wanted} years, found {found}")]
    HistoryYears {
        path: PathBuf,
        wanted: usize,
        found: usize,
    },
    #[error("{path}: all history cases cost nothing; cannot compute an average")]
    NoHistoryCost { path: PathBuf },
}

/// A DRG that appears twice in a table with different weights; the first row is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub code: String,
    pub kept_line: usize,
    pub ignored_line: usize,
}

/// Base points per DRG as read from a source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeightTable {
    pub points: BTreeMap<String, Points>,
    /// DRGs listed without a numeric weight (e.g. `按项目据实支付`), with the cell text.
    pub unweighted: BTreeMap<String, String>,
    pub conflicts: Vec<Conflict>,
}

fn open_csv(path: &Path) -> Result<(csv::Reader<std::fs::File>, Vec<String>), WeightError> {
    let file = std::fs::File::open(path).map_err(|source| WeightError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = reader.headers().map_err(|e| WeightError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let names = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    Ok((reader, names))
}

fn column(path: &Path, names: &[String], wanted: &[&str]) -> Result<usize, WeightError> {
    wanted
        .iter()
        .find_map(|w| names.iter().position(|n| n == w))
        .ok_or_else(|| WeightError::MissingColumn {
            path: path.to_path_buf(),
            wanted: wanted.join(" or "),
        })
}

impl WeightTable {
    /// Reads a weight CSV. `code_column` defaults to the first column, `weight_column` to the first
    /// of [`WEIGHT_COLUMNS`] present; base points = weight × `points_per_weight`, rounded half up to
    /// four decimals.
    pub fn from_csv(
        path: &Path,
        code_column: Option<&str>,
        weight_column: Option<&str>,
        points_per_weight: Points,
    ) -> Result<WeightTable, WeightError> {
        let (mut reader, names) = open_csv(path)?;
        let code_at = match code_column {
            Some(name) => column(path, &names, &[name])?,
            None => 0,
        };
        let weight_at = match weight_column {
            Some(name) => column(path, &names, &[name])?,
            None => column(path, &names, &WEIGHT_COLUMNS)?,
        };
        let mut table = WeightTable::default();
        let mut first_line: BTreeMap<String, (usize, Option<Points>)> = BTreeMap::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let record = record.map_err(|e| WeightError::Csv {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            let code = record.get(code_at).unwrap_or("").to_string();
            let cell = record.get(weight_at).unwrap_or("");
            if code.is_empty() || cell.is_empty() {
                continue;
            }
            let points = parse_weight(cell, points_per_weight).ok();
            if let Some((kept_line, kept)) = first_line.get(&code) {
                if *kept != points {
                    table.conflicts.push(Conflict {
                        code,
                        kept_line: *kept_line,
                        ignored_line: line,
                    });
                }
                continue;
            }
            first_line.insert(code.clone(), (line, points));
            match points {
                Some(points) => {
                    table.points.insert(code, points);
                }
                None if cell.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
                    return Err(WeightError::BadNumber {
                        path: path.to_path_buf(),
                        line,
                        column: names.get(weight_at).cloned().unwrap_or_default(),
                        value: cell.to_string(),
                        problem: "not a decimal weight".into(),
                    });
                }
                None => {
                    table.unweighted.insert(code, cell.to_string());
                }
            }
        }
        Ok(table)
    }

    /// Computes base points from history: a CSV with `year,drg,cases,total_cost` (yuan). The last
    /// `year_weights.len()` years are weighted in order (1:2:7 = oldest to newest). A DRG's average
    /// cost is the weighted mean of its yearly averages over the years it has cases; its base points
    /// are that average ÷ the weighted regional average per case × `points_per_weight`.
    pub fn from_history(
        path: &Path,
        year_weights: &[i64],
        points_per_weight: Points,
    ) -> Result<WeightTable, WeightError> {
        let yearly = read_history(path)?;
        let years: Vec<i64> = yearly.keys().copied().collect();
        if years.len() < year_weights.len() {
            return Err(WeightError::HistoryYears {
                path: path.to_path_buf(),
                wanted: year_weights.len(),
                found: years.len(),
            });
        }
        let used = &years[years.len() - year_weights.len()..];
        let mut overall = WeightedMean::default();
        let mut per_drg: BTreeMap<&str, WeightedMean> = BTreeMap::new();
        for (year, weight) in used.iter().zip(year_weights) {
            let rows = &yearly[year];
            let (cases, cost) = rows.values().fold((0i64, 0i64), |(n, c), (cases, cost)| {
                (n + cases, c + cost.0)
            });
            overall.add(*weight, cases, cost);
            for (drg, (cases, cost)) in rows {
                per_drg
                    .entry(drg.as_str())
                    .or_default()
                    .add(*weight, *cases, cost.0);
            }
        }
        let overall_average =
            overall
                .mean()
                .filter(|a| *a > 0)
                .ok_or_else(|| WeightError::NoHistoryCost {
                    path: path.to_path_buf(),
                })?;
        let points = per_drg
            .into_iter()
            .filter_map(|(drg, mean)| {
                let average = mean.mean()?;
                let value = div_half_up(average * i128::from(points_per_weight.0), overall_average);
                Some((drg.to_string(), Points(to_i64(value))))
            })
            .collect();
        Ok(WeightTable {
            points,
            unweighted: BTreeMap::new(),
            conflicts: Vec::new(),
        })
    }
}

/// Weight cell × points per weight, in points with four decimals.
fn parse_weight(cell: &str, points_per_weight: Points) -> Result<Points, decimal::DecimalError> {
    let weight = decimal::parse_scaled(cell, WEIGHT_DECIMALS)?;
    let scaled = i128::from(weight) * i128::from(points_per_weight.0);
    Ok(Points(to_i64(div_half_up(
        scaled,
        10i128.pow(WEIGHT_DECIMALS),
    ))))
}

type History = BTreeMap<i64, BTreeMap<String, (i64, Fen)>>;

fn read_history(path: &Path) -> Result<History, WeightError> {
    let (mut reader, names) = open_csv(path)?;
    let at = |name: &str| column(path, &names, &[name]);
    let (year_at, drg_at, cases_at, cost_at) =
        (at("year")?, at("drg")?, at("cases")?, at("total_cost")?);
    let mut history = History::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|e| WeightError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let cell = |at: usize| record.get(at).unwrap_or("");
        let bad = |column: &str, value: &str, problem: String| WeightError::BadNumber {
            path: path.to_path_buf(),
            line,
            column: column.to_string(),
            value: value.to_string(),
            problem,
        };
        let year: i64 = cell(year_at)
            .parse()
            .map_err(|e| bad("year", cell(year_at), format!("{e}")))?;
        let cases: i64 = cell(cases_at)
            .parse()
            .map_err(|e| bad("cases", cell(cases_at), format!("{e}")))?;
        let cost = Fen::parse_yuan(cell(cost_at))
            .map_err(|e| bad("total_cost", cell(cost_at), e.to_string()))?;
        let entry = history
            .entry(year)
            .or_default()
            .entry(cell(drg_at).to_string())
            .or_insert((0, Fen::ZERO));
        entry.0 += cases;
        entry.1 += cost;
    }
    Ok(history)
}

/// Σ weight × (cost ÷ cases) ÷ Σ weight over the years with cases, in fen × 10⁴.
#[derive(Debug, Default)]
struct WeightedMean {
    weighted_sum: i128,
    weight_total: i128,
}

impl WeightedMean {
    fn add(&mut self, weight: i64, cases: i64, cost_fen: i64) {
        if cases > 0 {
            let average = div_half_up(i128::from(cost_fen) * i128::from(SCALE), i128::from(cases));
            self.weighted_sum += i128::from(weight) * average;
            self.weight_total += i128::from(weight);
        }
    }

    fn mean(&self) -> Option<i128> {
        (self.weight_total > 0).then(|| div_half_up(self.weighted_sum, self.weight_total))
    }
}
