//! `pricestream-analytics`: keeps the feature mart up to date from Kafka with a
//! timely dataflow and writes it to Cassandra, and backtests and trains the
//! forecasting model. Run with `--help` for the commands.

mod cli;
mod config;
mod discovery;
mod offline;
mod prune;
mod query;
mod run;

use cli::{Cli, Command};
use pricestream_runtime::allocator::Pages;
use pricestream_runtime::config::{ProcessEnv, load};
use pricestream_runtime::process::{exit_status, start};
use std::process::ExitCode;

/// Logs a panic as a structured error line before the default report. Timely's network
/// threads panic when a peer process of the cluster disappears; say what that means.
fn explain_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or_default().to_owned();
        if location.contains("timely_communication") {
            // The network threads are named after the peer process they talk to.
            let peer = thread.rsplit('-').next().unwrap_or("?").to_owned();
            tracing::error!(%location, peer_process = %peer, thread = %thread, "Lost the connection to timely process {peer} (it stopped, crashed or was cut off); exiting so the cluster restarts together. {info}");
            // Nothing is committed after this: the cluster's barrier cannot pass without the peer.
            std::process::exit(1);
        }
        tracing::error!(%location, "Internal error: {info}");
        default(info);
    }));
}

/// mimalloc on huge pages: see `pricestream_runtime::allocator`.
#[global_allocator]
static HEAP: pricestream_runtime::allocator::Heap = pricestream_runtime::allocator::Heap;

fn main() -> ExitCode {
    pricestream_runtime::telemetry::set_git_sha(env!("PRICESTREAM_GIT_SHA"));
    let cli: Cli = start(Pages::Huge, |cli: &Cli| &cli.global);
    explain_panics();
    let config = || load(cli.global.config.as_deref(), &ProcessEnv).map_err(anyhow::Error::from);
    let result = match &cli.command {
        Command::Run(args) => config().and_then(|config| run::run(args.device.apply(config), args)),
        Command::Backtest(args) => config().and_then(|config| {
            offline::backtest(&args.device.apply(config), args).map_err(anyhow::Error::from)
        }),
        Command::Train(args) => config()
            .and_then(|config| offline::train(&args.device.apply(config), args).map_err(anyhow::Error::from)),
        Command::Export(args) => {
            config().and_then(|config| offline::export(&config, args).map_err(anyhow::Error::from))
        }
        Command::Query(args) => config().and_then(|config| query::run(&config, args)),
        Command::PruneHistory(args) => config().and_then(|config| prune::run(&config, args)),
    };
    exit_status(result)
}
