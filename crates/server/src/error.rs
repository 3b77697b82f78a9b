//! The one error type of a transaction: which field is wrong and why. Its `Display` is the reply's
//! `err_msg` (`参数 input.data.psn_no 有误：不能为空`) with `infcode` −1, written for the cashier.

use std::fmt;

use yibao_ledger::LedgerError;

/// `field` of a failure on the bureau's side (the ledger is unavailable or damaged).
pub const STORAGE: &str = "storage";
/// `field` of a failure of the service itself (a panic, an internal check, an unencodable reply).
pub const INTERNAL: &str = "internal";
/// `field` of a request body that is not a readable envelope (not JSON, too large, too slow).
pub const BODY: &str = "body";
/// `field` of a request sent to an address that is not an interface of the service.
pub const PATH: &str = "path";

/// A rejected request, naming the offending field (or [`STORAGE`], [`INTERNAL`], [`BODY`] or
/// [`PATH`] for causes that are not a field of the message). `problem` is Chinese and follows
/// `有误：` (`12.50 与费用明细合计 37.50 不一致`), keeping the codes, ids and amounts at fault.
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

    /// A failure of the service itself, not of the message.
    pub fn internal(problem: impl Into<String>) -> TxError {
        TxError::new(INTERNAL, problem)
    }

    /// The storage layer failed; no detail of the database is echoed to the client. A damaged
    /// stored row is the bureau's fault, never a field error of the caller.
    pub fn storage(error: &LedgerError) -> TxError {
        tracing::error!(error = %error, "storage failure");
        let problem = match error {
            LedgerError::JobPanicked => "交易意外中止（内部错误），未记录任何数据",
            LedgerError::Corrupt { .. } => {
                "本交易所需的医保端存储记录已损坏（医保端数据异常），未记录任何数据，须由医保经办机构修复"
            }
            _ => "医保数据库暂不可用，未记录任何数据，请用同一 msgid 重试",
        };
        TxError::new(STORAGE, problem)
    }
}

impl fmt::Display for TxError {
    /// The reply's `err_msg`: `参数 <field> 有误：<problem>` for a field of the message; a failure
    /// on the bureau's side, an unreadable body or a wrong address says so instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = &self.problem;
        match self.field.as_str() {
            STORAGE | INTERNAL => write!(f, "医保端处理失败：{problem}"),
            BODY => write!(f, "请求报文有误：{problem}"),
            PATH => write!(f, "接口地址有误：{problem}"),
            field => write!(f, "参数 {field} 有误：{problem}"),
        }
    }
}

impl std::error::Error for TxError {}

impl From<LedgerError> for TxError {
    fn from(error: LedgerError) -> TxError {
        TxError::storage(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_or_the_side_at_fault() {
        let error = TxError::new(
            "input.data.medfee_sumamt",
            "12.50 与费用明细合计 37.50 不一致",
        );
        assert_eq!(
            error.to_string(),
            "参数 input.data.medfee_sumamt 有误：12.50 与费用明细合计 37.50 不一致"
        );
        let error = TxError::storage(&LedgerError::JobPanicked);
        assert_eq!(error.field, STORAGE);
        assert!(error.to_string().starts_with("医保端处理失败："), "{error}");
        let error = TxError::new(BODY, "不是有效的 JSON");
        assert_eq!(error.to_string(), "请求报文有误：不是有效的 JSON");
    }
}
