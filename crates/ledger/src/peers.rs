//! Intents of direct settlement between platforms (`migrations/0014_peer_intents.sql`): the treating
//! platform records the id it will use and what it sends before it asks the insured platform to
//! settle or cancel, and resolves the intent by the outcome. Written by the ledger writer
//! ([`crate::LedgerView::record_intent`], [`crate::LedgerView::resolve_intent`]), so that an intent
//! joins the group commit of its batch like any message and its resolution is committed with the
//! record it resolves; whether a settlement intent was committed is also visible in the ledger (a
//! settlement whose `setl_id` is the intent's key). Read here on any connection.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::columns::corrupt;
use crate::LedgerError;

/// Name of the counter that numbers intents ([`key_of`]).
pub const INTENT_COUNTER: &str = "peer_key";

/// What an intent asks of the insured platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentKind {
    /// Settle a visit's lines (2207, 2304).
    Settle,
    /// Cancel a settlement made through an earlier intent (2208, 2305, 2601).
    Cancel,
}

impl IntentKind {
    /// Storage code.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentKind::Settle => "settle",
            IntentKind::Cancel => "cancel",
        }
    }
}

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    /// Recorded; the insured platform may or may not have acted on it.
    Pending,
    /// Both platforms hold the settlement or cancellation.
    Committed,
    /// Neither platform holds it, and the insured platform will refuse it from now on.
    Aborted,
}

impl IntentState {
    /// Storage code.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Pending => "pending",
            IntentState::Committed => "committed",
            IntentState::Aborted => "aborted",
        }
    }

    fn parse(text: &str) -> Result<IntentState, LedgerError> {
        match text {
            "pending" => Ok(IntentState::Pending),
            "committed" => Ok(IntentState::Committed),
            "aborted" => Ok(IntentState::Aborted),
            other => Err(corrupt("peer_intents", "state", other)),
        }
    }
}

/// One intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The id both platforms know the operation by: the treating platform's `setl_id` of it.
    pub peer_key: String,
    pub kind: IntentKind,
    /// `admdvs_prefix` of the peer asked.
    pub peer_prefix: String,
    pub fixmedins_code: String,
    /// The hospital's message that started it.
    pub msgid: String,
    pub mdtrt_id: String,
    /// For a cancellation: the key of the settlement cancelled; empty otherwise.
    pub orig_key: String,
    /// The request sent to the peer, JSON text.
    pub payload: String,
    pub state: IntentState,
    pub created_at: String,
}

pub(crate) const COLUMNS: &str =
    "peer_key, kind, peer_prefix, fixmedins_code, msgid, mdtrt_id, orig_key, \
                       payload, state, created_at";

fn intent_of(row: &AnyRow) -> Result<Intent, LedgerError> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    Ok(Intent {
        peer_key: row.try_get("peer_key")?,
        kind: match kind.as_str() {
            "settle" => IntentKind::Settle,
            "cancel" => IntentKind::Cancel,
            other => return Err(corrupt("peer_intents", "kind", other)),
        },
        peer_prefix: row.try_get("peer_prefix")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        msgid: row.try_get("msgid")?,
        mdtrt_id: row.try_get("mdtrt_id")?,
        orig_key: row.try_get("orig_key")?,
        payload: row.try_get("payload")?,
        state: IntentState::parse(&state)?,
        created_at: row.try_get("created_at")?,
    })
}

/// The key of the intent numbered `serial` (the writer's counter [`INTENT_COUNTER`]): `key_prefix`
/// (the platform's region code), the digit 5 and a 16-digit serial — digits only, like every issued
/// `setl_id`, and never one the ledger's own `setl_id` counter (digit 2) issues.
pub fn key_of(key_prefix: &str, serial: i64) -> String {
    format!("{key_prefix}5{serial:016}")
}

/// An intent as the writer stores it: its row, with the time it was resolved (empty while pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntentRow {
    pub(crate) intent: Intent,
    pub(crate) resolved_at: String,
}

/// An intent by key.
pub async fn intent(
    conn: &mut AnyConnection,
    peer_key: &str,
) -> Result<Option<Intent>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM peer_intents WHERE peer_key = $1"
    ))
    .bind(peer_key.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(intent_of).transpose()
}

/// The pending intents (all of them, or of one visit), oldest first.
pub async fn pending(
    conn: &mut AnyConnection,
    mdtrt_id: Option<&str>,
) -> Result<Vec<Intent>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM peer_intents WHERE state = 'pending' \
         AND ($1 = '' OR mdtrt_id = $1) ORDER BY peer_key"
    ))
    .bind(mdtrt_id.unwrap_or_default().to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(intent_of).collect()
}

/// The intents with one peer (any state) made on `day` (`yyyy-MM-dd`, the day of `created_at`,
/// which is also the settlement time both platforms record), by key.
pub async fn made_on(
    conn: &mut AnyConnection,
    peer_prefix: &str,
    day: &str,
) -> Result<Vec<Intent>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM peer_intents WHERE peer_prefix = $1 \
         AND created_at >= $2 AND created_at < $3 ORDER BY peer_key"
    ))
    .bind(peer_prefix.to_string())
    .bind(format!("{day} 00:00:00"))
    .bind(format!("{day} 99"))
    .fetch_all(conn)
    .await?;
    rows.iter().map(intent_of).collect()
}

/// The key of every intent: a settlement or cancellation under one of them is this platform's record
/// of care for a person insured on another platform (whose account lives there; `verify` does not
/// replay it). An intent's settlement is in the ledger before the intent is marked committed.
pub async fn intent_keys(conn: &mut AnyConnection) -> Result<Vec<String>, LedgerError> {
    let rows = sqlx::query("SELECT peer_key FROM peer_intents")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| row.try_get("peer_key").map_err(LedgerError::from))
        .collect()
}
