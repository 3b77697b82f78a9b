//! `yibao reimburse FILE.json` / `yibao reimburse --cancel SETL_ID`: 零星报销 at the counter through
//! a running service's admin API (`/admin/reimbursements`, whose ledger writer records it); prints
//! the receipt as text, or the JSON with `--json`. `--show SETL_ID` prints a stored receipt again;
//! `--list [--psn-no P] [--from D] [--to D]` the register, one line per entry.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub struct ReimburseArgs {
    /// The reimbursement (fields of `POST /admin/reimbursements`), as JSON.
    #[arg(required_unless_present_any = ["cancel", "show", "list"], conflicts_with_all = ["cancel", "show", "list"])]
    file: Option<PathBuf>,
    /// Cancel the reimbursement with this `setl_id` instead.
    #[arg(long, conflicts_with_all = ["show", "list"])]
    cancel: Option<String>,
    /// Print the stored receipt of this `setl_id` (a reimbursement or a cancellation).
    #[arg(long, conflicts_with = "list")]
    show: Option<String>,
    /// List the register (every reimbursement and cancellation, in ledger order).
    #[arg(long)]
    list: bool,
    /// With `--list`: one person's entries.
    #[arg(long, requires = "list")]
    psn_no: Option<String>,
    /// With `--list`: settled on or after this day (`yyyy-MM-dd`).
    #[arg(long, requires = "list")]
    from: Option<String>,
    /// With `--list`: settled on or before this day (`yyyy-MM-dd`).
    #[arg(long, requires = "list")]
    to: Option<String>,
    /// The service's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "YIBAO_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Print the receipt as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &ReimburseArgs) -> anyhow::Result<()> {
    if args.list {
        return list(args);
    }
    if let Some(setl_id) = &args.show {
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        let answer = runtime.block_on(get(args, &format!("/admin/reimbursements/{setl_id}")))?;
        return print_receipt(args, &answer);
    }
    let (path, body) = match (&args.file, &args.cancel) {
        (_, Some(setl_id)) => (
            format!("/admin/reimbursements/{setl_id}/cancel"),
            "{}".into(),
        ),
        (Some(file), None) => (
            "/admin/reimbursements".to_string(),
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        ),
        (None, None) => bail!("name a FILE.json or --cancel SETL_ID"),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (status, answer) = runtime.block_on(post(args, &path, body))?;
    if !status.is_success() {
        let error = answer["error"].as_str().unwrap_or_default();
        bail!("{status}: {error}");
    }
    print_receipt(args, &answer)
}

fn print_receipt(args: &ReimburseArgs, receipt: &Value) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(receipt)?);
    } else {
        print!("{}", receipt["text"].as_str().unwrap_or_default());
    }
    Ok(())
}

/// Prints every page of the register: one line per entry, or the pages' entries as JSON.
fn list(args: &ReimburseArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut filters = Vec::new();
    for (name, value) in [
        ("psn_no", &args.psn_no),
        ("from", &args.from),
        ("to", &args.to),
    ] {
        if let Some(value) = value {
            filters.push(format!("{name}={value}"));
        }
    }
    let mut entries = Vec::new();
    let mut offset = Some(0);
    while let Some(at) = offset {
        let mut query = filters.clone();
        query.push(format!("limit=1000&offset={at}"));
        let page = runtime.block_on(get(
            args,
            &format!("/admin/reimbursements?{}", query.join("&")),
        ))?;
        entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
        offset = page["next_offset"].as_u64();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    println!("setl_id\tkind\tpsn_no\tinvono\tsetl_time\tmedfee_sumamt\tfund_pay_sumamt\tpsn_cash_pay\tcancelled_by / orig_setl_id");
    for e in &entries {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let link = if e["kind"] == "cancel" {
            &e["orig_setl_id"]
        } else {
            &e["cancelled_by"]
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            text(&e["setl_id"]),
            text(&e["kind"]),
            text(&e["psn_no"]),
            text(&e["invono"]),
            text(&e["setl_time"]),
            text(&e["setlinfo"]["medfee_sumamt"]),
            text(&e["setlinfo"]["fund_pay_sumamt"]),
            text(&e["setlinfo"]["psn_cash_pay"]),
            text(link),
        );
    }
    Ok(())
}

/// An admin GET: the answer, or the service's refusal as an error.
async fn get(args: &ReimburseArgs, path: &str) -> anyhow::Result<Value> {
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new().get(&url);
    if let Some(token) = &args.admin_token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .with_context(|| format!("reading the answer of GET {url}"))?;
    if !status.is_success() {
        bail!("{status}: {}", answer["error"].as_str().unwrap_or_default());
    }
    Ok(answer)
}

async fn post(
    args: &ReimburseArgs,
    path: &str,
    body: String,
) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = &args.admin_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let answer = response
        .json()
        .await
        .with_context(|| format!("reading the answer of POST {url}"))?;
    Ok((status, answer))
}
