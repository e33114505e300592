use clap::{Args, Parser, Subcommand};
use pricestream_dataflow::config::GlobalArgs;

/// Keeps pricestream's feature mart up to date: consumes the bars and indicators
/// topics into a timely/differential dataflow that joins them incrementally, and
/// writes every changed feature row to Cassandra (`instrument_mart.features`) and
/// to the changelog topic (`pricestream.features`).
///
/// Kafka and Cassandra are found through the config file or the environment:
/// KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS (and _USERNAME / _PASSWORD),
/// PRICESTREAM_TOPIC_PREFIX, PRICESTREAM_MART_KEYSPACE.
#[derive(Debug, Parser)]
#[command(name = "pricestream-analytics", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dataflow: consume, maintain and write the feature mart until stopped (SIGINT/SIGTERM).
    Run(RunArgs),
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Timely worker threads in this process; each reads its own share of the partitions.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,

    /// This process's index in `--hosts` (0-based), when several processes form one
    /// timely cluster. Every process must run with the same `--workers` and hosts file.
    #[arg(long, requires = "hosts")]
    pub process: Option<usize>,

    /// A file listing every process of the cluster, one `host:port` per line, in process
    /// order (blank lines and `#` comments ignored). The processes connect to each other on
    /// these addresses; process I listens on line I.
    #[arg(long, requires = "process", value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,

    /// Stop once every partition is read up to the end offset it had at start
    /// (for batch runs and tests); without it the service runs until stopped.
    #[arg(long)]
    pub exit_at_end: bool,
}
