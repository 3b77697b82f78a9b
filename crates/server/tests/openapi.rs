//! The OpenAPI contract: the document describes every route the server answers and no other, is
//! served at `/openapi.json` over real HTTP (SQLite and PostgreSQL) as OpenAPI 3.x, and every route
//! it describes is answered by its handler. Also the write-path metrics an operator alerts on.

use crate::common;

use std::collections::BTreeSet;

use common::{Backend, Harness};
use serde_json::{json, Value};
use yibao_server::app::route_table;
use yibao_server::config::Config;

/// The HTTP methods an OpenAPI path item may hold.
const OPERATIONS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A gateway prefix as sites configure it (with the trailing slash some write).
const PREFIX: &str = "/ebus/mbs_fsi_auth/";

/// `(METHOD, path)` of every operation a document describes.
fn described(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            OPERATIONS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(|method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// `(METHOD, path)` of every route the router of `config` answers.
fn routed(config: &Config) -> BTreeSet<(String, String)> {
    route_table(config)
        .into_iter()
        .map(|(method, path)| (method.to_string(), path))
        .collect()
}

/// Fails naming each route the document leaves out and each operation it describes that the
/// server does not answer.
fn assert_contract(config: &Config, document: &Value) {
    let routed = routed(config);
    let described = described(document);
    let undocumented: Vec<_> = routed.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes the OpenAPI document does not describe: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "operations the OpenAPI document describes but the server does not answer: {unrouted:?}"
    );
}

/// Every `$ref` of the document names a component it defines.
fn assert_refs_resolve(value: &Value, document: &Value) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(target)) = fields.get("$ref") {
                let pointer = target
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{target} is not local"));
                assert!(document.pointer(pointer).is_some(), "{target} is undefined");
            }
            fields
                .values()
                .for_each(|v| assert_refs_resolve(v, document));
        }
        Value::Array(items) => items.iter().for_each(|v| assert_refs_resolve(v, document)),
        _ => {}
    }
}

#[test]
fn the_document_describes_exactly_the_routes() {
    for prefix in ["", PREFIX] {
        let config = Config {
            path_prefix: prefix.into(),
            ..Config::default()
        };
        let document = serde_json::to_value(yibao_server::openapi::document(&config)).unwrap();
        assert_contract(&config, &document);
        assert_refs_resolve(&document, &document);
    }
    let routes = routed(&Config {
        path_prefix: PREFIX.into(),
        ..Config::default()
    });
    assert!(routes.contains(&(
        "POST".into(),
        "/ebus/mbs_fsi_auth/fsi/api/rsfComIfsService/callService".into()
    )));
    assert!(routes.contains(&("GET".into(), "/openapi.json".into())));
}

/// A path of the route table with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{admdvs}", "360400")
        .replace("{infno}", "9001")
}

/// Each described route is answered by its handler (not the router's 404 or 405).
async fn probe(h: &Harness, method: &str, path: &str) {
    let url = format!("{}{}", h.base, concrete(path));
    let request = match method {
        "GET" => h.client.get(&url),
        "POST" => h.client.post(&url),
        "PUT" => h.client.put(&url),
        other => panic!("no probe for {other}"),
    };
    let response = request.body("{}").send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if path.starts_with("/admin/") {
        // The token check runs only on matched admin routes.
        assert_eq!(status, 401, "{method} {path}: {text}");
        let refusal: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            refusal,
            json!({ "ok": false, "error": "admin token required" })
        );
    } else if path.starts_with("/peer/") {
        // The inter-platform API answers only signed calls of a listed peer.
        assert_eq!(status, 401, "{method} {path}: {text}");
        let refusal: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(refusal["problem"], "missing header x-peer-key", "{refusal}");
    } else if path.contains("/fsi/") {
        assert_eq!(status, 200, "{method} {path}: {text}");
        let reply: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(reply["infcode"], -1, "{reply}");
        assert!(
            reply["err_msg"].as_str().unwrap().contains("infno"),
            "{reply}"
        );
    } else {
        assert_eq!(status, 200, "{method} {path}: {text}");
        assert!(!text.is_empty());
    }
}

async fn served_document(backend: Backend) {
    let (database, dir) = common::fresh_database(backend, "openapi").await;
    let config = Config {
        database,
        data_dir: dir,
        path_prefix: PREFIX.into(),
        ..Config::default()
    };
    let h = Harness::start_with(config.clone()).await;
    let response = h
        .client
        .get(format!("{}/openapi.json", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let document: Value = response.json().await.expect("the document is JSON");
    let version = document["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "openapi {version}");
    assert_contract(&config, &document);
    assert_refs_resolve(&document, &document);
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["admin_token"]["scheme"], "bearer", "{schemes}");
    for (method, path) in routed(&config) {
        let operation = &document["paths"][&path][method.to_lowercase()];
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
        if path.starts_with("/admin/") {
            assert_eq!(operation["security"], json!([{ "admin_token": [] }]));
        }
        probe(&h, &method, &path).await;
    }
    let unprefixed = h
        .client
        .post(format!("{}/fsi/api/rsfComIfsService/callService", h.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unprefixed.status(), 200);
    let reply: Value = unprefixed.json().await.unwrap();
    assert!(
        reply["err_msg"]
            .as_str()
            .unwrap()
            .starts_with("接口地址有误："),
        "the national path is served below the prefix only, the fallback names the path: {reply}"
    );
}

#[tokio::test]
async fn served_document_sqlite() {
    served_document(Backend::Sqlite).await;
}

#[tokio::test]
async fn served_document_postgres() {
    served_document(Backend::Postgres).await;
}

/// The value of an unlabelled sample of the metrics text.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
        .parse()
        .unwrap()
}

/// Ledger commits are timed and write messages in flight drop back to zero once answered.
async fn write_path_metrics(backend: Backend) {
    let h = Harness::start(backend, yibao_server::config::AuthMode::None, "wmetrics").await;
    let before = sample(&h.metrics().await, "yibao_commit_duration_seconds_count");
    let registration = json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } });
    for _ in 0..3 {
        h.ok("2201", "H36040200001", registration.clone()).await;
    }
    let metrics = h.metrics().await;
    let commits = sample(&metrics, "yibao_commit_duration_seconds_count");
    assert!(commits >= before + 1.0, "{metrics}");
    assert!(sample(&metrics, "yibao_commit_duration_seconds_sum") > 0.0);
    assert_eq!(
        sample(
            &metrics,
            "yibao_commit_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        commits
    );
    assert_eq!(sample(&metrics, "yibao_writes_in_flight"), 0.0);
    assert_eq!(sample(&metrics, "yibao_commit_failures_total"), 0.0);
}

#[tokio::test]
async fn write_path_metrics_sqlite() {
    write_path_metrics(Backend::Sqlite).await;
}

#[tokio::test]
async fn write_path_metrics_postgres() {
    write_path_metrics(Backend::Postgres).await;
}
