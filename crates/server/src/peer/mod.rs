//! Direct settlement between platforms (跨省异地就医直接结算, issue 11 §2). A platform hosts the
//! persons it insures; `[[peers]]` lists the other platforms by the insured places they host. When
//! a person insured on platform I is treated at a hospital of platform T:
//!
//! * 1101 at T is answered by I's register ([`treating`] forwards it to `POST /peer/v1/person`)
//!   and T keeps the person's registry rows, so 2201/2204 run at T, T's catalogue splitting the
//!   lines ([`crate::tx::common::split_rules`]);
//! * 2206 asks I to compute; 2207 and 2304 ask I to settle with its policy, accumulators and
//!   account, two-phase ([`treating`]): T records an intent with the key it will use, I settles
//!   exactly once by that key ([`insured`]), T commits its own record (what it answered the
//!   hospital; the fund codes it does not know as 910100). 2208/2305 and 2601 cancel the same way;
//! * an intent left open by a lost answer or a crash is resolved by asking I (`/peer/v1/resolve`),
//!   which answers what it holds under the key or refuses the key from then on;
//! * [`reconcile`] compares both platforms' records of a day.

pub mod auth;
pub mod client;
pub(crate) mod insured;
pub mod reconcile;
mod treating;
pub mod wire;

use std::collections::HashSet;
use std::sync::Mutex;

use crate::config::{Config, PeerConfig};

pub use insured::{endpoints, routes};
pub use treating::{handle, recover, recover_once, route, Route};

/// The peer hosting an insured place: the entry with the longest `admdvs_prefix` it starts with.
pub fn peer_for<'c>(config: &'c Config, insuplc_admdvs: &str) -> Option<&'c PeerConfig> {
    config
        .peers
        .iter()
        .filter(|p| !insuplc_admdvs.is_empty() && insuplc_admdvs.starts_with(&p.admdvs_prefix))
        .max_by_key(|p| p.admdvs_prefix.len())
}

/// The peer listed with a prefix.
pub fn peer_by_prefix<'c>(config: &'c Config, prefix: &str) -> Option<&'c PeerConfig> {
    config.peers.iter().find(|p| p.admdvs_prefix == prefix)
}

/// What a platform keeps for its peers: the HTTP client and the visits being settled with a peer
/// right now (one operation per visit at a time).
pub struct PeerState {
    pub client: client::PeerClient,
    busy: Mutex<HashSet<String>>,
}

impl PeerState {
    /// The state of a platform with `config`.
    pub fn new(config: &Config) -> PeerState {
        PeerState {
            client: client::PeerClient::new(config),
            busy: Mutex::new(HashSet::new()),
        }
    }

    /// Marks a visit busy until the guard is dropped; `None` when it is busy already.
    pub fn claim(&self, mdtrt_id: &str) -> Option<VisitGuard<'_>> {
        let mut busy = self.busy.lock().ok()?;
        busy.insert(mdtrt_id.to_string()).then(|| VisitGuard {
            state: self,
            mdtrt_id: mdtrt_id.to_string(),
        })
    }
}

/// A visit being settled with a peer ([`PeerState::claim`]).
pub struct VisitGuard<'s> {
    state: &'s PeerState,
    mdtrt_id: String,
}

impl Drop for VisitGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.state.busy.lock() {
            busy.remove(&self.mdtrt_id);
        }
    }
}

/// A write of the peer protocol, run by the ledger writer like a message.
pub enum PeerStep {
    /// At the insured platform: settle by key.
    Settle(Box<wire::SettleCall>),
    /// At the insured platform: cancel by key.
    Cancel(wire::CancelCall),
    /// At the insured platform: what is held under a key, refusing the key if nothing.
    Resolve(wire::ResolveCall),
    /// At the treating platform: record what the insured platform did (and resolve the intent).
    Commit(Box<treating::Commit>),
    /// At the treating platform: record an intent under a new key before the peer is called.
    Record(Box<treating::Draft>),
    /// At the treating platform: resolve an intent without a record of this platform's (aborted,
    /// or committed earlier).
    Mark(Box<treating::Mark>),
}

pub(crate) use insured::run_insured;
pub(crate) use treating::{run_commit, run_mark, run_record};
