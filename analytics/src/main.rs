//! `pricestream-analytics`: keeps the feature mart up to date from Kafka with a
//! timely dataflow and writes it to Cassandra. Run with `--help` for the commands.

mod cli;
mod config;
mod discovery;
mod metrics;
mod run;

use clap::Parser;
use cli::{Cli, Command};
use pricestream_dataflow::config::{ProcessEnv, load};
use pricestream_dataflow::telemetry::init_logging;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.log_format);
    let result = match cli.command {
        Command::Run(args) => load(cli.global.config.as_deref(), &ProcessEnv)
            .map_err(anyhow::Error::from)
            .and_then(|config| run::run(config, &args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
