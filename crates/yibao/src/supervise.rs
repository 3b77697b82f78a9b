//! `yibao supervise agreement|practitioner|card|credit`: the sanctions of fund supervision on the
//! ledger, as the admin API handles them (`yibao_ledger::sanctions`, views of
//! `yibao_server::admin::sanctions`); each command prints JSON (lists: one line per item). A running
//! service sees a change within seconds.

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use serde::Serialize;
use yibao_ledger::sanctions::{
    self, AgreementRequest, PointsRequest, PractitionerRequest, SuspensionRequest,
};
use yibao_ledger::Store;
use yibao_server::admin::sanctions::{
    credit_ratings, AgreementView, PractitionerView, SuspensionView,
};
use yibao_server::sanctions::Sanctions;

use crate::audit::LedgerArgs;

#[derive(Args)]
pub struct SuperviseArgs {
    #[command(subcommand)]
    command: SuperviseCommand,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// A folder holding `sanctions.toml` (points scale, credit rating) instead of the shipped 九江 one.
    #[arg(long, global = true)]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum SuperviseCommand {
    /// Institution agreements (定点协议).
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Practitioners (医保医师) and their penalty points.
    #[command(subcommand)]
    Practitioner(PractitionerCommand),
    /// Card suspensions (暂停联网结算).
    #[command(subcommand)]
    Card(CardCommand),
    /// Institutions' credit rating from the cases confirmed in `--year`, one JSON line each.
    Credit {
        #[arg(long)]
        year: i32,
        /// Only this pooling region's institutions.
        #[arg(long, default_value = "")]
        admdvs: String,
    },
}

#[derive(Subcommand)]
enum AgreementCommand {
    /// Record a step: `--status` active (正常), suspended (暂停) or terminated (解除) from `--begndate`.
    Add {
        #[arg(long)]
        fixmedins_code: String,
        #[arg(long)]
        status: String,
        #[arg(long)]
        begndate: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        doc_no: String,
        #[arg(long)]
        operator: String,
    },
    /// Every step (of one institution).
    List {
        #[arg(long)]
        fixmedins_code: Option<String>,
    },
}

#[derive(Subcommand)]
enum PractitionerCommand {
    /// Register a practitioner by national code (`bilg_dr_codg`).
    Add {
        #[arg(long)]
        dr_code: String,
        #[arg(long)]
        dr_name: String,
        #[arg(long)]
        fixmedins_code: String,
        #[arg(long)]
        operator: String,
    },
    /// Give penalty points (1–12) for a violation on `--occurred`.
    Points {
        dr_code: String,
        #[arg(long)]
        points: u32,
        #[arg(long)]
        occurred: String,
        #[arg(long)]
        reason: String,
        /// The confirmed case the points follow from.
        #[arg(long, default_value = "")]
        case_id: String,
        #[arg(long)]
        operator: String,
    },
    /// The practitioners with their standing on `--on` (default today).
    List {
        #[arg(long, default_value = "")]
        admdvs: String,
        #[arg(long)]
        on: Option<NaiveDate>,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// Suspend a person's card from `--begndate` to `--enddate` (both included).
    Suspend {
        psn_no: String,
        #[arg(long)]
        begndate: String,
        #[arg(long)]
        enddate: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        doc_no: String,
        #[arg(long)]
        operator: String,
    },
    /// A person's suspensions.
    List { psn_no: String },
}

fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

pub fn run(args: &SuperviseArgs) -> anyhow::Result<()> {
    let policy = yibao_server::audit::load_sanctions_policy(args.rules.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = args.ledger.open().await?;
        let result = command(&store, &policy, &args.command).await;
        store.close().await;
        result
    })
}

async fn command(
    store: &Store,
    policy: &yibao_audit::sanctions::SanctionsPolicy,
    command: &SuperviseCommand,
) -> anyhow::Result<()> {
    match command {
        SuperviseCommand::Agreement(command) => agreement(store, command).await,
        SuperviseCommand::Practitioner(command) => practitioner(store, policy, command).await,
        SuperviseCommand::Card(command) => card(store, command).await,
        SuperviseCommand::Credit { year, admdvs } => {
            for rating in credit_ratings(store, policy, *year, admdvs).await? {
                line(&rating)?;
            }
            Ok(())
        }
    }
}

async fn all(store: &Store) -> anyhow::Result<sanctions::AllSanctions> {
    let mut conn = store.pool().acquire().await?;
    Ok(sanctions::load_all(&mut conn).await?)
}

async fn agreement(store: &Store, command: &AgreementCommand) -> anyhow::Result<()> {
    match command {
        AgreementCommand::Add {
            fixmedins_code,
            status,
            begndate,
            reason,
            doc_no,
            operator,
        } => {
            let request = AgreementRequest {
                fixmedins_code: fixmedins_code.clone(),
                status: status.clone(),
                begndate: begndate.clone(),
                reason: reason.clone(),
                doc_no: doc_no.clone(),
                operator: operator.clone(),
            };
            let row = sanctions::add_agreement(store, &request, &now_text()).await?;
            line(&AgreementView::of(row))
        }
        AgreementCommand::List { fixmedins_code } => {
            for row in all(store).await?.agreements {
                if fixmedins_code
                    .as_ref()
                    .is_none_or(|c| *c == row.fixmedins_code)
                {
                    line(&AgreementView::of(row))?;
                }
            }
            Ok(())
        }
    }
}

async fn practitioner(
    store: &Store,
    policy: &yibao_audit::sanctions::SanctionsPolicy,
    command: &PractitionerCommand,
) -> anyhow::Result<()> {
    let today = chrono::Local::now().date_naive();
    let (dr_code, on) = match command {
        PractitionerCommand::Add {
            dr_code,
            dr_name,
            fixmedins_code,
            operator,
        } => {
            let request = PractitionerRequest {
                dr_code: dr_code.clone(),
                dr_name: dr_name.clone(),
                fixmedins_code: fixmedins_code.clone(),
                operator: operator.clone(),
            };
            let row = sanctions::add_practitioner(store, &request, &now_text()).await?;
            (row.dr_code, today)
        }
        PractitionerCommand::Points {
            dr_code,
            points,
            occurred,
            reason,
            case_id,
            operator,
        } => {
            let request = PointsRequest {
                points: *points,
                occurred: occurred.clone(),
                reason: reason.clone(),
                case_id: case_id.clone(),
                operator: operator.clone(),
            };
            sanctions::add_points(store, dr_code, &request, &now_text()).await?;
            (dr_code.clone(), today)
        }
        PractitionerCommand::List { admdvs, on } => {
            let sanctions = Sanctions::of(all(store).await?);
            for p in sanctions.practitioners(admdvs) {
                line(&PractitionerView::of(p, policy, on.unwrap_or(today)))?;
            }
            return Ok(());
        }
    };
    let sanctions = Sanctions::of(all(store).await?);
    let p = sanctions
        .practitioner(&dr_code)
        .with_context(|| format!("医保医师 {dr_code} 未登记"))?;
    line(&PractitionerView::of(p, policy, on))
}

async fn card(store: &Store, command: &CardCommand) -> anyhow::Result<()> {
    match command {
        CardCommand::Suspend {
            psn_no,
            begndate,
            enddate,
            reason,
            doc_no,
            operator,
        } => {
            let request = SuspensionRequest {
                begndate: begndate.clone(),
                enddate: enddate.clone(),
                reason: reason.clone(),
                doc_no: doc_no.clone(),
                operator: operator.clone(),
            };
            let row = sanctions::add_suspension(store, psn_no, &request, &now_text()).await?;
            line(&SuspensionView::of(row))
        }
        CardCommand::List { psn_no } => {
            for row in all(store).await?.suspensions {
                if row.psn_no == *psn_no {
                    line(&SuspensionView::of(row))?;
                }
            }
            Ok(())
        }
    }
}
