//! `yibao serve`: the settlement service over HTTP.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use yibao_server::config::{AuthMode, Config};

/// Options of `yibao serve` (they override the config file and `YIBAO_*` variables).
#[derive(Args)]
pub struct ServeArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` (or `sqlite:…`) instead of the embedded database.
    #[arg(long)]
    pub database: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Gateway authentication: none, csb or tif.
    #[arg(long)]
    pub auth: Option<String>,
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve the admin API without a token (local development only; otherwise set YIBAO_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_open: bool,
    /// Log lines as JSON (default) or plain text.
    #[arg(long, default_value = "json")]
    pub log_format: String,
}

fn config_of(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(database) = &args.database {
        config.database = database.clone();
    }
    if let Some(listen) = &args.listen {
        config.listen = listen.clone();
    }
    if let Some(auth) = &args.auth {
        config.auth = AuthMode::parse(auth)?;
    }
    if args.admin_open {
        config.admin_open = true;
    }
    Ok(config)
}

fn init_logging(format: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "text" {
        builder.init();
    } else {
        builder.json().init();
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

/// Runs the service (or, with `[[regions]]`, the front of the region services) until SIGINT /
/// SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.log_format);
    let config = config_of(args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    if config.regions.is_empty() {
        runtime.block_on(yibao_server::app::serve(config, shutdown_signal()))?;
    } else {
        runtime.block_on(yibao_server::region_front::serve(config, shutdown_signal()))?;
    }
    Ok(())
}
