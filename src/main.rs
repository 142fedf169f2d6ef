//! The `poolgate` binary: `poolgate serve [--config poolgate.toml]`, and
//! `poolgate import-users --pool ID FILE.csv` (Cognito's CSV user import, offline).

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
    /// Import users from a CSV file in Cognito's format (GetCSVHeader's columns) into
    /// a pool of the configured store, each in RESET_REQUIRED. Run it while no gateway
    /// holds a SQLite store.
    ImportUsers {
        /// TOML settings file; POOLGATE_* variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The pool's id.
        #[arg(long)]
        pool: String,
        /// The CSV file.
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    match cli.command {
        Command::Serve { config } => serve(config, env).await,
        Command::ImportUsers { config, pool, file } => {
            import_users(config, &pool, &file, env).await
        }
    }
}

/// `poolgate import-users`: exit 0 when every row was imported, 1 when some were
/// refused (each printed), 2 when nothing could be imported.
async fn import_users(
    config: Option<PathBuf>,
    pool: &str,
    file: &std::path::Path,
    env: BTreeMap<String, String>,
) -> std::process::ExitCode {
    let fail = |m: String| {
        eprintln!("poolgate import-users: {m}");
        std::process::ExitCode::from(2)
    };
    let settings = match poolgate::config::Settings::load(config.as_deref(), &env) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let store = match poolgate::store::open(&settings.store).await {
        Ok(s) => s,
        Err(e) => return fail(with_sources(&e)),
    };
    let pool = match store.get_pool(pool).await {
        Ok(Some(p)) => p,
        Ok(None) => return fail(format!("no pool {pool:?} in the store")),
        Err(e) => return fail(with_sources(&e)),
    };
    let clock: poolgate::clock::SharedClock = std::sync::Arc::new(poolgate::clock::SystemClock);
    let bar = indicatif::ProgressBar::new(bytes.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = poolgate::admin::imports::import_csv(
        &store,
        &clock,
        &pool,
        &bytes,
        &mut |done| bar.set_position(done),
        &mut poolgate::admin::imports::futures_stop::never,
    )
    .await;
    bar.finish_and_clear();
    let report = match report {
        Ok(r) => r,
        Err(m) => return fail(format!("nothing imported: {m}")),
    };
    println!(
        "imported {}, skipped {}, failed {}",
        report.imported, report.skipped, report.failed
    );
    for r in &report.refusals {
        println!("refused line {}: {}: {}", r.line, r.user, r.reason);
    }
    if report.failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
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
