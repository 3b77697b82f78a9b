//! CHS-DRG grouping driven entirely by rule data.
//!
//! A rule version is a folder with `rules.json` (MDC order, entry conditions, ADRG sequences, DRG
//! branches) and `DATA/` (`MCC.dat`, `CC.dat`, `CCE.dat`, `SS_VALID.dat`, `DRG.dat`). [`Grouper::load`]
//! parses every condition once into a typed AST over interned code ids; [`Grouper::group`] then
//! groups a case with no allocation, reusing a [`Scratch`].
//!
//! The semantics follow `shared/chs-drg/README.md`: input check first, MDCs in `mdc_order` with
//! fall-through (also when an entered MDC matches no ADRG), MDCP newborn rules, MDCZ needing two
//! trauma regions, first- vs any-procedure matching, CC/MCC with single-table exclusion, first DRG
//! branch that holds (else the bare ADRG), optional 歧义组 steps and code mapping.

mod batch;
mod case;
mod codes;
mod compile;
mod cond;
mod dat;
mod error;
pub mod expr;
mod grouper;
mod input;
mod set;

pub use batch::{group_json_lines, group_records, write_case_line, BatchOptions};
pub use case::{Case, Patient, Sex};
pub use compile::LoadOptions;
pub use error::LoadError;
pub use grouper::{Grouped, Grouper, Scratch, Status};
pub use input::{parse_csv_cases, parse_json_case, split_codes, InputError};
pub use set::{version_folder, GrouperSet, VersionError};
