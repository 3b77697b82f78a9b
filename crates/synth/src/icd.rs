//! Diagnosis codes from the 医保版 ICD-10 2.0 list (`ZD_INFO.dat`: one `code name` per line),
//! grouped by the chapters of [`crate::tables::CHAPTERS`]. Dagger-asterisk combinations
//! (`A01.000x005+J17.0*`) are left out: a principal diagnosis is a single code.

use std::path::{Path, PathBuf};

use crate::tables::CHAPTERS;

/// File name of the diagnosis list inside the code-list directory.
pub const DIAGNOSIS_FILE: &str = "ZD_INFO.dat";

/// Common diagnoses in 医保版 ICD-10 2.0 codes, at least one per sampled chapter plus the 两病
/// codes: used when the full list is not at hand, so that a region can be generated from the
/// repository alone (with far less variety of diagnoses).
pub const BUILT_IN_DIAGNOSES: &str = "\
A09.900 胃肠炎和结肠炎
A15.000 肺结核
B02.900 带状疱疹
C16.900 胃恶性肿瘤
C22.000 肝细胞癌
C34.900 肺恶性肿瘤
D50.900 缺铁性贫血
D64.900 贫血
E03.900 甲状腺功能减退症
E11.900 2型糖尿病
E78.500 高脂血症
F20.900 精神分裂症
F32.900 抑郁发作
G40.900 癫痫
G45.900 短暂性脑缺血发作
H25.900 老年性白内障
H26.900 白内障
I10.x00 原发性高血压
I10.x00x002 高血压
I25.103 冠状动脉粥样硬化性心脏病
I50.900 心力衰竭
I63.900 脑梗死
J06.900 急性上呼吸道感染
J18.900 肺炎
J20.900 急性支气管炎
J44.100 慢性阻塞性肺病急性加重
K25.900 胃溃疡
K29.700 胃炎
K35.800 急性阑尾炎
K80.100 胆囊结石伴胆囊炎
L03.900 蜂窝织炎
L30.900 皮炎
M17.900 膝关节病
M48.000 椎管狭窄
M51.202 腰椎间盘突出
N18.900 慢性肾脏病
N20.000 肾结石
N39.000 泌尿道感染
O80.000 头位顺产
O82.900 剖宫产分娩
Q21.100 房间隔缺损
R10.400 腹痛
R50.900 发热
S06.000 脑震荡
S72.000 股骨颈骨折
S82.200 胫骨骨干骨折
T14.000 浅表损伤
";

/// Where the diagnosis codes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagnosisSource {
    /// `ZD_INFO.dat` in this directory (the full national list).
    Directory(PathBuf),
    /// [`BUILT_IN_DIAGNOSES`].
    BuiltIn,
}

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

    /// Reads the diagnoses from `source`.
    pub fn from_source(source: &DiagnosisSource) -> Result<Diagnoses, IcdError> {
        match source {
            DiagnosisSource::Directory(dir) => Diagnoses::load(dir),
            DiagnosisSource::BuiltIn => {
                Diagnoses::parse(BUILT_IN_DIAGNOSES, Path::new("built-in diagnosis list"))
            }
        }
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

    #[test]
    fn built_in_list_covers_every_chapter_and_both_chronic_diseases() {
        let diagnoses = Diagnoses::from_source(&DiagnosisSource::BuiltIn).unwrap();
        assert!(diagnoses.by_chapter.iter().all(|codes| !codes.is_empty()));
        assert_eq!(diagnoses.hypertension.len(), 2);
        assert_eq!(diagnoses.diabetes, vec!["E11.900".to_string()]);
    }
}
