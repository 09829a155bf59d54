//! The `astra` binary: `serve` (default), `migrate`, `config check`.
// The CLI prints its results and start-up failures: that output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::{Parser, Subcommand};
use tracing_subscriber::{EnvFilter, fmt};

#[derive(Parser)]
#[command(name = "astra", version, about = "Self-hosted AI-agent gateway")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print the resolved configuration with secrets masked.
    Check,
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("ASTRA_LOG_FORMAT").is_ok_and(|v| v == "json");
    if json {
        fmt().with_env_filter(filter).json().init();
    } else {
        fmt().with_env_filter(filter).init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("astra: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = astra::Config::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let addr = format!("{}:{}", config.host, config.port);
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| anyhow::anyhow!("HOST/PORT: cannot bind {addr}: {e}"))?;
            astra::run(config, listener, astra::shutdown_signal()).await
        }
        Command::Migrate => {
            let store = astra::store::Store::connect(&(&config).into()).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.engine());
            Ok(())
        }
        Command::Config {
            action: ConfigAction::Check,
        } => {
            print!("{}", config.describe());
            Ok(())
        }
    }
}
