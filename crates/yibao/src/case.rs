//! `yibao case list|show|open|assign|review|confirm|dismiss`: the cases (案件) of fund supervision on
//! the ledger, as the admin API `/admin/cases` handles them (`yibao_ledger::audit_cases`); each
//! command prints the case as JSON (`list`: one line per case).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use yibao_audit::case::{CaseAction, CaseStatus};
use yibao_ledger::audit_cases::{self, Step};
use yibao_server::cases::{take_step, CaseStep, CaseView};

use crate::audit::LedgerArgs;

#[derive(Args)]
pub struct CaseArgs {
    #[command(subcommand)]
    command: CaseCommand,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Folder whose `sanctions.toml` gives the practitioners' points of a confirmed case
    /// [default: the shipped 九江 one].
    #[arg(long, global = true)]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum CaseCommand {
    /// The cases, one JSON line each (only those in `--status`: open, assigned, reviewed, confirmed,
    /// dismissed).
    List {
        #[arg(long)]
        status: Option<String>,
    },
    /// A case with its steps.
    Show { case_id: String },
    /// Open a case on finding `--finding` of `--month`'s stored findings (`yibao audit run --month`).
    Open {
        #[arg(long)]
        month: String,
        #[arg(long)]
        finding: i64,
        /// The institution, when the finding names several.
        #[arg(long)]
        fixmedins_code: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Assign an open or assigned case to a reviewer.
    Assign {
        case_id: String,
        #[arg(long)]
        assignee: String,
        #[command(flatten)]
        who: Who,
    },
    /// Record the review of an assigned case.
    Review {
        case_id: String,
        #[command(flatten)]
        who: Who,
    },
    /// Confirm a reviewed case: the amount becomes a deduction from the institution's payment of
    /// `--year`/`--month` (and, for 追回, a recovery credited to `--fund-pay-type`).
    Confirm {
        case_id: String,
        /// 审核扣款, 稽核扣款 or 追回.
        #[arg(long = "type")]
        confirm_type: String,
        /// Yuan, e.g. 120.50.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        insutype: String,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        month: u8,
        #[arg(long)]
        fund_pay_type: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Dismiss a case not yet confirmed.
    Dismiss {
        case_id: String,
        #[command(flatten)]
        who: Who,
    },
}

/// Who takes a step, with a note and evidence.
#[derive(Args)]
struct Who {
    #[arg(long)]
    actor: String,
    #[arg(long, default_value = "")]
    note: String,
    #[arg(long, default_value = "")]
    evidence: String,
}

impl Who {
    fn step(&self) -> CaseStep {
        CaseStep {
            actor: self.actor.clone(),
            note: self.note.clone(),
            evidence: self.evidence.clone(),
            ..CaseStep::default()
        }
    }
}

fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn print(case: audit_cases::Case) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&CaseView::of(case))?);
    Ok(())
}

pub fn run(args: &CaseArgs) -> anyhow::Result<()> {
    let policy = yibao_server::audit::load_sanctions_policy(args.rules.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = args.ledger.open().await?;
        let result = command(&store, &policy.practitioner, &args.command).await;
        store.close().await;
        result
    })
}

async fn command(
    store: &yibao_ledger::Store,
    points: &yibao_audit::sanctions::PractitionerPolicy,
    command: &CaseCommand,
) -> anyhow::Result<()> {
    let (case_id, action, request) = match command {
        CaseCommand::List { status } => return list(store, status.as_deref()).await,
        CaseCommand::Show { case_id } => {
            let mut conn = store.pool().acquire().await?;
            let case = audit_cases::case(&mut conn, case_id)
                .await?
                .with_context(|| format!("没有案件 {case_id}"))?;
            return print(case);
        }
        CaseCommand::Open {
            month,
            finding,
            fixmedins_code,
            who,
        } => {
            let step: Step = who.step().step(now_text());
            let case =
                audit_cases::open(store, month, *finding, fixmedins_code.as_deref(), &step).await?;
            return print(case);
        }
        CaseCommand::Assign {
            case_id,
            assignee,
            who,
        } => (
            case_id,
            CaseAction::Assign,
            CaseStep {
                assignee: Some(assignee.clone()),
                ..who.step()
            },
        ),
        CaseCommand::Review { case_id, who } => (case_id, CaseAction::Review, who.step()),
        CaseCommand::Dismiss { case_id, who } => (case_id, CaseAction::Dismiss, who.step()),
        CaseCommand::Confirm {
            case_id,
            confirm_type,
            amount,
            insutype,
            year,
            month,
            fund_pay_type,
            who,
        } => (
            case_id,
            CaseAction::Confirm,
            CaseStep {
                confirm_type: Some(confirm_type.clone()),
                amount: Some(amount.clone()),
                insutype: Some(insutype.clone()),
                year: Some(*year),
                month: Some(*month),
                fund_pay_type: fund_pay_type.clone(),
                ..who.step()
            },
        ),
    };
    print(take_step(store, points, case_id, action, &request, now_text()).await?)
}

async fn list(store: &yibao_ledger::Store, status: Option<&str>) -> anyhow::Result<()> {
    let status = status
        .map(|text| {
            CaseStatus::parse(text).with_context(|| {
                format!("--status {text}：须为 open、assigned、reviewed、confirmed 或 dismissed")
            })
        })
        .transpose()?;
    let mut conn = store.pool().acquire().await?;
    for case in audit_cases::cases(&mut conn, status).await? {
        println!("{}", serde_json::to_string(&CaseView::of(case))?);
    }
    Ok(())
}
