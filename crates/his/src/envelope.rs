//! The request envelope (`interface.md` §2): the sender's fields in national names around one
//! message's `infno`, `msgid`, `fixmedins_code` and `input`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;

/// Sequence numbers of a national msgid (its last 4 characters).
const NATIONAL_SEQ_MODULUS: u64 = 10_000;

/// The sender's envelope fields, the same for every message of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Region of treatment (`mdtrtarea_admvs`, 6 digits; empty = local).
    pub mdtrtarea_admvs: String,
    /// Insured region (`insuplc_admdvs`; empty = local).
    pub insuplc_admdvs: String,
    /// Receiving system (`recer_sys_code`).
    pub recer_sys_code: String,
    /// Interface version (`infver`).
    pub infver: String,
    /// Operator category (`opter_type`: 1 经办人, 2 自助终端, 3 移动终端).
    pub opter_type: String,
    /// Operator id (`opter`).
    pub opter: String,
    /// Operator name (`opter_name`).
    pub opter_name: String,
    /// Institution name (`fixmedins_name`).
    pub fixmedins_name: String,
    /// Sign-in serial from 9001 (`sign_no`; may be empty).
    pub sign_no: String,
    /// What `inf_time` says.
    pub inf_time: InfTime,
}

/// The `inf_time` of the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfTime {
    /// The local time when the message is sent.
    Now,
    /// A given `yyyy-MM-dd HH:mm:ss` (replays and fixed test messages).
    At(String),
}

impl Default for Envelope {
    /// Version `V1.0`, operator category 1, `inf_time` now, every other field empty.
    fn default() -> Envelope {
        Envelope {
            mdtrtarea_admvs: String::new(),
            insuplc_admdvs: String::new(),
            recer_sys_code: String::new(),
            infver: "V1.0".into(),
            opter_type: "1".into(),
            opter: String::new(),
            opter_name: String::new(),
            fixmedins_name: String::new(),
            sign_no: String::new(),
            inf_time: InfTime::Now,
        }
    }
}

/// One request envelope, serialised in the national field order.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    infno: &'a str,
    msgid: &'a str,
    mdtrtarea_admvs: &'a str,
    insuplc_admdvs: &'a str,
    recer_sys_code: &'a str,
    dev_no: &'a str,
    dev_safe_info: &'a str,
    cainfo: &'a str,
    signtype: &'a str,
    infver: &'a str,
    opter_type: &'a str,
    opter: &'a str,
    opter_name: &'a str,
    inf_time: Cow<'a, str>,
    fixmedins_code: &'a str,
    fixmedins_name: &'a str,
    sign_no: &'a str,
    input: &'a Value,
}

impl Envelope {
    /// The envelope of one message (`dev_no`, `dev_safe_info`, `cainfo`, `signtype` empty).
    pub fn request<'a>(
        &'a self,
        infno: &'a str,
        msgid: &'a str,
        fixmedins_code: &'a str,
        input: &'a Value,
    ) -> Request<'a> {
        let inf_time = match &self.inf_time {
            InfTime::Now => Cow::Owned(wire_time(chrono::Local::now().naive_local())),
            InfTime::At(time) => Cow::Borrowed(time.as_str()),
        };
        Request {
            infno,
            msgid,
            mdtrtarea_admvs: &self.mdtrtarea_admvs,
            insuplc_admdvs: &self.insuplc_admdvs,
            recer_sys_code: &self.recer_sys_code,
            dev_no: "",
            dev_safe_info: "",
            cainfo: "",
            signtype: "",
            infver: &self.infver,
            opter_type: &self.opter_type,
            opter: &self.opter,
            opter_name: &self.opter_name,
            inf_time,
            fixmedins_code,
            fixmedins_name: &self.fixmedins_name,
            sign_no: &self.sign_no,
            input,
        }
    }

    /// The JSON text of one message's envelope.
    pub fn body(&self, infno: &str, msgid: &str, fixmedins_code: &str, input: &Value) -> String {
        serde_json::to_string(&self.request(infno, msgid, fixmedins_code, input))
            .expect("an envelope of strings and a JSON value always serialises")
    }
}

/// `yyyy-MM-dd HH:mm:ss` (written without parsing a format string: this runs for every message).
pub fn wire_time(at: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `yyyyMMddHHmmss`, the time inside a national msgid.
pub fn msgid_time(at: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Where a client's fresh msgids come from; each user keeps its own format.
pub trait MsgidSource {
    /// A msgid not used before, for a message of `fixmedins_code`.
    fn next_msgid(&self, fixmedins_code: &str) -> String;
}

impl<F: Fn(&str) -> String> MsgidSource for F {
    fn next_msgid(&self, fixmedins_code: &str) -> String {
        self(fixmedins_code)
    }
}

/// The national msgid: `fixmedins_code` + `yyyyMMddHHmmss` + a 4-digit sequence number, e.g.
/// `H13110200026202111291809520478` (unique while a client sends fewer than 10,000 messages a
/// second).
#[derive(Debug, Default)]
pub struct NationalMsgids {
    serial: AtomicU64,
}

impl MsgidSource for NationalMsgids {
    fn next_msgid(&self, fixmedins_code: &str) -> String {
        let seq = self.serial.fetch_add(1, Ordering::Relaxed) % NATIONAL_SEQ_MODULUS;
        let now = chrono::Local::now().naive_local();
        format!("{fixmedins_code}{}{seq:04}", msgid_time(now))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn body_has_the_national_fields_in_order() {
        let envelope = Envelope {
            mdtrtarea_admvs: "360400".into(),
            recer_sys_code: "MBS_LOCAL".into(),
            opter: "001".into(),
            inf_time: InfTime::At("2026-03-01 10:00:00".into()),
            ..Envelope::default()
        };
        let body = envelope.body("2201", "M1", "H36040200001", &json!({ "data": {} }));
        assert_eq!(
            body,
            r#"{"infno":"2201","msgid":"M1","mdtrtarea_admvs":"360400","insuplc_admdvs":"","recer_sys_code":"MBS_LOCAL","dev_no":"","dev_safe_info":"","cainfo":"","signtype":"","infver":"V1.0","opter_type":"1","opter":"001","opter_name":"","inf_time":"2026-03-01 10:00:00","fixmedins_code":"H36040200001","fixmedins_name":"","sign_no":"","input":{"data":{}}}"#
        );
    }

    #[test]
    fn inf_time_now_is_a_wire_time() {
        let body = Envelope::default().body("9001", "M1", "H1", &json!({}));
        let value: Value = serde_json::from_str(&body).unwrap();
        let inf_time = value["inf_time"].as_str().unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(inf_time, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{inf_time}"
        );
    }

    #[test]
    fn national_msgids_are_institution_time_and_sequence() {
        let msgids = NationalMsgids::default();
        let first = msgids.next_msgid("H36040200001");
        let second = msgids.next_msgid("H36040200001");
        assert_eq!(first.len(), 30, "{first}");
        assert!(first.starts_with("H36040200001"), "{first}");
        assert!(
            first.ends_with("0000") && second.ends_with("0001"),
            "{first} {second}"
        );
    }

    #[test]
    fn times_are_written_as_the_format_strings_say() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 5, 7)
            .unwrap();
        assert_eq!(wire_time(at), at.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(msgid_time(at), at.format("%Y%m%d%H%M%S").to_string());
    }

    #[test]
    fn closures_are_msgid_sources() {
        let source = |fixmedins: &str| format!("{fixmedins}-1");
        assert_eq!(source.next_msgid("H1"), "H1-1");
    }
}
