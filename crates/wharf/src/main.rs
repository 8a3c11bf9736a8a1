//! The `wharf` binary: parses settings, sets up logging, and runs a subcommand: `serve` (the
//! broker), `bench`, and the Kafka-protocol client tools `topic`, `group`, `produce` and
//! `consume` (one module each), which work against any Kafka-compatible broker.
//!
//! Exit status: 0 on success; 1 with one line "error: ..." on stderr otherwise, naming the
//! Kafka error code when a broker returned one; 2 for bad flags (clap).

// Issue #6: network-facing code never unwraps or panics; each `expect` left is a documented
// invariant, allowed where it stands.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod consume;
mod datetime;
mod group;
mod output;
mod produce;
mod reset_offsets;
mod settings;
mod topic;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use wharf_broker::Server;
use wharf_http::HttpServer;

use crate::settings::ServeSettings;

/// How long HTTP requests in flight get at shutdown (event streams are cut after it).
const HTTP_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Very large allocations never abort the process: see wharf_broker::alloc.
#[global_allocator]
static GLOBAL: wharf_broker::alloc::BrokerAllocator = wharf_broker::alloc::BrokerAllocator;

#[derive(Parser)]
#[command(name = "wharf", version, about = "A Kafka-protocol message broker in one binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    Serve {
        /// Optional TOML file with the same keys as the flags (kebab-case); flags and env win.
        #[arg(long, env = "WHARF_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: ServeSettings,
    },
    /// Measure a Kafka-compatible broker (this one or any other): produce, consume, end-to-end.
    Bench(wharf_bench::BenchArgs),
    /// Topics: list, describe, create, delete, alter configs.
    Topic {
        #[command(subcommand)]
        command: topic::TopicCommand,
        #[command(flatten)]
        client: output::ClientArgs,
    },
    /// Consumer groups: list, describe (offsets and lag), delete, reset offsets.
    Group {
        #[command(subcommand)]
        command: group::GroupCommand,
        #[command(flatten)]
        client: output::ClientArgs,
    },
    /// Produce one record per line of standard input.
    Produce {
        #[command(flatten)]
        args: produce::ProduceArgs,
        #[command(flatten)]
        client: output::ClientArgs,
    },
    /// Print records, one value per line.
    Consume {
        #[command(flatten)]
        args: consume::ConsumeArgs,
        #[command(flatten)]
        client: output::ClientArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The client tools print their results on stdout; only warnings belong on stderr.
    let default_level = match cli.command {
        Command::Serve { .. } | Command::Bench(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)))
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a pipe gets plain key=value text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Serve { config, settings } => serve(config, settings),
        Command::Bench(args) => bench(args),
        Command::Topic { command, client } => run_client(topic::run(&client, command)),
        Command::Group { command, client } => run_client(group::run(&client, command)),
        Command::Produce { args, client } => run_client(produce::run(&client, args)),
        Command::Consume { args, client } => run_client(consume::run(&client, args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `wharf consume ... | head`: the reader has what it wanted; as with other Unix tools
        // that is not a failure (Rust ignores SIGPIPE, so the write reports EPIPE instead).
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the whole context chain: "context: cause: broker returned ... (error code N)".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs one client tool on a single-threaded runtime: each makes one call at a time.
fn run_client(tool: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(tool)
}

fn serve(config_file: Option<PathBuf>, flags: ServeSettings) -> Result<()> {
    let settings = match &config_file {
        Some(path) => flags.over(ServeSettings::from_file(path)?),
        None => flags,
    };
    let http = settings.http_config()?;
    let config = settings.into_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wharf")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let data_dir = config.data_dir.clone();
        let server = Server::start(config).await.context("starting the broker")?;
        // The HTTP gateway binds before the Kafka listener is announced, so whoever waits for
        // "listening on" finds both up; it stops before the broker so no request outlives it.
        let gateway = match http.listen {
            Some(listen) => {
                let g = HttpServer::start(Arc::clone(&server.broker), http, listen)
                    .await
                    .context("starting the HTTP gateway")?;
                tracing::info!("wharf http on {}", g.local_addr);
                Some(g)
            }
            None => None,
        };
        tracing::info!(data_dir = %data_dir.display(), "wharf listening on {}", server.local_addr());
        server
            .run(async move {
                shutdown_signal().await;
                if let Some(g) = gateway {
                    g.shutdown(HTTP_SHUTDOWN_GRACE).await;
                }
            })
            .await;
        tracing::info!("wharf stopped");
        Ok(())
    })
}

fn bench(args: wharf_bench::BenchArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wharf-bench")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(wharf_bench::run(args)).context("benchmark failed")?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
