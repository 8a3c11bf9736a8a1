//! The `wharf` binary: parses settings, sets up logging, and runs a subcommand.

mod settings;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use wharf_broker::Server;

use crate::settings::ServeSettings;

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
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve { config, settings } => serve(config, settings),
        Command::Bench(args) => bench(args),
    }
}

fn serve(config_file: Option<PathBuf>, flags: ServeSettings) -> Result<()> {
    let settings = match &config_file {
        Some(path) => flags.over(ServeSettings::from_file(path)?),
        None => flags,
    };
    let config = settings.into_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wharf")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let data_dir = config.data_dir.clone();
        let server = Server::start(config).await.context("starting the broker")?;
        tracing::info!(data_dir = %data_dir.display(), "wharf listening on {}", server.local_addr());
        server.run(shutdown_signal()).await;
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
