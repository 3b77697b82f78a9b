//! The reply envelope (`interface.md` §3) as the HIS reads it, and the errors of sending.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;
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
    /// Where `output` is in `text` (none when absent): read on demand, by [`Reply::text_at`]
    /// without building the whole node.
    output_at: Option<Range<usize>>,
    /// The reply as received, to compare replies byte for byte.
    pub text: String,
}

/// A key of a JSON object, borrowed from the text unless it has escapes.
#[derive(Deserialize, PartialEq, Eq, Hash)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

impl std::borrow::Borrow<str> for Key<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// The reply envelope's fields a HIS reads, `output` left as text.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default)]
    infcode: Value,
    #[serde(default)]
    err_msg: Value,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
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
        let head: Head<'_> =
            serde_json::from_str(&text).map_err(|e| malformed(format!("not JSON ({e})")))?;
        let infcode = infcode(&head.infcode)
            .ok_or_else(|| malformed("infcode is missing or not a number".into()))?;
        let err_msg = head.err_msg.as_str().unwrap_or_default().to_string();
        let output_at = head.output.map(|raw| {
            let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            start..start + raw.get().len()
        });
        Ok(Reply {
            infno,
            msgid: msgid.to_string(),
            infcode,
            err_msg,
            output_at,
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

    /// `output` (`Null` on failure, or when absent).
    pub fn output(&self) -> Value {
        self.output_text()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    fn output_text(&self) -> Option<&str> {
        self.output_at
            .as_ref()
            .and_then(|at| self.text.get(at.clone()))
    }

    /// The text at `pointer` (a JSON pointer of object keys, e.g. `/data/mdtrt_id`) inside
    /// `output`, read without building the nodes around it.
    pub fn text_at(&self, pointer: &str) -> Result<String, HisError> {
        self.output_text()
            .and_then(|output| {
                pointer.split('/').skip(1).try_fold(output, |node, key| {
                    let fields: HashMap<Key<'_>, &RawValue> = serde_json::from_str(node).ok()?;
                    fields.get(key).map(|value| value.get())
                })
            })
            .and_then(|text| serde_json::from_str::<String>(text).ok())
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
        assert_eq!(
            reply.output(),
            serde_json::json!({"setlinfo": {"setl_id": "S1"}})
        );
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
        assert_eq!(reply.output(), Value::Null);
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
