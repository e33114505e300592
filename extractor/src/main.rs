//! `pricestream-extractor`: reads daily OHLCV bars from data-lake sources and
//! publishes them to Kafka and Cassandra. Run with `--help` for the commands.

mod backfill;
mod cli;
mod config;
mod follow;
mod generate;

use cli::{Cli, Command};
use pricestream_runtime::allocator::Pages;
use pricestream_runtime::config::{ProcessEnv, load};
use pricestream_runtime::process::{exit_status, start};
use std::process::ExitCode;

/// mimalloc: see `pricestream_runtime::allocator`.
#[global_allocator]
static HEAP: pricestream_runtime::allocator::Heap = pricestream_runtime::allocator::Heap;

fn main() -> ExitCode {
    pricestream_runtime::telemetry::set_git_sha(env!("PRICESTREAM_GIT_SHA"));
    // Small pages: its heap is small and sparse (see the allocator module).
    let cli: Cli = start(Pages::Small, |cli: &Cli| &cli.global);
    exit_status(run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Generate(args) => generate::run(&args),
        Command::Backfill(args) => {
            let config: config::ExtractorConfig = load(cli.global.config.as_deref(), &ProcessEnv)?;
            tokio::runtime::Runtime::new()?.block_on(backfill::run(&config, &args))
        }
        Command::Follow(args) => {
            let config: config::ExtractorConfig = load(cli.global.config.as_deref(), &ProcessEnv)?;
            tokio::runtime::Runtime::new()?.block_on(follow::run(&config, &args))
        }
    }
}
