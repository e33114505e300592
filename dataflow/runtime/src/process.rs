//! How both binaries start and end: the allocator's pages, the command line, logging, and
//! the exit status of the command that ran.

use crate::allocator::{self, Pages};
use crate::config::GlobalArgs;
use crate::telemetry::init_logging;
use std::process::ExitCode;

/// Configures the allocator for `pages`, parses the command line into `C` and starts logging
/// in the format its [`GlobalArgs`] (found by `global`) ask for.
pub fn start<C: clap::Parser>(pages: Pages, global: impl Fn(&C) -> &GlobalArgs) -> C {
    allocator::configure(pages);
    let cli = C::parse();
    init_logging(global(&cli).log_format);
    cli
}

/// The exit status of a command that ended with `result`; an error is printed to stderr with
/// its causes (`{:#}`).
pub fn exit_status(result: Result<(), impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
