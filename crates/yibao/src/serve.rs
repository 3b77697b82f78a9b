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

/// Log lines bound for standard output, handed to a thread of their own ([`LogSink::start`]): the
/// service logs a line per message, and writing each from the task answering it would cost a system
/// call per message; the thread writes whatever lines have queued up at once, flushing whenever the
/// queue is empty, so lines are as prompt as before and come in the same order.
#[derive(Clone)]
struct LogSink {
    lines: std::sync::mpsc::SyncSender<LogItem>,
}

enum LogItem {
    Line(Vec<u8>),
    /// Everything sent before has been written and flushed: say so.
    Flushed(std::sync::mpsc::Sender<()>),
}

/// Lines queued before a sender waits for the writing thread (standard output blocked).
const LOG_QUEUE_LINES: usize = 16 * 1024;
/// How long the end of `yibao serve` waits for its last log lines to be written.
const LOG_FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl LogSink {
    /// Starts the writing thread.
    fn start() -> LogSink {
        let (lines, queued) = std::sync::mpsc::sync_channel::<LogItem>(LOG_QUEUE_LINES);
        std::thread::spawn(move || {
            use std::io::Write as _;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut next = queued.recv().ok();
            while let Some(item) = next {
                match item {
                    LogItem::Line(line) => {
                        let _ = out.write_all(&line);
                    }
                    LogItem::Flushed(done) => {
                        let _ = out.flush();
                        let _ = done.send(());
                    }
                }
                next = match queued.try_recv() {
                    Ok(item) => Some(item),
                    Err(_) => {
                        let _ = out.flush();
                        queued.recv().ok()
                    }
                };
            }
            let _ = out.flush();
        });
        LogSink { lines }
    }

    /// Waits (a little) until the lines logged so far are written.
    fn flush(&self) {
        let (done, flushed) = std::sync::mpsc::channel();
        if self.lines.send(LogItem::Flushed(done)).is_ok() {
            let _ = flushed.recv_timeout(LOG_FLUSH_WAIT);
        }
    }
}

/// One log line being formatted; queued for the writing thread when dropped.
struct LogLine {
    bytes: Vec<u8>,
    sink: LogSink,
}

impl std::io::Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            let line = std::mem::take(&mut self.bytes);
            let _ = self.sink.lines.send(LogItem::Line(line));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            bytes: Vec::new(),
            sink: self.clone(),
        }
    }
}

/// Logs to standard output through a [`LogSink`], returned to flush it at the end.
fn init_logging(format: &str) -> LogSink {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let sink = LogSink::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink.clone());
    if format == "text" {
        builder.init();
    } else {
        builder.json().init();
    }
    sink
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
    let logs = init_logging(&args.log_format);
    let served = serve(args);
    logs.flush();
    served
}

fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let config = config_of(args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    if config.regions.is_empty() {
        runtime.block_on(yibao_server::app::serve(config, shutdown_signal()))?;
    } else {
        runtime.block_on(yibao_server::region_front::serve(config, shutdown_signal()))?;
    }
    Ok(())
}
