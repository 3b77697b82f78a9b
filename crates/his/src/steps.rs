//! One message per step of the HIS flows (`interface.md` §7), built from a [`Visit`], and readers
//! of the ids the replies issue.

use serde_json::{json, Value};
use yibao_domain::Fen;

use crate::reply::{HisError, Reply};
use crate::visit::Visit;

/// `mdtrt_cert_type` of the messages: 02 居民身份证.
const CERT_ID_CARD: &str = "02";
/// `chrg_bchno` of uploaded lines unless a step names another batch: the visit's lines are one
/// charge batch.
const CHARGE_BATCH: &str = "1";
/// `acct_used_flag` of settlements: the personal account pays what it may.
const USE_ACCOUNT: &str = "1";

/// One message: the transaction, the institution sending it and its `input`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub infno: &'static str,
    pub fixmedins_code: String,
    pub input: Value,
}

impl Message {
    /// A message of `visit`'s institution.
    fn of(infno: &'static str, visit: &Visit, input: Value) -> Message {
        Message {
            infno,
            fixmedins_code: visit.fixmedins_code.clone(),
            input,
        }
    }
}

/// `mdtrt_cert_type` of a card read by its number: 03 社会保障卡.
const CERT_SOCIAL_SECURITY_CARD: &str = "03";

/// 1101 人员信息获取 at `visit`'s institution, by the person's number as the card's number: a
/// hospital of another platform reads the card before admitting the person (the treating platform
/// asks the insured one).
pub fn person_info(visit: &Visit) -> Message {
    let data =
        json!({ "mdtrt_cert_type": CERT_SOCIAL_SECURITY_CARD, "mdtrt_cert_no": visit.psn_no });
    Message::of("1101", visit, json!({ "data": data }))
}

/// 2201 门诊挂号: opens the outpatient visit; [`registered_mdtrt_id`] reads its id.
pub fn register(visit: &Visit) -> Message {
    let data = json!({ "psn_no": visit.psn_no, "insutype": visit.insutype, "begntime": visit.begntime,
                       "mdtrt_cert_type": CERT_ID_CARD, "med_type": visit.med_type });
    Message::of("2201", visit, json!({ "data": data }))
}

/// 2203 门诊就诊信息上传: medical type, times, referral and diagnosis of the visit `mdtrt_id`.
pub fn visit_info(visit: &Visit, mdtrt_id: &str) -> Message {
    let info = json!({ "mdtrt_id": mdtrt_id, "psn_no": visit.psn_no, "med_type": visit.med_type,
                       "begntime": visit.begntime, "dise_codg": visit.dise_codg, "refl_flag": visit.refl_flag });
    diagnosed("2203", visit, info)
}

/// 2204 门诊费用明细上传: the visit's fee lines, as one charge batch.
pub fn upload_outpatient_fees(visit: &Visit, mdtrt_id: &str) -> Message {
    upload_outpatient_batch(visit, mdtrt_id, CHARGE_BATCH)
}

/// 2204 门诊费用明细上传: the visit's fee lines as charge batch `chrg_bchno` (a registration is
/// charged in batches: the registration fee first, the treatment later).
pub fn upload_outpatient_batch(visit: &Visit, mdtrt_id: &str, chrg_bchno: &str) -> Message {
    let feedetail = feedetail(visit, Some(mdtrt_id), chrg_bchno);
    Message::of("2204", visit, json!({ "feedetail": feedetail }))
}

/// 2205 门诊费用明细撤销 of charge batch `chrg_bchno` ("0000": every unsettled line).
pub fn cancel_outpatient_fees(visit: &Visit, mdtrt_id: &str, chrg_bchno: &str) -> Message {
    let data = json!({ "mdtrt_id": mdtrt_id, "psn_no": visit.psn_no, "chrg_bchno": chrg_bchno });
    Message::of("2205", visit, json!({ "data": data }))
}

/// 2207 门诊结算 of the visit `mdtrt_id`'s fee lines (one charge batch), declaring
/// `medfee_sumamt`.
pub fn settle_outpatient(visit: &Visit, mdtrt_id: &str, medfee_sumamt: Fen) -> Message {
    settle_outpatient_batch(visit, mdtrt_id, CHARGE_BATCH, medfee_sumamt)
}

/// 2207 门诊结算 of charge batch `chrg_bchno` of the visit `mdtrt_id`, declaring `medfee_sumamt`.
pub fn settle_outpatient_batch(
    visit: &Visit,
    mdtrt_id: &str,
    chrg_bchno: &str,
    medfee_sumamt: Fen,
) -> Message {
    outpatient_settlement("2207", visit, (mdtrt_id, chrg_bchno), medfee_sumamt)
}

/// 2206 门诊预结算 of charge batch `chrg_bchno` of the visit `mdtrt_id`.
pub fn presettle_outpatient_batch(
    visit: &Visit,
    mdtrt_id: &str,
    chrg_bchno: &str,
    medfee_sumamt: Fen,
) -> Message {
    outpatient_settlement("2206", visit, (mdtrt_id, chrg_bchno), medfee_sumamt)
}

/// 2208 门诊结算撤销 of the settlement `setl_id` of the visit `mdtrt_id`.
pub fn cancel_outpatient_settlement(visit: &Visit, mdtrt_id: &str, setl_id: &str) -> Message {
    cancel_settlement("2208", visit, mdtrt_id, setl_id)
}

/// 2401 入院办理: opens the admission; [`admitted_mdtrt_id`] reads its id.
pub fn admit(visit: &Visit) -> Message {
    let info = json!({ "psn_no": visit.psn_no, "insutype": visit.insutype, "med_type": visit.med_type,
                       "begntime": visit.begntime, "dise_codg": visit.dise_codg, "refl_flag": visit.refl_flag,
                       "mdtrt_cert_type": CERT_ID_CARD });
    diagnosed("2401", visit, info)
}

/// 2301 住院费用明细上传: the admission's fee lines.
pub fn upload_inpatient_fees(visit: &Visit, mdtrt_id: &str) -> Message {
    let feedetail = feedetail(visit, Some(mdtrt_id), CHARGE_BATCH);
    Message::of("2301", visit, json!({ "feedetail": feedetail }))
}

/// 2402 出院办理 of the admission `mdtrt_id` at the visit's `endtime` (the service's time when
/// there is none).
pub fn discharge(visit: &Visit, mdtrt_id: &str) -> Message {
    let mut info = json!({ "mdtrt_id": mdtrt_id, "psn_no": visit.psn_no });
    if let Some(endtime) = &visit.endtime {
        info["endtime"] = json!(endtime);
    }
    Message::of("2402", visit, json!({ "dscginfo": info }))
}

/// 2405 出院撤销 of the admission `mdtrt_id`.
pub fn cancel_discharge(visit: &Visit, mdtrt_id: &str) -> Message {
    let data = json!({ "mdtrt_id": mdtrt_id, "psn_no": visit.psn_no });
    Message::of("2405", visit, json!({ "data": data }))
}

/// 2304 住院结算 of the admission `mdtrt_id`, declaring `medfee_sumamt`: an interim settlement
/// (`mid_setl_flag` 1) of an ongoing stay, or the final one with the visit's `endtime` as
/// `dscgTime`.
pub fn settle_inpatient(
    visit: &Visit,
    mdtrt_id: &str,
    medfee_sumamt: Fen,
    interim: bool,
) -> Message {
    inpatient_settlement("2304", visit, mdtrt_id, medfee_sumamt, interim)
}

/// 2303 住院预结算 of the admission `mdtrt_id`, as [`settle_inpatient`] would settle it.
pub fn presettle_inpatient(
    visit: &Visit,
    mdtrt_id: &str,
    medfee_sumamt: Fen,
    interim: bool,
) -> Message {
    inpatient_settlement("2303", visit, mdtrt_id, medfee_sumamt, interim)
}

/// 2305 住院结算撤销 of the settlement `setl_id` of the admission `mdtrt_id`.
pub fn cancel_inpatient_settlement(visit: &Visit, mdtrt_id: &str, setl_id: &str) -> Message {
    cancel_settlement("2305", visit, mdtrt_id, setl_id)
}

/// 2102 药店结算: the purchase, its lines and its settlement in one message.
pub fn pharmacy(visit: &Visit, medfee_sumamt: Fen) -> Message {
    let data = json!({ "psn_no": visit.psn_no, "insutype": visit.insutype, "med_type": visit.med_type,
                       "begntime": visit.begntime, "mdtrt_cert_type": CERT_ID_CARD,
                       "medfee_sumamt": medfee_sumamt.to_yuan_string(), "acct_used_flag": USE_ACCOUNT });
    Message::of(
        "2102",
        visit,
        json!({ "data": data, "feedetail": feedetail(visit, None, CHARGE_BATCH) }),
    )
}

/// 3102 明细审核事中分析 (`trig_scen` 6, outpatient pre-settlement) of `visit` as the encounter
/// `encounter_id` of the HIS, its lines as the orders: the 事中 rules' warnings, with the person's
/// history, come back in `output.result`.
pub fn during_analysis(visit: &Visit, encounter_id: &str) -> Message {
    let orders: Vec<Value> = visit
        .feedetail
        .iter()
        .map(|line| {
            json!({ "rx_id": line.feedetl_sn, "hilist_code": line.med_list_codg, "cnt": line.cnt,
                    "pric": line.pric, "sumamt": line.det_item_fee_sumamt })
        })
        .collect();
    let encounter = json!({ "mdtrt_id": encounter_id, "med_type": visit.med_type, "insutype": visit.insutype,
                            "adm_date": visit.begntime, "dscg_main_dise_codg": visit.dise_codg,
                            "fsi_order_dtos": orders });
    let patient = json!({ "patn_id": visit.psn_no, "curr_mdtrt_id": encounter_id,
                          "fsi_encounter_dtos": [encounter] });
    let data = json!({ "syscode": "yibao-his", "trig_scen": "6", "patient_dtos": [patient] });
    Message::of("3102", visit, json!({ "data": data }))
}

/// The `mdtrt_id` a 2201 reply issued (`output.data.mdtrt_id`).
pub fn registered_mdtrt_id(reply: &Reply) -> Result<String, HisError> {
    reply.text_at("/data/mdtrt_id")
}

/// The `mdtrt_id` a 2401 reply issued (`output.result.mdtrt_id`).
pub fn admitted_mdtrt_id(reply: &Reply) -> Result<String, HisError> {
    reply.text_at("/result/mdtrt_id")
}

/// The settled visit of a settlement reply (`output.setlinfo.mdtrt_id`).
pub fn settled_mdtrt_id(reply: &Reply) -> Result<String, HisError> {
    reply.text_at("/setlinfo/mdtrt_id")
}

/// The `setl_id` of a settlement reply (`output.setlinfo.setl_id`).
pub fn settled_setl_id(reply: &Reply) -> Result<String, HisError> {
    reply.text_at("/setlinfo/setl_id")
}

/// A message of `mdtrtinfo` and `diseinfo[]`: the principal diagnosis as a western-medicine
/// diagnosis.
fn diagnosed(infno: &'static str, visit: &Visit, mdtrtinfo: Value) -> Message {
    let diseinfo = json!([{ "diag_type": "1", "diag_srt_no": "1", "diag_code": visit.dise_codg }]);
    Message::of(
        infno,
        visit,
        json!({ "mdtrtinfo": mdtrtinfo, "diseinfo": diseinfo }),
    )
}

/// A 2206/2207 of charge batch `chrg_bchno` of the visit `mdtrt_id`.
fn outpatient_settlement(
    infno: &'static str,
    visit: &Visit,
    (mdtrt_id, chrg_bchno): (&str, &str),
    medfee_sumamt: Fen,
) -> Message {
    let data = json!({ "psn_no": visit.psn_no, "mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno,
                       "insutype": visit.insutype, "med_type": visit.med_type,
                       "medfee_sumamt": medfee_sumamt.to_yuan_string(), "acct_used_flag": USE_ACCOUNT });
    Message::of(infno, visit, json!({ "data": data }))
}

/// A 2303/2304 of the admission `mdtrt_id` (see [`settle_inpatient`]).
fn inpatient_settlement(
    infno: &'static str,
    visit: &Visit,
    mdtrt_id: &str,
    medfee_sumamt: Fen,
    interim: bool,
) -> Message {
    let mid_setl_flag = if interim { "1" } else { "0" };
    let mut data = json!({ "psn_no": visit.psn_no, "mdtrt_id": mdtrt_id, "insutype": visit.insutype,
                           "medfee_sumamt": medfee_sumamt.to_yuan_string(), "mid_setl_flag": mid_setl_flag,
                           "acct_used_flag": USE_ACCOUNT });
    if let (false, Some(endtime)) = (interim, &visit.endtime) {
        data["dscgTime"] = json!(endtime);
    }
    Message::of(infno, visit, json!({ "data": data }))
}

/// A 2208/2305 of the settlement `setl_id` of the visit `mdtrt_id`.
fn cancel_settlement(infno: &'static str, visit: &Visit, mdtrt_id: &str, setl_id: &str) -> Message {
    let data = json!({ "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": visit.psn_no });
    Message::of(infno, visit, json!({ "data": data }))
}

/// `feedetail[]`: the visit's lines as charge batch `chrg_bchno`, naming the visit once it has an
/// id.
fn feedetail(visit: &Visit, mdtrt_id: Option<&str>, chrg_bchno: &str) -> Vec<Value> {
    visit
        .feedetail
        .iter()
        .map(|line| {
            let mut uploaded = json!({
                "feedetl_sn": line.feedetl_sn, "psn_no": visit.psn_no, "chrg_bchno": chrg_bchno,
                "med_list_codg": line.med_list_codg, "cnt": line.cnt, "pric": line.pric,
                "det_item_fee_sumamt": line.det_item_fee_sumamt, "hosp_appr_flag": line.hosp_appr_flag,
                "fee_ocur_time": visit.begntime,
            });
            if let Some(mdtrt_id) = mdtrt_id {
                uploaded["mdtrt_id"] = json!(mdtrt_id);
            }
            uploaded
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission() -> Visit {
        Visit {
            psn_no: "P1".into(),
            insutype: "390".into(),
            med_type: "21".into(),
            begntime: "2025-01-01 08:00:00".into(),
            endtime: Some("2025-01-05 10:00:00".into()),
            fixmedins_code: "H1".into(),
            ..Visit::default()
        }
    }

    #[test]
    fn a_final_inpatient_settlement_carries_the_discharge() {
        let message = settle_inpatient(&admission(), "M1", Fen(12_345), false);
        assert_eq!(message.infno, "2304");
        let data = &message.input["data"];
        assert_eq!(data["medfee_sumamt"], "123.45");
        assert_eq!(data["mid_setl_flag"], "0");
        assert_eq!(data["dscgTime"], "2025-01-05 10:00:00");
    }

    #[test]
    fn a_during_analysis_sends_the_lines_as_orders_of_the_current_encounter() {
        let visit = Visit {
            feedetail: vec![crate::FeeLine::priced("7", "C1", 2, Fen(500))],
            ..admission()
        };
        let message = during_analysis(&visit, "E1");
        assert_eq!(message.infno, "3102");
        let patient = &message.input["data"]["patient_dtos"][0];
        assert_eq!(patient["curr_mdtrt_id"], "E1");
        let order = &patient["fsi_encounter_dtos"][0]["fsi_order_dtos"][0];
        assert_eq!(
            (order["rx_id"].as_str(), order["sumamt"].as_str()),
            (Some("7"), Some("10.00"))
        );
    }

    #[test]
    fn an_interim_settlement_has_no_discharge() {
        let message = settle_inpatient(&admission(), "M1", Fen(100), true);
        let data = &message.input["data"];
        assert_eq!(data["mid_setl_flag"], "1");
        assert!(data.get("dscgTime").is_none(), "{data}");
    }

    #[test]
    fn a_charge_batch_is_uploaded_and_settled_by_its_number() {
        let visit = Visit {
            med_type: "11".into(),
            feedetail: vec![crate::FeeLine::priced("7", "C1", 2, Fen(500))],
            ..admission()
        };
        let upload = upload_outpatient_batch(&visit, "M1", "B2");
        assert_eq!(upload.infno, "2204");
        assert_eq!(upload.input["feedetail"][0]["chrg_bchno"], "B2");
        assert_eq!(upload.input["feedetail"][0]["mdtrt_id"], "M1");
        for (message, infno) in [
            (
                settle_outpatient_batch(&visit, "M1", "B2", Fen(1_000)),
                "2207",
            ),
            (
                presettle_outpatient_batch(&visit, "M1", "B2", Fen(1_000)),
                "2206",
            ),
        ] {
            assert_eq!(message.infno, infno);
            assert_eq!(message.input["data"]["chrg_bchno"], "B2");
            assert_eq!(message.input["data"]["medfee_sumamt"], "10.00");
        }
        assert_eq!(
            settle_outpatient(&visit, "M1", Fen(1_000)).input["data"]["chrg_bchno"],
            CHARGE_BATCH
        );
        let cancel = cancel_outpatient_settlement(&visit, "M1", "S1");
        assert_eq!(
            (cancel.infno, &cancel.input),
            (
                "2208",
                &json!({ "data": { "setl_id": "S1", "mdtrt_id": "M1", "psn_no": "P1" } })
            )
        );
    }

    #[test]
    fn a_discharge_without_endtime_leaves_it_to_the_service() {
        let visit = Visit {
            endtime: None,
            ..admission()
        };
        let message = discharge(&visit, "M1");
        assert_eq!(
            message.input,
            json!({ "dscginfo": { "mdtrt_id": "M1", "psn_no": "P1" } })
        );
    }
}
