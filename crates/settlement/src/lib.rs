//! The one-stop settlement engine (一站式结算).
//!
//! [`Engine::settle`] is a pure function: (policy, catalogue, person, year-to-date accumulators,
//! visit, account balance) → [`Settlement`]: the national `setlinfo` amounts, one `setldetail`
//! row per paying fund, the per-line split, accumulator postings and a structured trace. It does
//! no I/O, reads no clock and uses no randomness. Pre-settlement is the same call without
//! persisting; cancellation is [`Settlement::negated`]. The rules are written out in
//! `docs/settlement-rules.md`.

mod accumulators;
mod engine;
mod input;
mod output;
pub mod schedule;
mod split;
mod trace;

pub use accumulators::{AccKey, BadAccKey, Posting, YearToDate};
pub use engine::{Engine, SettleError, SplitBasis};
pub use input::{
    Coverage, FeeLine, IdentityPeriod, NoBenefitReason, Person, Visit, QUANTITY_SCALE_DIGITS,
};
pub use output::{FundRow, LineRule, LineSplit, Payer, Settlement, TracedFundRow};
pub use trace::{render_step, TraceStep};
