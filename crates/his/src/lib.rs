//! The HIS side of the national interface (`interface.md`): what a hospital's or pharmacy's system
//! sends and how it reads the replies, written once for `yibao load`, the demo region and the
//! service's tests.
//!
//! * [`envelope`]: the request envelope in national field names, its `inf_time`, and where msgids
//!   come from ([`MsgidSource`]);
//! * [`transport`]: how a request body reaches a service ([`Transport`]; [`HttpTransport`] and
//!   [`ConnectionTransport`] post to `callService`);
//! * [`reply`]: the parsed reply ([`Reply`]) and what can go wrong ([`HisError`]);
//! * [`visit`]: a visit and its fee lines as the HIS holds them, and [`medfee_sumamt`];
//! * [`steps`]: one message per transaction (2201, 2203, 2204/2205, 2206/2207/2208 by charge batch;
//!   2401, 2301, 2402/2405, 2303/2304/2305; 2102) and readers of the ids their replies issue;
//! * [`client`]: [`Client`] sends messages with fresh or explicit msgids;
//! * [`flows`]: whole outpatient, inpatient and pharmacy flows, returning what was [`Settled`].

pub mod client;
pub mod envelope;
pub mod flows;
pub mod reply;
pub mod steps;
pub mod transport;
pub mod visit;

pub use client::Client;
pub use envelope::{Envelope, InfTime, MsgidSource, NationalMsgids};
pub use flows::{FlowFailed, Settled};
pub use reply::{HisError, Reply};
pub use steps::Message;
pub use transport::{ConnectionTransport, HttpTransport, Transport, TransportError};
pub use visit::{medfee_sumamt, FeeLine, Visit};
