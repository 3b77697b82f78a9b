//! Durable storage for the yibao settlement service, on SQLite (embedded, WAL) or PostgreSQL through one
//! schema and one set of queries.
//!
//! * [`Store`]: opens the database and applies the migrations; registry reads and writes ([`registry`]).
//! * [`entries`]: visits, fee lines, the append-only settlement ledger, accumulator postings and the
//!   idempotency table; every function takes a connection so that it runs inside the caller's transaction.
//! * [`GroupCommit`]: a single writer that runs write jobs in batches, one durable commit per batch, each
//!   job isolated by a savepoint.
//! * [`verify`]: re-derives the accumulators from the postings and checks every settlement identity.

pub mod books;
pub mod entries;
mod error;
mod group_commit;
pub mod records;
pub mod registry;
mod sql;
mod store;
pub mod verify;

pub use error::LedgerError;
pub use group_commit::{Decision, GroupCommit, WriteHandler};
pub use records::*;
pub use sqlx::AnyConnection;
pub use store::{Backend, Store};
