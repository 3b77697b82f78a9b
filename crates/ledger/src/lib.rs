//! Durable storage for the yibao settlement service, on SQLite (embedded, WAL) or PostgreSQL through one
//! schema and one set of queries.
//!
//! * [`Store`]: opens the database and applies the migrations; registry reads and writes ([`registry`]).
//! * [`entries`]: reads of visits, fee lines, the append-only settlement ledger, accumulator totals and
//!   the idempotency table, on any connection.
//! * [`GroupCommit`]: a single writer that runs write jobs in batches, one durable commit per batch. Each
//!   job works on a [`LedgerView`] over the writer's [`LedgerCache`]; its writes are staged and reach the
//!   database in the batch's flush, a few multi-row statements per batch. It runs only with the
//!   database's [`WriterLock`] ([`Store::lock_writer`]): one writer per database.
//! * [`provider`]: budgets, deductions, the month's claims from the ledger, posted payment statements.
//! * [`clearing`]: cross-region clearing rows per month × pair, their states and review deductions;
//!   [`clearing_run`] runs a month (idempotent) and applies a rejected clearing again;
//!   [`clearing_reserve`] releases the reserve withheld.
//! * [`filings`]: 人员慢特病备案, a person's certified chronic conditions (2503/2504/5301).
//! * [`setl_lists`]: 医疗保障基金结算清单 (4101/4101A) as uploaded, read by the DRG grouper.
//! * [`mappings`]: 目录对照, an institution's own codes mapped to national codes (3301/3302).
//! * [`lookups`]: a person's visits and fee lines across institutions, for the routine queries.
//! * [`files`]: the files of the 9101/9102 file channel, per institution, until they expire.
//! * [`gateway`]: gateway replay tokens (CSB signatures, TIF nonces) kept across restarts.
//! * [`backup`]: online backup of the embedded database and its restore.
//! * [`verify`]: re-derives the accumulators from the postings and checks every settlement identity.
//! * [`FaultHook`]: fault injection into the write pipeline for tests ([`Store::with_fault_hook`]).

mod array_rows;
pub mod audit_cases;
pub mod audit_claims;
pub mod audit_feedback;
pub mod backup;
pub mod books;
mod cache;
pub mod clearing;
pub mod clearing_books;
pub mod clearing_confirm;
pub mod clearing_reserve;
pub mod clearing_run;
mod columns;
pub mod drg;
pub mod entries;
mod error;
pub mod export;
mod fault;
pub mod files;
pub mod filings;
mod flush;
pub mod gateway;
mod group_commit;
pub mod lookups;
pub mod mappings;
pub mod peers;
pub mod procurement;
pub mod provider;
pub mod provider_books;
pub mod records;
pub mod registry;
pub mod remote_filings;
pub mod sanctions;
pub mod setl_lists;
mod sql;
mod store;
pub mod verify;
mod writer_lock;

pub use cache::{Flush, LedgerCache, LedgerView};

/// The `fixmedins_code` of a manual reimbursement's (零星报销) ledger entries: the insured place's
/// counter. The fund pays the person directly, so such care is never cleared between regions.
pub const MANUAL_CLAIM_FIXMEDINS_CODE: &str = "ZXBX";
pub use error::LedgerError;
pub use fault::{Fault, FaultHook, PipelineStep};
pub use group_commit::{Decision, GroupCommit, Stopped, WeakGroupCommit, WriteHandler};
pub use records::*;
pub use sqlx::AnyConnection;
pub use store::{schema_version, Backend, Store, WriteTurn};
pub use writer_lock::WriterLock;
