//! The national interface's JSON for settlement, shared by `yibao settle` and the service:
//! lenient parsing of visits and fee lines into engine inputs ([`visit`]), exact rendering of
//! `setlinfo`, `setldetail` and the per-line `result` ([`render`]), and settling a file of
//! visits in order ([`batch`]).

pub mod batch;
pub mod lenient;
pub mod render;
pub mod visit;

pub use batch::{
    read_line, read_value, receipt, BatchSettler, Carry, LineError, Outcome, SettleOutput, WireLine,
};
pub use visit::{WireError, WireFeeLine, WireVisit};
