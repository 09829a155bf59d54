//! `astra-bench`: load harness for the Astra gateway.
//!
//! `all` (or `run --scenarios …`) builds and starts the gateway, the fake upstream and the bare
//! proxy, runs the scenarios and prints the report; `fake` and `proxy` run those servers alone.

mod client;
mod conversation;
mod fake;
mod gateway;
mod hold;
mod load;
mod procs;
mod proxy;
mod report;
mod run;
mod scenarios;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(name = "astra-bench", about = "Load harness for the Astra gateway")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every scenario on SQLite and PostgreSQL, pinned and unpinned (options as for `run`).
    All(run::Opts),
    /// Selected scenarios (`--scenarios chat,stream`, default all).
    Run(run::Opts),
    /// Serve the fake OpenAI upstream.
    Fake {
        /// Port on 127.0.0.1 (0: any; the address is printed).
        #[arg(long, default_value_t = 9100)]
        port: u16,
        #[command(flatten)]
        config: fake::FakeConfig,
    },
    /// Serve the bare pass-through proxy.
    Proxy {
        /// Port on 127.0.0.1 (0: any; the address is printed).
        #[arg(long, default_value_t = 9101)]
        port: u16,
        /// Upstream OpenAI base URL, e.g. `http://127.0.0.1:9100/v1`.
        #[arg(long)]
        upstream: String,
    },
}

async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    // The parent reads this line to learn the port (Rust's stdout is line-buffered).
    println!("{}{}", procs::LISTENING, listener.local_addr()?);
    Ok(listener)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::All(mut opts) => {
            opts.scenarios.clear();
            run::suite(opts).await
        }
        Cmd::Run(opts) => run::suite(opts).await,
        Cmd::Fake { port, config } => {
            procs::raise_nofile(200_000);
            fake::serve(bind(port).await?, config).await
        }
        Cmd::Proxy { port, upstream } => {
            procs::raise_nofile(200_000);
            proxy::serve(bind(port).await?, &upstream).await
        }
    }
}
