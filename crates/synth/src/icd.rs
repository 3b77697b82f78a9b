//! Diagnosis codes from the 医保版 ICD-10 2.0 list (`ZD_INFO.dat`: one `code name` per line),
//! grouped by the chapters of [`crate::tables::CHAPTERS`]. Dagger-asterisk combinations
//! (`A01.000x005+J17.0*`) are left out: a principal diagnosis is a single code.

use std::path::{Path, PathBuf};

use crate::tables::CHAPTERS;

/// File name of the diagnosis list inside the code-list directory.
pub const DIAGNOSIS_FILE: &str = "ZD_INFO.dat";

/// Diagnosis codes per chapter, plus the 两病 codes.
#[derive(Debug, Clone)]
pub struct Diagnoses {
    /// `by_chapter[i]` holds the codes of `CHAPTERS[i]`, in file order.
    pub by_chapter: Vec<Vec<String>>,
    /// Hypertension codes (`I10…`).
    pub hypertension: Vec<String>,
    /// Type 2 diabetes codes (`E11…`).
    pub diabetes: Vec<String>,
}

/// Why the diagnosis list could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IcdError {
    #[error("cannot read the diagnosis list {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: no usable codes for chapter {from}–{to}")]
    EmptyChapter {
        path: PathBuf,
        from: &'static str,
        to: &'static str,
    },
    #[error("{path}: no {what} codes ({prefix}…)")]
    NoChronicCodes {
        path: PathBuf,
        what: &'static str,
        prefix: &'static str,
    },
}

impl Diagnoses {
    /// Reads `ZD_INFO.dat` from `icd_dir`.
    pub fn load(icd_dir: &Path) -> Result<Diagnoses, IcdError> {
        let path = icd_dir.join(DIAGNOSIS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|error| IcdError::Read {
            path: path.clone(),
            error,
        })?;
        Diagnoses::parse(&text, &path)
    }

    /// Groups the codes of `text`; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Diagnoses, IcdError> {
        let mut by_chapter = vec![Vec::new(); CHAPTERS.len()];
        let mut hypertension = Vec::new();
        let mut diabetes = Vec::new();
        for code in text
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|c| is_single_code(c))
        {
            if code.starts_with("I10") {
                hypertension.push(code.to_string());
            } else if code.starts_with("E11") {
                diabetes.push(code.to_string());
            }
            if let Some(index) = chapter_of(code) {
                by_chapter[index].push(code.to_string());
            }
        }
        if let Some(index) = by_chapter.iter().position(Vec::is_empty) {
            let chapter = &CHAPTERS[index];
            return Err(IcdError::EmptyChapter {
                path: path.to_path_buf(),
                from: chapter.from,
                to: chapter.to,
            });
        }
        if hypertension.is_empty() {
            return Err(IcdError::NoChronicCodes {
                path: path.to_path_buf(),
                what: "hypertension",
                prefix: "I10",
            });
        }
        if diabetes.is_empty() {
            return Err(IcdError::NoChronicCodes {
                path: path.to_path_buf(),
                what: "type 2 diabetes",
                prefix: "E11",
            });
        }
        Ok(Diagnoses {
            by_chapter,
            hypertension,
            diabetes,
        })
    }
}

/// A plain code: letter, two digits, then only digits, `.`, `x` (no `+`, `*` or spaces).
fn is_single_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 3
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit()
        && bytes[3..]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'x')
}

/// The chapter whose `from..=to` range holds the code's three-character category.
fn chapter_of(code: &str) -> Option<usize> {
    let category = &code[..3];
    CHAPTERS
        .iter()
        .position(|c| c.from <= category && category <= c.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_single_codes_and_skips_combinations() {
        assert!(is_single_code("I10.x00x002"));
        assert!(!is_single_code("A01.000x005+J17.0*"));
        assert_eq!(chapter_of("J18.900").map(|i| CHAPTERS[i].from), Some("J00"));
        assert_eq!(chapter_of("T14.000").map(|i| CHAPTERS[i].from), Some("S00"));
        assert_eq!(chapter_of("Z00.000"), None);
    }
}
