//! The national request and reply envelopes (`interface.md` §2–3). Parsing is lenient where real
//! clients differ (numbers as strings, `"null"`, `input` as a JSON string) and strict on identity
//! (`infno`, `msgid`, `fixmedins_code` must be present).

use std::fmt::Write as _;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{self, TxError};

mod canonical;

/// Longest accepted `msgid` (the spec says 30; some clients pad).
const MSGID_MAX_CHARS: usize = 40;
/// Longest accepted `infno` (provincial codes reach 6).
const INFNO_MAX_CHARS: usize = 8;

/// A parsed request envelope: the fields of the national envelope yibao reads. Others (`infver`,
/// `opter_type`, `recer_sys_code`, `cainfo`, …) are accepted and ignored; scalars may be sent as
/// strings or numbers, and `null` or `"null"` reads as empty.
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct Request {
    /// Transaction code (up to 8 characters).
    pub infno: String,
    /// The sender's message id (up to 40 characters): the idempotency key.
    pub msgid: String,
    /// 就医地 region (6 digits).
    #[schema(required = false)]
    pub mdtrtarea_admvs: String,
    /// 参保地 region (6 digits; empty: local).
    #[schema(required = false)]
    pub insuplc_admdvs: String,
    /// The sending institution; must be registered (and be the gateway key's institution).
    pub fixmedins_code: String,
    #[schema(required = false)]
    pub opter: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    #[schema(required = false)]
    pub inf_time: String,
    /// The 9001 sign-in serial; may be empty.
    #[schema(required = false)]
    pub sign_no: String,
    /// The `input` object (empty when absent); a JSON string holding the object is accepted too.
    #[schema(value_type = Object, required = false)]
    pub input: Value,
    /// The [`Request::digest`] taken when the message was parsed, over `input` as received, when
    /// those bytes are exactly the serialisation the digest is defined over (`None`: it is
    /// computed from `input` when asked for).
    #[schema(ignore)]
    pub received_digest: Option<String>,
}

/// The `input` of a request body as received (a borrowed slice of the body).
#[derive(serde::Deserialize)]
struct ReceivedInput<'a> {
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

/// The text of the body's `input` object, when it is exactly the serialisation of the parsed
/// `input` ([`canonical::is_canonical`]).
fn canonical_input(body: &[u8]) -> Option<&str> {
    let received: ReceivedInput<'_> = serde_json::from_slice(body).ok()?;
    let text = received.input?.get();
    (text.starts_with('{') && canonical::is_canonical(text)).then_some(text)
}

/// Text of an optional scalar field; `null`, `""` and `"null"` read as empty.
pub fn scalar_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) if s.trim() != "null" => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An optional text of the envelope (`insuplc_admdvs`, `opter` …): absent, `null` or empty is empty;
/// an array, an object or a boolean is refused naming the field (it was read as absent, routing a
/// message by a region its sender never meant).
fn optional(object: &Map<String, Value>, field: &str) -> Result<String, TxError> {
    let kind = match object.get(field) {
        Some(Value::Array(_)) => "数组",
        Some(Value::Object(_)) => "对象",
        Some(Value::Bool(_)) => "布尔值",
        other => return Ok(scalar_text(other)),
    };
    Err(TxError::new(
        field,
        format!("类型不符，应为文本，收到{kind}"),
    ))
}

fn required(object: &Map<String, Value>, field: &str, max_chars: usize) -> Result<String, TxError> {
    let text = scalar_text(object.get(field));
    if text.is_empty() {
        return Err(TxError::new(field, "不能为空"));
    }
    if text.chars().count() > max_chars {
        return Err(TxError::new(field, format!("超过 {max_chars} 个字符")));
    }
    Ok(text)
}

fn input_of(value: Option<Value>) -> Result<Value, TxError> {
    match value {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(object @ Value::Object(_)) => Ok(object),
        Some(Value::String(text)) if text.trim().is_empty() || text.trim() == "null" => {
            Ok(Value::Object(Map::new()))
        }
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ Value::Object(_)) => {
                refuse_bad_text(&parsed)
                    .map_err(|e| TxError::new(format!("input.{}", e.field), e.problem))?;
                Ok(parsed)
            }
            _ => Err(TxError::new("input", "须为 JSON 对象")),
        },
        Some(_) => Err(TxError::new("input", "须为 JSON 对象")),
    }
}

/// Longest text any field may hold: the longest field of the national interface (`exp_content`).
const MAX_FIELD_CHARS: usize = 4000;

/// Longest text of the fields yibao stores or looks up by, in characters: the national length
/// (定点医药机构接口规范) with room for provincial editions that pad it.
const FIELD_MAX_CHARS: &[(&str, usize)] = &[
    ("psn_no", 50),
    ("mdtrt_id", 50),
    ("setl_id", 50),
    ("feedetl_sn", 50),
    ("init_feedetl_sn", 50),
    ("chrg_bchno", 50),
    ("ipt_otp_no", 50),
    ("ipt_no", 50),
    ("omsgid", 50),
    ("oinfno", 10),
    ("certno", 50),
    ("mdtrt_cert_no", 100),
    ("psn_name", 100),
    ("med_list_codg", 100),
    ("medins_list_codg", 200),
    ("dise_codg", 50),
    ("diag_code", 50),
    ("bilg_dr_codg", 50),
    ("bilg_dr_name", 100),
    ("bilg_dept_codg", 50),
    ("bilg_dept_name", 100),
];

/// The fewest characters any field may hold: a text of no more bytes is never too long.
const SHORTEST_LIMIT_CHARS: usize = {
    let mut shortest = MAX_FIELD_CHARS;
    let mut index = 0;
    while index < FIELD_MAX_CHARS.len() {
        if FIELD_MAX_CHARS[index].1 < shortest {
            shortest = FIELD_MAX_CHARS[index].1;
        }
        index += 1;
    }
    shortest
};

/// The most characters a field named `key` may hold.
fn max_chars(key: &str) -> usize {
    FIELD_MAX_CHARS
        .iter()
        .find(|(field, _)| *field == key)
        .map_or(MAX_FIELD_CHARS, |(_, max)| *max)
}

/// Why a text cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadText {
    Nul,
    TooLong(usize),
}

/// What is wrong with the text of field `key`, if anything.
fn bad_text(key: &str, text: &str) -> Option<BadText> {
    if text.contains('\0') {
        return Some(BadText::Nul);
    }
    if text.len() <= SHORTEST_LIMIT_CHARS {
        return None;
    }
    let max = max_chars(key);
    // Bytes bound characters from above: count them only when the bytes could exceed the limit.
    (text.len() > max && text.chars().count() > max).then_some(BadText::TooLong(max))
}

/// The path of the first text that no field may hold (a NUL character, which PostgreSQL cannot
/// store, or more characters than the field's limit), and what is wrong with it.
fn bad_text_path(key: &str, value: &Value, path: &mut String) -> Option<BadText> {
    match value {
        Value::String(text) => bad_text(key, text),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let len = path.len();
            let _ = write!(path, "[{index}]");
            let found = bad_text_path(key, item, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            if name.contains('\0') {
                path.push_str(&name.replace('\0', "\\u0000"));
            } else {
                path.push_str(name);
            }
            let found = bad_text("key", name).or_else(|| bad_text_path(name, item, path));
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        _ => None,
    }
}

/// Refuses a NUL character or an over-long text anywhere in the message, naming the field.
fn refuse_bad_text(value: &Value) -> Result<(), TxError> {
    refuse_bad_text_at(value, "")
}

/// Refuses a NUL character or an over-long text anywhere in `value`, a JSON body found at `root`
/// (`body` of an admin request, empty for the envelope), naming the field (`body.lines[0].name`)
/// with the limits of the national interface's fields.
pub fn refuse_bad_text_at(value: &Value, root: &str) -> Result<(), TxError> {
    let mut path = root.to_string();
    let Some(bad) = bad_text_path("", value, &mut path) else {
        return Ok(());
    };
    let field = if path.is_empty() {
        error::BODY.into()
    } else {
        path
    };
    Err(match bad {
        BadText::Nul => TxError::new(field, "含有 NUL 字符（\\u0000），任何字段都不能含有该字符"),
        BadText::TooLong(max) => TxError::new(field, format!("超过字段长度 {max} 个字符")),
    })
}

impl Request {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Request, TxError> {
        // Some HIS (.NET encoders) start the body with a UTF-8 byte-order mark.
        let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            TxError::new(
                error::BODY,
                format!("不是有效的 JSON（第 {} 行第 {} 列）", e.line(), e.column()),
            )
        })?;
        refuse_bad_text(&value)?;
        let Value::Object(mut object) = value else {
            return Err(TxError::new(error::BODY, "须为 JSON 对象（请求报文）"));
        };
        let input = object.remove("input");
        let received_input = match &input {
            Some(Value::Object(_)) => canonical_input(body),
            _ => None,
        };
        let mut request = Request {
            infno: required(&object, "infno", INFNO_MAX_CHARS)?,
            msgid: required(&object, "msgid", MSGID_MAX_CHARS)?,
            fixmedins_code: required(&object, "fixmedins_code", 30)?,
            mdtrtarea_admvs: optional(&object, "mdtrtarea_admvs")?,
            insuplc_admdvs: optional(&object, "insuplc_admdvs")?,
            opter: optional(&object, "opter")?,
            inf_time: optional(&object, "inf_time")?,
            sign_no: optional(&object, "sign_no")?,
            input: input_of(input)?,
            received_digest: None,
        };
        request.received_digest = received_input.map(|text| request.digest_of(text.as_bytes()));
        Ok(request)
    }

    /// Digest of what the message asks for (`infno`, the two regions, `input`): a repeated `msgid` is
    /// a retry only when this is the same. 128 bits of SHA-256 as lowercase hex over the three
    /// texts, each followed by a NUL byte, and `input`'s compact JSON with keys in order (as stored
    /// since `migrations/0004_message_digest.sql`). Taken over the received bytes when they are
    /// that JSON already, else over `input` serialised again.
    pub fn digest(&self) -> String {
        match &self.received_digest {
            Some(digest) => digest.clone(),
            None => self.serialised_digest(),
        }
    }

    /// [`Request::digest`] with `input` serialised again.
    fn serialised_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        /// Feeds serialized JSON straight into the hash, without building the text.
        struct HashWriter(Sha256);
        impl std::io::Write for HashWriter {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.update(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut hasher = HashWriter(self.digest_prefix());
        // Writing a `Value` into an in-memory sink cannot fail.
        let _ = serde_json::to_writer(&mut hasher, &self.input);
        hex_digest(hasher.0)
    }

    /// [`Request::digest`] with `input_json` as the serialisation of `input`.
    fn digest_of(&self, input_json: &[u8]) -> String {
        use sha2::Digest;
        let mut hasher = self.digest_prefix();
        hasher.update(input_json);
        hex_digest(hasher)
    }

    /// The hash of what precedes `input` in [`Request::digest`].
    fn digest_prefix(&self) -> sha2::Sha256 {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for part in [&self.infno, &self.mdtrtarea_admvs, &self.insuplc_admdvs] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        hasher
    }

    /// The best-effort `msgid` of a body that failed to parse (echoed in the error reply's log only).
    pub fn sniff_msgid(body: &[u8]) -> String {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("msgid").map(|m| scalar_text(Some(m))))
            .unwrap_or_default()
    }
}

/// The first 128 bits of a SHA-256 as lowercase hex.
fn hex_digest(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digest = String::with_capacity(32);
    for byte in &hasher.finalize()[..16] {
        digest.push(char::from(HEX[usize::from(byte >> 4)]));
        digest.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    digest
}

/// `yyyyMMddHHmmssSSS`, the envelope's time format (written without parsing a format string: this
/// runs twice per message).
pub fn envelope_time(at: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000_000 % 1000
    )
}

/// `yyyy-MM-dd HH:mm:ss`, the format of times inside `output`.
pub fn wire_time(at: NaiveDateTime) -> String {
    WireTime(at).to_string()
}

/// A time inside `output` (`yyyy-MM-dd HH:mm:ss`), serialized without an intermediate string.
#[derive(Debug, Clone, Copy)]
pub struct WireTime(pub NaiveDateTime);

impl std::fmt::Display for WireTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::{Datelike, Timelike};
        let at = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    }
}

impl Serialize for WireTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A reply envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reply<'a> {
    /// 0 success, −1 failure.
    pub infcode: i32,
    /// The receiver's message id: `platform_admdvs` + `yyyyMMddHHmmss` + a 10-digit serial.
    pub inf_refmsgid: &'a str,
    /// When the message was received, `yyyyMMddHHmmssSSS`.
    pub refmsg_time: String,
    /// When it was answered, `yyyyMMddHHmmssSSS`.
    pub respond_time: String,
    /// On failure: `参数 <field> 有误：<problem>`, naming the offending field ([`TxError`]); `null`
    /// on success.
    pub err_msg: Option<String>,
    pub warn_msg: &'static str,
    pub cainfo: &'static str,
    pub signtype: &'static str,
    /// The transaction's output nodes (docs/interface.md); `null` on failure.
    #[schema(value_type = Option<Object>)]
    pub output: Option<&'a RawValue>,
}

/// Longest `err_msg` the national envelope carries, in characters.
pub const ERR_MSG_MAX_CHARS: usize = 200;

/// An error text cut to [`ERR_MSG_MAX_CHARS`] characters, ending in `…` when it was cut (a message
/// may quote a caller's value of any length).
fn bounded_err_msg(text: String) -> String {
    match text.char_indices().nth(ERR_MSG_MAX_CHARS) {
        None => text,
        Some(_) => {
            let keep: String = text.chars().take(ERR_MSG_MAX_CHARS - 1).collect();
            keep + "…"
        }
    }
}

/// The JSON text of a reply envelope.
pub fn reply_text(
    inf_refmsgid: &str,
    received_at: NaiveDateTime,
    responded_at: NaiveDateTime,
    outcome: Result<&RawValue, &TxError>,
) -> String {
    let (infcode, err_msg, output) = match outcome {
        Ok(output) => (0, None, Some(output)),
        Err(error) => (-1, Some(bounded_err_msg(error.to_string())), None),
    };
    let reply = Reply {
        infcode,
        inf_refmsgid,
        refmsg_time: envelope_time(received_at),
        respond_time: envelope_time(responded_at),
        err_msg,
        warn_msg: "",
        cainfo: "",
        signtype: "",
        output,
    };
    serde_json::to_string(&reply)
        .unwrap_or_else(|_| r#"{"infcode":-1,"err_msg":"医保端处理失败：应答无法编码"}"#.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lenient_envelopes() {
        let body = br#"{"infno":2207,"msgid":"H36040200001202603011000000001","fixmedins_code":"H36040200001",
            "mdtrtarea_admvs":"360400","insuplc_admdvs":"null","input":"{\"data\":{}}"}"#;
        let request = Request::parse(body).unwrap();
        assert_eq!(request.infno, "2207");
        assert_eq!(request.insuplc_admdvs, "");
        assert!(request.input.get("data").is_some());
    }

    #[test]
    fn an_envelope_region_that_is_no_text_is_refused() {
        let body = br#"{"infno":"1101","msgid":"M1","fixmedins_code":"H1","insuplc_admdvs":["360400"],"input":{}}"#;
        let error = Request::parse(body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "参数 insuplc_admdvs 有误：类型不符，应为文本，收到数组"
        );
        let body = br#"{"infno":"1101","msgid":"M1","fixmedins_code":"H1","insuplc_admdvs":360400,"mdtrtarea_admvs":null,"input":{}}"#;
        assert_eq!(Request::parse(body).unwrap().insuplc_admdvs, "360400");
    }

    #[test]
    fn the_digest_is_the_first_half_of_sha256_in_hex() {
        use sha2::{Digest, Sha256};
        let request =
            Request::parse(br#"{"infno":"2207","msgid":"1","fixmedins_code":"H1","mdtrtarea_admvs":"360400","input":{"data":{"a":[2],"b":"1"}}}"#)
                .unwrap();
        let hashed = Sha256::digest(b"2207\x00360400\x00\x00{\"data\":{\"a\":[2],\"b\":\"1\"}}");
        let expected: String = hashed[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(request.digest(), expected);
    }

    #[test]
    fn the_digest_of_a_his_message_is_taken_over_the_received_input() {
        use yibao_domain::Fen;
        let visit = yibao_his::Visit {
            psn_no: "P1".into(),
            insutype: "310".into(),
            med_type: "11".into(),
            begntime: "2025-01-01 08:00:00".into(),
            fixmedins_code: "H1".into(),
            feedetail: vec![
                yibao_his::FeeLine::priced("1", "C1", 2, Fen(500)),
                yibao_his::FeeLine::priced("2", "C2", 1, Fen(1_234)),
            ],
            ..yibao_his::Visit::default()
        };
        let envelope = yibao_his::Envelope::default();
        for message in [
            yibao_his::steps::upload_outpatient_fees(&visit, "M1"),
            yibao_his::steps::settle_outpatient(&visit, "M1", Fen(2_234)),
        ] {
            let body = envelope.body(message.infno, "1", "H1", &message.input);
            let request = Request::parse(body.as_bytes()).unwrap();
            assert!(request.received_digest.is_some(), "{body}");
            assert_eq!(request.digest(), request.serialised_digest());
        }
        let spaced = br#"{"infno":"2207","msgid":"1","fixmedins_code":"H1","input":{"data": {"b":"1","a":[2]}}}"#;
        let request = Request::parse(spaced).unwrap();
        assert_eq!(request.received_digest, None);
        let compact = br#"{"infno":"2207","msgid":"1","fixmedins_code":"H1","input":{"data":{"a":[2],"b":"1"}}}"#;
        assert_eq!(request.digest(), Request::parse(compact).unwrap().digest());
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        let body = b"\xef\xbb\xbf{\"infno\":\"9001\",\"msgid\":\"1\",\"fixmedins_code\":\"H1\"}";
        assert_eq!(Request::parse(body).unwrap().infno, "9001");
    }

    #[test]
    fn names_missing_fields() {
        let error = Request::parse(br#"{"infno":"2207","fixmedins_code":"H1"}"#).unwrap_err();
        assert_eq!(error.to_string(), "参数 msgid 有误：不能为空");
        let error = Request::parse(b"{not json").unwrap_err();
        assert_eq!(error.field, "body");
        let error =
            Request::parse(br#"{"infno":"2207","msgid":"1","fixmedins_code":"H1","input":[1]}"#)
                .unwrap_err();
        assert_eq!(error.field, "input");
    }

    #[test]
    fn cuts_err_msg_to_the_envelopes_length() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let long = TxError::new("input.data.psn_no", "号".repeat(500));
        let reply: serde_json::Value =
            serde_json::from_str(&reply_text("1", at, at, Err(&long))).unwrap();
        let err_msg = reply["err_msg"].as_str().unwrap();
        assert_eq!(err_msg.chars().count(), ERR_MSG_MAX_CHARS);
        assert!(err_msg.starts_with("参数 input.data.psn_no 有误：号"));
        assert!(err_msg.ends_with('…'));
        let short = TxError::new("input.data.psn_no", "不能为空");
        let reply: serde_json::Value =
            serde_json::from_str(&reply_text("1", at, at, Err(&short))).unwrap();
        assert_eq!(reply["err_msg"], "参数 input.data.psn_no 有误：不能为空");
    }

    #[test]
    fn writes_times_as_the_interface_does() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_milli_opt(9, 5, 7, 42)
            .unwrap();
        assert_eq!(envelope_time(at), at.format("%Y%m%d%H%M%S%3f").to_string());
        assert_eq!(envelope_time(at), "20260301090507042");
        assert_eq!(wire_time(at), "2026-03-01 09:05:07");
    }

    #[test]
    fn refuses_nul_characters_naming_the_field() {
        let body = br#"{"infno":"2204","msgid":"1","fixmedins_code":"H1","input":{"feedetail":[{"a":"x"},{"med_list_codg":"X\u0000Y"}]}}"#;
        let error = Request::parse(body).unwrap_err();
        assert_eq!(error.field, "input.feedetail[1].med_list_codg");
        let body = br#"{"infno":"2204","msgid":"1","fixmedins_code":"H1","input":"{\"data\":{\"psn_no\":\"1\\u0000\"}}"}"#;
        let error = Request::parse(body).unwrap_err();
        assert_eq!(error.field, "input.data.psn_no");
        let error = Request::parse(br#"{"infno":"2204","msgid":"1\u0000","fixmedins_code":"H1"}"#)
            .unwrap_err();
        assert_eq!(error.field, "msgid");
    }

    #[test]
    fn refuses_over_long_texts_naming_the_field() {
        let long_sn = "9".repeat(51);
        let body = format!(
            r#"{{"infno":"2204","msgid":"1","fixmedins_code":"H1","input":{{"feedetail":[{{"feedetl_sn":"{long_sn}"}}]}}}}"#
        );
        let error = Request::parse(body.as_bytes()).unwrap_err();
        assert_eq!(error.field, "input.feedetail[0].feedetl_sn");
        assert_eq!(
            error.to_string(),
            "参数 input.feedetail[0].feedetl_sn 有误：超过字段长度 50 个字符"
        );
        let memo = "备".repeat(4001);
        let body = format!(
            r#"{{"infno":"2204","msgid":"1","fixmedins_code":"H1","input":{{"data":{{"memo":"{memo}"}}}}}}"#
        );
        assert_eq!(
            Request::parse(body.as_bytes()).unwrap_err().field,
            "input.data.memo"
        );
        let fine = format!(
            r#"{{"infno":"2204","msgid":"1","fixmedins_code":"H1","input":{{"data":{{"memo":"{}","psn_no":"{}"}}}}}}"#,
            "备".repeat(4000),
            "P".repeat(50)
        );
        assert!(Request::parse(fine.as_bytes()).is_ok());
    }
}
