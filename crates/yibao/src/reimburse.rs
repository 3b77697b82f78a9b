//! `yibao reimburse FILE.json` / `yibao reimburse --cancel SETL_ID`: 零星报销 at the counter through
//! a running service's admin API (`/admin/reimbursements`, whose ledger writer records it); prints
//! the receipt as text, or the JSON with `--json`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub struct ReimburseArgs {
    /// The reimbursement (fields of `POST /admin/reimbursements`), as JSON.
    #[arg(required_unless_present = "cancel", conflicts_with = "cancel")]
    file: Option<PathBuf>,
    /// Cancel the reimbursement with this `setl_id` instead.
    #[arg(long)]
    cancel: Option<String>,
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
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", answer["text"].as_str().unwrap_or_default());
    }
    Ok(())
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
