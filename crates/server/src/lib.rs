//! The yibao settlement service: hospitals' HIS post the national request envelope to
//! `/fsi/api/rsfComIfsService/callService` and get the national reply envelope.
//!
//! * [`envelope`]: request/reply envelopes; [`error::TxError`] names the field of every rejection.
//! * [`tx`]: the transactions, dispatched on `infno`; settlement goes through `yibao-settlement`.
//! * [`writer`]: the write path on the ledger's group commit, with idempotency on `msgid`.
//! * [`service`]: one message end to end; [`app`]: the axum router, `/healthz`, `/metrics`;
//!   [`listener`]: bounded connections with header and body timeouts.
//! * [`auth`]: CSB / TIF gateway signatures, each accepted once ([`replay`]); [`admin`]: the admin JSON API; [`import`]: registry files.
//! * [`config`]: file + environment configuration; [`metrics`]: Prometheus text.
//! * [`evoucher`]: short-lived 医保电子凭证 tokens that stand for a person (1101 with type 01).
//! * [`peer`]: direct settlement between platforms (`[[peers]]`, `/peer/v1/*`), two-phase.
//! * [`routes`]: routes as (method, path, handler) lists; [`openapi`]: the OpenAPI document of
//!   them, served at `/openapi.json`.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod care_state;
pub mod cases;
pub mod config;
pub mod envelope;
pub mod error;
pub mod evoucher;
pub mod filing_register;
pub mod import;
pub mod listener;
pub mod metrics;
pub mod openapi;
pub mod peer;
pub mod region_front;
pub mod replay;
pub mod routes;
pub mod sanctions;
pub mod service;
pub mod state;
pub mod tx;
pub mod writer;
