//! Domain types shared by every yibao crate.
//!
//! * [`Fen`]: money as integer fen (分); the only money type in yibao.
//! * [`Ratio`]: an exact ratio in basis points (1/10,000), the precision of the national wire (`5,4`).
//! * [`Rounding`]: the one place where a fractional amount becomes fen; the mode is policy data.
//! * [`Code`] and the open code enums ([`codes`]): national dictionary values, carried even when unknown.
//! * [`SetlAmounts`]: the amounts of one settlement (`setlinfo`), their negation and identities.
//! * [`decimal`]: exact parsing of decimal text (yuan, quantities, unit prices) into scaled integers.

pub mod codes;
pub mod decimal;
mod money;
mod ratio;
mod rounding;
pub mod setlinfo;

pub use codes::Code;
pub use decimal::DecimalError;
pub use money::Fen;
pub use ratio::{Ratio, RatioError, BP_PER_ONE};
pub use rounding::{Rounding, RoundingMode};
pub use setlinfo::{LineAmounts, SetlAmounts};
