//! The reply envelope (`interface.md` §3) as the HIS reads it, and the errors of sending.

use serde_json::Value;
use yibao_domain::DecimalError;

use crate::transport::TransportError;

/// A parsed reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The transaction it answers.
    pub infno: &'static str,
    /// The msgid of the request it answers.
    pub msgid: String,
    /// 0 success, −1 failure (a number or a numeric string on the wire).
    pub infcode: i64,
    /// The error text (empty when there is none).
    pub err_msg: String,
    /// `output` (`Null` on failure).
    pub output: Value,
    /// The reply as received, to compare replies byte for byte.
    pub text: String,
}

/// Why a message did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum HisError {
    /// The body did not get a reply.
    #[error("{infno}: no reply")]
    Transport {
        infno: &'static str,
        #[source]
        source: TransportError,
    },
    /// The service answered with a failure (`infcode` other than 0).
    #[error("{infno} refused: {err_msg}")]
    Refused {
        infno: &'static str,
        err_msg: String,
    },
    /// The reply is not a reply envelope, or lacks what the step reads from it.
    #[error("{infno}: malformed reply: {problem}")]
    Malformed {
        infno: &'static str,
        problem: String,
    },
    /// A fee line's `det_item_fee_sumamt` is not an amount, so `medfee_sumamt` cannot be summed.
    #[error("fee line {feedetl_sn}: det_item_fee_sumamt")]
    Amount {
        feedetl_sn: String,
        #[source]
        source: DecimalError,
    },
}

impl Reply {
    /// Parses the reply `text` to the message `msgid` of `infno`, whatever its `infcode`.
    pub fn parse(infno: &'static str, msgid: &str, text: String) -> Result<Reply, HisError> {
        let malformed = |problem: String| HisError::Malformed { infno, problem };
        let mut value: Value =
            serde_json::from_str(&text).map_err(|e| malformed(format!("not JSON ({e})")))?;
        let infcode = infcode(&value["infcode"])
            .ok_or_else(|| malformed("infcode is missing or not a number".into()))?;
        let err_msg = value["err_msg"].as_str().unwrap_or_default().to_string();
        let output = value.get_mut("output").map(Value::take).unwrap_or_default();
        Ok(Reply {
            infno,
            msgid: msgid.to_string(),
            infcode,
            err_msg,
            output,
            text,
        })
    }

    /// The reply if it reports success (`infcode` 0); else the refusal.
    pub fn accepted(self) -> Result<Reply, HisError> {
        if self.infcode == 0 {
            Ok(self)
        } else {
            Err(HisError::Refused {
                infno: self.infno,
                err_msg: self.err_msg,
            })
        }
    }

    /// The text at `pointer` (a JSON pointer, e.g. `/data/mdtrt_id`) inside `output`.
    pub fn text_at(&self, pointer: &str) -> Result<String, HisError> {
        self.output
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| HisError::Malformed {
                infno: self.infno,
                problem: format!("no text at output{pointer}"),
            })
    }
}

/// `infcode` as a number or a numeric string.
fn infcode(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Reply, HisError> {
        Reply::parse("2207", "M1", text.to_string())
    }

    #[test]
    fn a_success_keeps_output_and_text() {
        let text = r#"{"infcode":0,"err_msg":null,"output":{"setlinfo":{"setl_id":"S1"}}}"#;
        let reply = parse(text).unwrap().accepted().unwrap();
        assert_eq!(reply.text, text);
        assert_eq!(reply.msgid, "M1");
        assert_eq!(reply.text_at("/setlinfo/setl_id").unwrap(), "S1");
    }

    #[test]
    fn infcode_may_be_a_string() {
        let reply = parse(r#"{"infcode":"0","output":{}}"#).unwrap();
        assert_eq!(reply.infcode, 0);
        let refused = parse(r#"{"infcode":"-1","err_msg":"no","output":null}"#).unwrap();
        assert!(matches!(refused.accepted(), Err(HisError::Refused { .. })));
    }

    #[test]
    fn a_failure_is_refused_with_infno_and_err_msg() {
        let reply =
            parse(r#"{"infcode":-1,"err_msg":"参数 input.data.mdtrt_id 有误：定点医药机构 H36040200001 没有就诊 3604001","output":null}"#)
                .unwrap();
        assert_eq!(reply.output, Value::Null);
        match reply.accepted() {
            Err(HisError::Refused { infno, err_msg }) => {
                assert_eq!(
                    (infno, err_msg.as_str()),
                    (
                        "2207",
                        "参数 input.data.mdtrt_id 有误：定点医药机构 H36040200001 没有就诊 3604001"
                    )
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_is_not_a_reply_envelope_is_malformed() {
        for text in [
            "<html>",
            r#"{"code":401,"message":"no"}"#,
            r#"{"infcode":true}"#,
        ] {
            assert!(
                matches!(parse(text), Err(HisError::Malformed { infno: "2207", .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn a_missing_id_is_malformed() {
        let reply = parse(r#"{"infcode":0,"output":{"data":{}}}"#).unwrap();
        let error = reply.text_at("/data/mdtrt_id").unwrap_err();
        assert_eq!(
            error.to_string(),
            "2207: malformed reply: no text at output/data/mdtrt_id"
        );
    }
}
