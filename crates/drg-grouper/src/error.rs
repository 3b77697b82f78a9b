//! Errors raised while loading and compiling a rule directory.

use std::path::PathBuf;

use crate::expr::ParseError;

/// Why a rule directory could not be loaded. Every variant names the file or rule at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid rules file: {source}")]
    RulesJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{rule}: cannot parse `{text}`: {source}")]
    Syntax {
        rule: String,
        text: String,
        source: ParseError,
    },
    #[error("{rule}: unsupported rule form `{form}` in `{text}`")]
    Unsupported {
        rule: String,
        form: String,
        text: String,
    },
    #[error("{rule}: unknown list `{name}`")]
    UnknownList { rule: String, name: String },
    #[error("mdc_order names {mdc}, which has no entry under `mdc`")]
    MissingMdc { mdc: String },
    #[error("{mdc}: adrg_sequence names {adrg}, which has no entry under `adrg`")]
    MissingAdrg { mdc: String, adrg: String },
    #[error("{mdc}: malformed 歧义组 marker `{marker}` (expected `QY:true` or `QY:false`)")]
    BadQyMarker { mdc: String, marker: String },
    #[error("{mdc}: `special` is set but the MDC list has no region headers ending in 创伤")]
    SpecialWithoutRegions { mdc: String },
    #[error("{mdc}: more than {max} trauma regions")]
    TooManyRegions { mdc: String, max: usize },
    #[error("{mdc}: only one MDC may carry the multiple-trauma rule, {first} already does")]
    SecondTraumaMdc { mdc: String, first: String },
    #[error("{adrg}: label list `{label}` is used but adrg_ss1 is not parallel to adrg_ss ({ss} vs {ss1} entries)")]
    LabelsNotParallel {
        adrg: String,
        label: String,
        ss: usize,
        ss1: usize,
    },
    #[error("{adrg}: DRG code `{code}` is shorter than 4 characters")]
    BadDrgCode { adrg: String, code: String },
    #[error("too many {what} (limit {limit})")]
    TooMany { what: &'static str, limit: usize },
}
