use crate::telemetry::LogFormat;
use clap::Args;
use std::path::PathBuf;

/// The options every pricestream binary takes, before or after its subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// TOML config file (see docs/configuration.md); defaults reach local services.
    #[arg(long, global = true, env = "PRICESTREAM_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text", env = "PRICESTREAM_LOG_FORMAT")]
    pub log_format: LogFormat,
}
