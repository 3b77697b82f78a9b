//! No certificate number or name reaches the logs, at any level, for a full flow including errors.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{line, Backend, Harness};
use serde_json::json;
use yibao_server::config::AuthMode;

/// Collects every log line in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_no_certno_or_name() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "logs").await;
    let certno = "360402197502140022";
    let name = "测试乙";
    h.ok("1101", "H36040200001", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "certno": certno, "psn_name": name } })).await;
    h.fails(
        "1101",
        "H36040200001",
        json!({ "data": { "certno": certno, "psn_name": "别人" } }),
    )
    .await;
    h.fails(
        "1101",
        "H36040200001",
        json!({ "data": { "certno": "110101199001011234" } }),
    )
    .await;
    let registration = json!({ "data": { "psn_no": "P0002", "insutype": "310", "certno": certno, "psn_name": name } });
    let mdtrt_id = h.ok("2201", "H36040200001", registration).await["data"]["mdtrt_id"]
        .as_str()
        .unwrap()
        .to_string();
    h.ok("2204", "H36040200001", json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00")] })).await;
    let settle = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "10.00", "certno": certno, "psn_name": name } });
    let out = h.ok("2207", "H36040200001", settle.clone()).await;
    assert_eq!(
        out["setlinfo"]["certno"], certno,
        "the reply itself carries the person"
    );
    h.fails("2207", "H36040200001", settle).await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("callService"),
        "the service logged its requests"
    );
    assert!(
        !logs.contains(certno) && !logs.contains("110101199001011234"),
        "a certno was logged"
    );
    assert!(
        !logs.contains(name) && !logs.contains("别人"),
        "a name was logged"
    );
}
