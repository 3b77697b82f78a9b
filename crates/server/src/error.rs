//! The one error type of a transaction: which field is wrong and why. It becomes the reply's
//! `err_msg` (`"input.data.psn_no: is empty"`) with `infcode` −1.

use std::fmt;

use yibao_ledger::LedgerError;

/// A rejected request, naming the offending field (or `storage` / `envelope` for non-field causes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxError {
    pub field: String,
    pub problem: String,
}

impl TxError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> TxError {
        TxError {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The storage layer failed; no detail of the database is echoed to the client. A damaged
    /// stored row is the bureau's fault, never a field error of the caller.
    pub fn storage(error: &LedgerError) -> TxError {
        tracing::error!(error = %error, "storage failure");
        let problem = match error {
            LedgerError::JobPanicked => {
                "the transaction failed unexpectedly (内部错误); nothing was recorded"
            }
            LedgerError::Corrupt { .. } => {
                "a stored record needed for this message is damaged (医保端数据异常); nothing was recorded; the bureau must repair it"
            }
            _ => "the ledger is unavailable; nothing was recorded, retry with the same msgid",
        };
        TxError::new("storage", problem)
    }
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for TxError {}

impl From<LedgerError> for TxError {
    fn from(error: LedgerError) -> TxError {
        TxError::storage(&error)
    }
}
