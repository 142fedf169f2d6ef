//! The `poolgate` binary: `poolgate serve [--config poolgate.toml]`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc: a request allocates and frees many small strings and JSON values on two
/// or more threads; glibc's allocator spent about a tenth of the CPU of a sign-in.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "poolgate", version, about = "Self-hosted federation gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// TOML settings file; POOLGATE_* variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    match cli.command {
        Command::Serve { config } => serve(config, env).await,
    }
}

async fn serve(config: Option<PathBuf>, env: BTreeMap<String, String>) -> std::process::ExitCode {
    let settings = match poolgate::config::Settings::load(config.as_deref(), &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("poolgate: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let running = match poolgate::server::start(settings, &env).await {
        Ok(r) => r,
        Err(e) => {
            let e = with_sources(&e);
            tracing::error!("{e}");
            eprintln!("poolgate: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    // libxmlsec1 prints to stderr: from here on those lines go to the log.
    if let Err(e) = poolgate::provider::protocol::saml::stderr::route_stderr_to_log() {
        tracing::warn!(error = %e, "stderr stays unrouted");
    }
    wait_for_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// An error and what caused it, joined by ": " ("POOLGATE_STORE: store unavailable:
/// data/poolgate.db is locked by another poolgate process ..."), each cause once.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}
