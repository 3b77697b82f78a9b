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

/// Settles visits line by line, carrying each person's state.
pub struct BatchSettler<'a> {
    engine: Engine<'a>,
    persons: FxHashMap<String, PersonState>,
    settled: FxHashMap<String, SettledVisit>,
    line_no: usize,
}

impl<'a> BatchSettler<'a> {
    pub fn new(engine: Engine<'a>) -> BatchSettler<'a> {
        BatchSettler {
            engine,
            persons: FxHashMap::default(),
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
        match serde_json::from_str::<Value>(text) {
            Ok(value) => self.process_value(&value),
            Err(e) => self.error(None, format!("line is not valid JSON: {e}")),
        }
    }

    /// Processes one parsed line (a visit, or `{"op":"cancel","mdtrt_id":…}`).
    pub fn process_value_numbered(&mut self, value: &Value) -> Outcome {
        self.line_no += 1;
        self.process_value(value)
    }

    fn process_value(&mut self, value: &Value) -> Outcome {
        let op = value.get("op").and_then(Value::as_str).unwrap_or("settle");
        match op {
            "settle" => self.settle(value),
            "cancel" => match value.get("mdtrt_id").and_then(Value::as_str) {
                Some(id) => self.cancel(id),
                None => self.error(
                    None,
                    "mdtrt_id: a cancellation needs the mdtrt_id of the settlement".into(),
                ),
            },
            other => self.error(None, format!("op: `{other}` is not settle or cancel")),
        }
    }

    fn error(&self, mdtrt_id: Option<String>, error: String) -> Outcome {
        Outcome::Error(ErrorOutput {
            line: self.line_no,
            mdtrt_id,
            error,
        })
    }

    fn settle(&mut self, value: &Value) -> Outcome {
        let mdtrt_id = value
            .get("mdtrt_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let wire = match WireVisit::from_json(value) {
            Ok(wire) => wire,
            Err(e) => return self.error(mdtrt_id, e.to_string()),
        };
        if self
            .settled
            .get(&wire.mdtrt_id)
            .is_some_and(|s| !s.cancelled)
        {
            return self.error(
                mdtrt_id,
                format!("mdtrt_id: visit {} is already settled", wire.mdtrt_id),
            );
        }
        let person = wire.person();
        let visit = wire.visit();
        let state = self
            .persons
            .entry(wire.psn_no.clone())
            .or_insert_with(|| PersonState {
                balance: wire.balc.unwrap_or(Fen::ZERO),
                ..PersonState::default()
            });
        let ytd = state
            .years
            .entry((wire.insutype, visit.settlement_date().year()))
            .or_default();
        let settlement = match self.engine.settle(&person, &visit, ytd, state.balance) {
            Ok(s) => s,
            Err(e) => return self.error(mdtrt_id, e.to_string()),
        };
        ytd.apply(&settlement.postings);
        state.balance = settlement.balc;
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
            return self.error(
                id,
                format!("mdtrt_id: unknown mdtrt_id {mdtrt_id} (no settlement in this file)"),
            );
        };
        if record.cancelled {
            return self.error(
                id,
                format!("mdtrt_id: settlement of {mdtrt_id} is already cancelled"),
            );
        }
        let state = self.persons.entry(record.psn_no.clone()).or_default();
        let mirror = record.settlement.negated(state.balance);
        state
            .years
            .entry((record.insutype, mirror.year))
            .or_default()
            .apply(&mirror.postings);
        state.balance = mirror.balc;
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
