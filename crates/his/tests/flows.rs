//! The client and the flows against a fake transport that records the bodies and answers as a
//! service would; the HTTP transport against a one-shot TCP listener.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yibao_his::{
    steps, Client, Envelope, FeeLine, FlowFailed, HisError, HttpTransport, InfTime, Transport,
    TransportError, Visit,
};

/// How the fake answers one body.
type Answer = fn(&Value) -> Result<String, TransportError>;

/// Records every body sent; answers with `answer`.
struct Fake {
    sent: Mutex<Vec<Value>>,
    answer: Answer,
}

impl Fake {
    fn new(answer: Answer) -> Fake {
        Fake {
            sent: Mutex::new(Vec::new()),
            answer,
        }
    }

    fn sent(&self) -> Vec<Value> {
        self.sent.lock().unwrap().clone()
    }

    fn infnos(&self) -> Vec<String> {
        self.sent()
            .iter()
            .map(|b| b["infno"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Transport for &Fake {
    async fn send(&self, body: String) -> Result<String, TransportError> {
        let value: Value = serde_json::from_str(&body).unwrap();
        self.sent.lock().unwrap().push(value.clone());
        (self.answer)(&value)
    }
}

/// A service that accepts everything: ids where the steps read them.
fn accept_all(body: &Value) -> Result<String, TransportError> {
    let output = match body["infno"].as_str().unwrap() {
        "2201" => json!({ "data": { "mdtrt_id": "M1" } }),
        "2401" => json!({ "result": { "mdtrt_id": "M2" } }),
        "2207" | "2304" => {
            json!({ "setlinfo": { "mdtrt_id": body["input"]["data"]["mdtrt_id"], "setl_id": "S1" } })
        }
        "2102" => json!({ "setlinfo": { "mdtrt_id": "M3", "setl_id": "S3" } }),
        _ => json!({}),
    };
    Ok(json!({ "infcode": 0, "err_msg": null, "output": output }).to_string())
}

/// Refuses fee uploads.
fn refuse_fees(body: &Value) -> Result<String, TransportError> {
    if body["infno"] == "2204" {
        return Ok(
            r#"{"infcode":-1,"err_msg":"参数 input.feedetail[1].det_item_fee_sumamt 有误：abc 不是数值","output":null}"#
                .into(),
        );
    }
    accept_all(body)
}

fn unreachable_service(_: &Value) -> Result<String, TransportError> {
    Err(TransportError::Status {
        status: 503,
        body: "down".into(),
    })
}

fn registration_without_id(body: &Value) -> Result<String, TransportError> {
    if body["infno"] == "2201" {
        return Ok(r#"{"infcode":0,"output":{"data":{}}}"#.into());
    }
    accept_all(body)
}

fn visit(med_type: &str) -> Visit {
    Visit {
        psn_no: "P0001".into(),
        insutype: "390".into(),
        med_type: med_type.into(),
        begntime: "2025-03-01 09:00:00".into(),
        endtime: Some("2025-03-04 10:00:00".into()),
        fixmedins_code: "H36040200001".into(),
        refl_flag: "0".into(),
        dise_codg: "J06.900".into(),
        feedetail: vec![
            FeeLine {
                feedetl_sn: "1".into(),
                med_list_codg: "001102000010000".into(),
                cnt: "1".into(),
                pric: "0.10".into(),
                det_item_fee_sumamt: "0.10".into(),
                hosp_appr_flag: "1".into(),
            },
            FeeLine {
                feedetl_sn: "2".into(),
                det_item_fee_sumamt: "0.20".into(),
                ..FeeLine::default()
            },
        ],
    }
}

fn envelope() -> Envelope {
    Envelope {
        mdtrtarea_admvs: "360402".into(),
        recer_sys_code: "fsi".into(),
        opter: "T7".into(),
        inf_time: InfTime::At("2025-03-01 09:00:00".into()),
        ..Envelope::default()
    }
}

/// A client whose msgids are `T` + institution + a serial.
fn client(fake: &Fake) -> Client<'static, &Fake> {
    let serial = AtomicU64::new(0);
    Client::new(fake, envelope()).with_msgids(move |fixmedins: &str| {
        format!("T{fixmedins}{}", serial.fetch_add(1, Ordering::Relaxed))
    })
}

#[tokio::test]
async fn messages_carry_the_envelope_and_fresh_msgids() {
    let fake = Fake::new(accept_all);
    let his = client(&fake);
    let reply = his.send(&steps::register(&visit("11"))).await.unwrap();
    assert_eq!(reply.msgid, "TH360402000010");
    assert_eq!(steps::registered_mdtrt_id(&reply).unwrap(), "M1");
    his.send(&steps::register(&visit("11"))).await.unwrap();
    let sent = fake.sent();
    let body = &sent[0];
    for (field, expected) in [
        ("infno", "2201"),
        ("msgid", "TH360402000010"),
        ("fixmedins_code", "H36040200001"),
        ("mdtrtarea_admvs", "360402"),
        ("insuplc_admdvs", ""),
        ("recer_sys_code", "fsi"),
        ("opter", "T7"),
        ("infver", "V1.0"),
        ("inf_time", "2025-03-01 09:00:00"),
    ] {
        assert_eq!(body[field], expected, "{field} in {body}");
    }
    assert_eq!(body["input"]["data"]["psn_no"], "P0001");
    assert_eq!(sent[1]["msgid"], "TH360402000011");
}

#[tokio::test]
async fn an_explicit_msgid_sends_the_same_message_again() {
    let fake = Fake::new(accept_all);
    let his = client(&fake);
    let message = steps::settle_outpatient(&visit("11"), "M1", yibao_domain::Fen(30));
    let first = his
        .send_as(&message, "H3604020000100100000013")
        .await
        .unwrap();
    let again = his
        .send_as(&message, "H3604020000100100000013")
        .await
        .unwrap();
    assert_eq!(first.text, again.text);
    let sent = fake.sent();
    assert_eq!(sent[0]["msgid"], "H3604020000100100000013");
    assert_eq!(sent[0], sent[1]);
}

#[tokio::test]
async fn the_outpatient_flow_registers_informs_uploads_and_settles() {
    let fake = Fake::new(accept_all);
    let settled = client(&fake).settle_visit(&visit("11")).await.unwrap();
    assert_eq!(fake.infnos(), ["2201", "2203", "2204", "2207"]);
    assert_eq!(
        (
            settled.mdtrt_id.as_str(),
            settled.setl_id.as_str(),
            settled.messages
        ),
        ("M1", "S1", 4)
    );
    let sent = fake.sent();
    assert_eq!(sent[1]["input"]["mdtrtinfo"]["mdtrt_id"], "M1");
    assert_eq!(sent[1]["input"]["diseinfo"][0]["diag_code"], "J06.900");
    let lines = sent[2]["input"]["feedetail"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["mdtrt_id"] == "M1"), "{lines:?}");
    // 0.10 + 0.20 summed in fen, not as floats.
    assert_eq!(sent[3]["input"]["data"]["medfee_sumamt"], "0.30");
    assert_eq!(settled.reply.infno, "2207");
}

#[tokio::test]
async fn med_type_21_takes_the_inpatient_flow() {
    let fake = Fake::new(accept_all);
    let settled = client(&fake).settle_visit(&visit("21")).await.unwrap();
    assert_eq!(fake.infnos(), ["2401", "2301", "2304"]);
    assert_eq!((settled.mdtrt_id.as_str(), settled.messages), ("M2", 3));
    let data = &fake.sent()[2]["input"]["data"];
    assert_eq!(data["mdtrt_id"], "M2");
    assert_eq!(data["mid_setl_flag"], "0");
    assert_eq!(data["dscgTime"], "2025-03-04 10:00:00");
    assert_eq!(data["medfee_sumamt"], "0.30");
}

#[tokio::test]
async fn med_type_41_takes_the_pharmacy_flow() {
    let fake = Fake::new(accept_all);
    let settled = client(&fake).settle_visit(&visit("41")).await.unwrap();
    assert_eq!(fake.infnos(), ["2102"]);
    assert_eq!(
        (
            settled.mdtrt_id.as_str(),
            settled.setl_id.as_str(),
            settled.messages
        ),
        ("M3", "S3", 1)
    );
    let input = &fake.sent()[0]["input"];
    assert_eq!(input["data"]["medfee_sumamt"], "0.30");
    assert!(input["feedetail"][0].get("mdtrt_id").is_none(), "{input}");
}

#[tokio::test]
async fn a_refusal_stops_the_flow_with_infno_and_err_msg() {
    let fake = Fake::new(refuse_fees);
    let failed = client(&fake).outpatient(&visit("11")).await.unwrap_err();
    assert_eq!(failed.messages, 3);
    match failed.error {
        HisError::Refused { infno, err_msg } => {
            assert_eq!(infno, "2204");
            assert_eq!(
                err_msg,
                "参数 input.feedetail[1].det_item_fee_sumamt 有误：abc 不是数值"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.infnos(), ["2201", "2203", "2204"]);
}

#[tokio::test]
async fn a_transport_failure_names_the_message() {
    let fake = Fake::new(unreachable_service);
    let failed = client(&fake).inpatient(&visit("21")).await.unwrap_err();
    assert_eq!(failed.messages, 1);
    assert!(
        matches!(
            failed.error,
            HisError::Transport {
                infno: "2401",
                source: TransportError::Status { status: 503, .. }
            }
        ),
        "{:?}",
        failed.error
    );
}

#[tokio::test]
async fn a_reply_without_the_issued_id_is_malformed() {
    let fake = Fake::new(registration_without_id);
    let failed = client(&fake).outpatient(&visit("11")).await.unwrap_err();
    assert_eq!(failed.messages, 1);
    assert!(
        matches!(failed.error, HisError::Malformed { infno: "2201", .. }),
        "{:?}",
        failed.error
    );
}

#[tokio::test]
async fn a_malformed_amount_sends_no_purchase() {
    let fake = Fake::new(accept_all);
    let mut purchase = visit("41");
    purchase.feedetail[1].det_item_fee_sumamt = "0.2O".into();
    let FlowFailed { messages, error } = client(&fake).pharmacy(&purchase).await.unwrap_err();
    assert_eq!(messages, 0);
    assert!(
        matches!(&error, HisError::Amount { feedetl_sn, .. } if feedetl_sn == "2"),
        "{error:?}"
    );
    assert!(fake.sent().is_empty());
}

/// A base URL whose server answers one HTTP request with `status` and `reply`, and the task that
/// returns the request's head and body.
async fn one_shot_server(
    status: &'static str,
    reply: &'static str,
) -> (String, tokio::task::JoinHandle<(String, String)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    (base, tokio::spawn(serve_once(listener, status, reply)))
}

/// Serves one HTTP request with `status` and `reply`; returns the request's head and body.
async fn serve_once(
    listener: tokio::net::TcpListener,
    status: &str,
    reply: &str,
) -> (String, String) {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let (head, body_start) = loop {
        let read = socket.read(&mut buffer).await.unwrap();
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            break (text[..end].to_string(), end + 4);
        }
    };
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    while received.len() < body_start + length {
        let read = socket.read(&mut buffer).await.unwrap();
        received.extend_from_slice(&buffer[..read]);
    }
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
    socket.write_all(response.as_bytes()).await.unwrap();
    let body = String::from_utf8_lossy(&received[body_start..]).to_string();
    (head, body)
}

#[tokio::test]
async fn http_posts_the_body_to_call_service() {
    let (base, server) = one_shot_server("200 OK", r#"{"infcode":0}"#).await;
    let transport = HttpTransport::new(reqwest::Client::new(), &base);
    let reply = transport.send("{\"infno\":\"9001\"}".into()).await.unwrap();
    assert_eq!(reply, r#"{"infcode":0}"#);
    let (head, body) = server.await.unwrap();
    assert!(
        head.starts_with("POST /fsi/api/rsfComIfsService/callService HTTP/1.1"),
        "{head}"
    );
    assert_eq!(body, "{\"infno\":\"9001\"}");
}

#[tokio::test]
async fn http_status_other_than_success_is_a_transport_failure() {
    let (base, server) = one_shot_server(
        "401 Unauthorized",
        r#"{"code":401,"message":"bad signature"}"#,
    )
    .await;
    let transport = HttpTransport::new(reqwest::Client::new(), &base);
    let error = transport.send("{}".into()).await.unwrap_err();
    assert!(
        matches!(&error, TransportError::Status { status: 401, body } if body.contains("bad signature")),
        "{error:?}"
    );
    server.await.unwrap();
}
