//! Settling a file of visits in order (`yibao settle`): accumulators and account balances carried
//! per `psn_no` from line to line, cancellations by `mdtrt_id`, one output object per input line.
//! A bad line yields an error object naming the line and the field; later lines still settle.

use chrono::Datelike;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;
use yibao_domain::{Code, Fen};
use yibao_policy::Policy;
use yibao_settlement::{Engine, Settlement, YearToDate};

use crate::render::{self, LineResult, SetldetailRow, SetlinfoAmounts};
use crate::visit::WireVisit;

/// `setlinfo`: identifiers plus the amounts.
#[derive(Debug, Clone, Serialize)]
pub struct Setlinfo {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub insutype: Code,
    pub med_type: Code,
    #[serde(flatten)]
    pub amounts: SetlinfoAmounts,
}

/// The output for one settled or cancelled visit.
#[derive(Debug, Clone, Serialize)]
pub struct SettleOutput {
    pub mdtrt_id: String,
    pub op: &'static str,
    pub setlinfo: Setlinfo,
    pub setldetail: Vec<SetldetailRow>,
    pub result: Vec<LineResult>,
    pub trace: Vec<String>,
}

/// The output for a line that could not be processed.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorOutput {
    /// 1-based input line number.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mdtrt_id: Option<String>,
    pub error: String,
}

/// What one input line produced.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Settled(Box<SettleOutput>),
    Error(ErrorOutput),
}

#[derive(Debug, Default)]
struct PersonState {
    balance: Fen,
    years: FxHashMap<(Code, i32), YearToDate>,
}

#[derive(Debug)]
struct SettledVisit {
    psn_no: String,
    insutype: Code,
    med_type: Code,
    origins: Vec<render::LineOrigin>,
    settlement: Settlement,
    cancelled: bool,
}

/// Each person's account balance and year-to-date accumulators, carried from visit to visit of
/// a file (the balance starts from the person's first visit's `balc`).
#[derive(Debug, Default)]
pub struct Carry {
    persons: FxHashMap<String, PersonState>,
}

impl Carry {
    /// Settles a visit into `out` (its buffers reused) against the person's state, and carries the
    /// state on; an error is the engine's text.
    pub fn settle_into(
        &mut self,
        engine: &Engine<'_>,
        wire: &WireVisit,
        out: &mut Settlement,
    ) -> Result<(), String> {
        let person = wire.person();
        let visit = wire.visit();
        if !self.persons.contains_key(&wire.psn_no) {
            let state = PersonState {
                balance: wire.balc.unwrap_or(Fen::ZERO),
                ..PersonState::default()
            };
            self.persons.insert(wire.psn_no.clone(), state);
        }
        let state = self.persons.get_mut(&wire.psn_no).expect("inserted above");
        let ytd = state
            .years
            .entry((wire.insutype, visit.settlement_date().year()))
            .or_default();
        engine
            .settle_into(&person, &visit, ytd, state.balance, out)
            .map_err(|e| e.to_string())?;
        ytd.apply(&out.postings);
        state.balance = out.balc;
        Ok(())
    }

    /// Reverses a settlement of the person in their state; returns its cancellation mirror.
    pub fn cancel(&mut self, psn_no: &str, insutype: Code, settlement: &Settlement) -> Settlement {
        let state = self.persons.entry(psn_no.to_string()).or_default();
        let mirror = settlement.negated(state.balance);
        state
            .years
            .entry((insutype, mirror.year))
            .or_default()
            .apply(&mirror.postings);
        state.balance = mirror.balc;
        mirror
    }
}

/// One input line read: a visit to settle, or the cancellation of an earlier settlement.
#[derive(Debug, Clone)]
pub enum WireLine {
    Settle(Box<WireVisit>),
    Cancel(String),
}

/// Why an input line was not read.
#[derive(Debug)]
pub enum LineError {
    /// Not JSON at all.
    NotJson(serde_json::Error),
    /// JSON, but not a visit or a cancellation: the `mdtrt_id` it names (when it does) and why.
    Refused {
        mdtrt_id: Option<String>,
        error: String,
    },
}

/// Reads one parsed line (a visit, or `{"op":"cancel","mdtrt_id":…}`).
pub fn read_value(value: &Value) -> Result<WireLine, LineError> {
    let refused = |mdtrt_id: Option<String>, error: String| LineError::Refused { mdtrt_id, error };
    match value.get("op").and_then(Value::as_str).unwrap_or("settle") {
        "settle" => WireVisit::from_json(value)
            .map(|wire| WireLine::Settle(Box::new(wire)))
            .map_err(|e| {
                let id = value.get("mdtrt_id").and_then(Value::as_str);
                refused(id.map(str::to_string), e.to_string())
            }),
        "cancel" => match value.get("mdtrt_id").and_then(Value::as_str) {
            Some(id) => Ok(WireLine::Cancel(id.to_string())),
            None => Err(refused(
                None,
                "mdtrt_id: a cancellation needs the mdtrt_id of the settlement".into(),
            )),
        },
        other => Err(refused(
            None,
            format!("op: `{other}` is not settle or cancel"),
        )),
    }
}

/// Whether a text line may be a cancellation (or another `op`): only such lines, and lines with
/// `\u` escapes (which could spell `op`), need the slower reading of [`read_line`].
pub fn may_have_op(text: &str) -> bool {
    text.contains("\"op\"") || text.contains("\\u")
}

/// Reads one text line as [`read_value`] does, a visit parsed once straight into its typed form
/// when the line cannot hold an `op`.
pub fn read_line(text: &str) -> Result<WireLine, LineError> {
    if !may_have_op(text) {
        if let Ok(wire) = serde_json::from_str::<WireVisit>(text) {
            return Ok(WireLine::Settle(Box::new(wire)));
        }
    }
    let value: Value = serde_json::from_str(text).map_err(LineError::NotJson)?;
    read_value(&value)
}

/// Settles visits line by line, carrying each person's state.
pub struct BatchSettler<'a> {
    engine: Engine<'a>,
    carry: Carry,
    settled: FxHashMap<String, SettledVisit>,
    line_no: usize,
}

impl<'a> BatchSettler<'a> {
    pub fn new(engine: Engine<'a>) -> BatchSettler<'a> {
        BatchSettler {
            engine,
            carry: Carry::default(),
            settled: FxHashMap::default(),
            line_no: 0,
        }
    }

    fn policy(&self) -> &'a Policy {
        self.engine.policy()
    }

    /// Processes one JSON text line.
    pub fn process_line(&mut self, text: &str) -> Outcome {
        self.line_no += 1;
        self.process(read_line(text))
    }

    /// Processes one parsed line (a visit, or `{"op":"cancel","mdtrt_id":…}`).
    pub fn process_value_numbered(&mut self, value: &Value) -> Outcome {
        self.line_no += 1;
        self.process(read_value(value))
    }

    fn process(&mut self, read: Result<WireLine, LineError>) -> Outcome {
        match read {
            Ok(WireLine::Settle(wire)) => self.settle(*wire),
            Ok(WireLine::Cancel(id)) => self.cancel(&id),
            Err(LineError::Refused { mdtrt_id, error }) => self.error(mdtrt_id, error),
            Err(LineError::NotJson(e)) => self.error(None, format!("line is not valid JSON: {e}")),
        }
    }

    fn error(&self, mdtrt_id: Option<String>, error: String) -> Outcome {
        Outcome::Error(ErrorOutput {
            line: self.line_no,
            mdtrt_id,
            error,
        })
    }

    fn settle(&mut self, wire: WireVisit) -> Outcome {
        let mdtrt_id = Some(wire.mdtrt_id.clone());
        if self
            .settled
            .get(&wire.mdtrt_id)
            .is_some_and(|s| !s.cancelled)
        {
            return self.error(mdtrt_id, already_settled(&wire.mdtrt_id));
        }
        let mut settlement = Settlement::default();
        if let Err(e) = self.carry.settle_into(&self.engine, &wire, &mut settlement) {
            return self.error(mdtrt_id, e);
        }
        let record = SettledVisit {
            psn_no: wire.psn_no.clone(),
            insutype: wire.insutype,
            med_type: wire.med_type,
            origins: wire
                .feedetail
                .iter()
                .map(|l| {
                    let fee = l.fee_line();
                    render::LineOrigin {
                        feedetl_sn: l.feedetl_sn.clone(),
                        cnt_e4: fee.cnt_e4,
                        pric_micro_yuan: fee.pric_micro_yuan,
                    }
                })
                .collect(),
            settlement,
            cancelled: false,
        };
        let output = self.output(&wire.mdtrt_id, "settle", &record, &record.settlement);
        self.settled.insert(wire.mdtrt_id, record);
        Outcome::Settled(Box::new(output))
    }

    fn cancel(&mut self, mdtrt_id: &str) -> Outcome {
        let id = Some(mdtrt_id.to_string());
        let Some(record) = self.settled.get(mdtrt_id) else {
            return self.error(id, unknown_settlement(mdtrt_id));
        };
        if record.cancelled {
            return self.error(id, already_cancelled(mdtrt_id));
        }
        let mirror = self
            .carry
            .cancel(&record.psn_no, record.insutype, &record.settlement);
        let output = self.output(mdtrt_id, "cancel", record, &mirror);
        if let Some(record) = self.settled.get_mut(mdtrt_id) {
            record.cancelled = true;
        }
        Outcome::Settled(Box::new(output))
    }

    fn output(
        &self,
        mdtrt_id: &str,
        op: &'static str,
        record: &SettledVisit,
        settlement: &Settlement,
    ) -> SettleOutput {
        let policy = self.policy();
        SettleOutput {
            mdtrt_id: mdtrt_id.to_string(),
            op,
            setlinfo: Setlinfo {
                mdtrt_id: mdtrt_id.to_string(),
                psn_no: record.psn_no.clone(),
                insutype: record.insutype,
                med_type: record.med_type,
                amounts: SetlinfoAmounts::from(settlement),
            },
            setldetail: render::setldetail(settlement, policy, record.insutype),
            result: render::line_results(&settlement.lines, |i| {
                record
                    .origins
                    .get(i as usize)
                    .cloned()
                    .unwrap_or(render::LineOrigin {
                        feedetl_sn: String::new(),
                        cnt_e4: 0,
                        pric_micro_yuan: 0,
                    })
            }),
            trace: render::trace_lines(settlement, policy, record.insutype),
        }
    }
}

/// Why a visit is refused: its `mdtrt_id` has a live settlement in the file.
pub fn already_settled(mdtrt_id: &str) -> String {
    format!("mdtrt_id: visit {mdtrt_id} is already settled")
}

/// Why a cancellation is refused: nothing in the file settled its `mdtrt_id`.
pub fn unknown_settlement(mdtrt_id: &str) -> String {
    format!("mdtrt_id: unknown mdtrt_id {mdtrt_id} (no settlement in this file)")
}

/// Why a cancellation is refused: its settlement is cancelled already.
pub fn already_cancelled(mdtrt_id: &str) -> String {
    format!("mdtrt_id: settlement of {mdtrt_id} is already cancelled")
}

/// A human-readable receipt of one outcome (`yibao settle --explain`).
pub fn receipt(outcome: &Outcome) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    match outcome {
        Outcome::Error(e) => {
            let _ = writeln!(out, "第 {} 行 错误: {}", e.line, e.error);
        }
        Outcome::Settled(s) => {
            let title = if s.op == "cancel" {
                "结算撤销"
            } else {
                "结算单"
            };
            let a = &s.setlinfo.amounts.amounts;
            let _ = writeln!(
                out,
                "── {title} {} (人员 {}, 险种 {}, 医疗类别 {}) ──",
                s.mdtrt_id, s.setlinfo.psn_no, s.setlinfo.insutype, s.setlinfo.med_type
            );
            let rows: [(&str, Fen); 14] = [
                ("医疗费总额", a.medfee_sumamt),
                ("  全自费", a.fulamt_ownpay_amt),
                ("  超限价自费", a.overlmt_selfpay),
                ("  先行自付", a.preselfpay_amt),
                ("  政策范围内", a.inscp_scp_amt),
                ("本次起付线", a.act_pay_dedc),
                ("基金支付总额", a.fund_pay_sumamt),
                ("  基本统筹", a.hifp_pay),
                (
                    "  大病/大额/公务员",
                    a.hifmi_pay + a.hifob_pay + a.cvlserv_pay,
                ),
                ("  医疗救助", a.maf_pay),
                ("  兜底及其他", a.oth_pay),
                ("个人账户支付", a.acct_pay),
                ("个人现金支付", a.psn_cash_pay),
                ("账户余额", s.setlinfo.amounts.balc),
            ];
            for (label, amount) in rows {
                let _ = writeln!(out, "{label:<12}{:>14}", amount.to_yuan_string());
            }
            let _ = writeln!(out, "计算过程:");
            for (i, step) in s.trace.iter().enumerate() {
                let _ = writeln!(out, "  {}. {step}", i + 1);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`read_value`] makes of a line, as text (or the JSON error).
    fn by_value(text: &str) -> String {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => format!("{:?}", read_value(&value)),
            Err(e) => format!("{:?}", Err::<WireLine, _>(LineError::NotJson(e))),
        }
    }

    #[test]
    fn reading_a_line_once_typed_is_reading_its_value() {
        let visit = r#"{"mdtrt_id":"M1","psn_no":" P1 ","insutype":390,"psn_type":"16","gend":"1","brdy":"1960-05-01","med_type":"11","begntime":"2025-03-01 08:00:00","endtime":"2025-03-01 08:30:00","hosp_lv":3,"medins_admdvs":"360402","balc":12.5,"dise_codg":"null","feedetail":[{"feedetl_sn":1,"med_list_codg":"X1","cnt":2,"pric":"1.50","det_item_fee_sumamt":3.0,"bilg_dr_codg":"D1"}]}"#;
        let lines = [
            visit.to_string(),
            visit.replace(r#""mdtrt_id":"M1""#, r#""op":"settle","mdtrt_id":"M1""#),
            visit.replace(r#""mdtrt_id":"M1""#, r#""op":"cancel","mdtrt_id":"M1""#),
            visit.replace(r#""mdtrt_id":"M1""#, r#""op":"undo","mdtrt_id":"M1""#),
            visit.replace(
                r#""mdtrt_id":"M1""#,
                r#""\u006fp":"cancel","mdtrt_id":"M1""#,
            ),
            visit.replace(r#""cnt":2"#, r#""cnt":true"#),
            visit.replace(r#""cnt":2"#, r#""cnt":[2]"#),
            visit.replace(r#""gend":"1""#, r#""gend":"1","gend":"2""#),
            visit.replace(r#""bilg_dr_codg":"D1""#, r#""bilg_dr_codg":7"#),
            visit.replace(r#""begntime":"2025-03-01 08:00:00","#, ""),
            r#"{"op":"cancel","mdtrt_id":"M1"}"#.to_string(),
            r#"{"op":"cancel","mdtrt_id":1}"#.to_string(),
            "{not json".to_string(),
        ];
        for line in &lines {
            assert_eq!(format!("{:?}", read_line(line)), by_value(line), "{line}");
        }
    }
}
