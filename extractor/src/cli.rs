use clap::{Args, Parser, Subcommand};
use pricestream_runtime::config::GlobalArgs;
use std::path::PathBuf;

/// Reads daily OHLCV bars from data-lake sources and publishes every bar to
/// Kafka and Cassandra.
///
/// Kafka and Cassandra are found through the config file or the environment:
/// KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS (and _USERNAME / _PASSWORD),
/// PRICESTREAM_TOPIC_PREFIX, PRICESTREAM_DWH_KEYSPACE.
#[derive(Debug, Parser)]
#[command(name = "pricestream-extractor", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every file under a directory, publish and store every bar, print a summary and exit.
    Backfill(BackfillArgs),
    /// Keep running: pick up new or grown files and fetch API symbols on a schedule; serve
    /// /metrics, /healthz and /readyz. A restart resumes from what is stored, sending nothing twice.
    Follow(FollowArgs),
    /// Write deterministic synthetic daily bars as Yahoo-format CSV files (for demos and benchmarks).
    Generate(GenerateArgs),
}

/// Arguments of `backfill`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(true).args(["input", "symbols", "actions"]))]
pub struct BackfillArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Hide the progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Parse, validate, compute indicators and encode every record, but send nothing
    /// (no Kafka or Cassandra needed): measures everything but the I/O.
    #[arg(long)]
    pub dry_run: bool,

    /// Files are parsed and their tickers computed on this many lanes in parallel, each lane
    /// owning a share of the tickers (default: one per CPU core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub lanes: Option<u16>,

    /// Corporate actions to read before the bars (or alone): a CSV or Parquet file, plain or
    /// gzip, with the columns ticker, ex_date, kind (split or cash_dividend), ratio and amount
    /// (docs/sources.md), or a folder of such files. Published on <prefix>corporate-actions and
    /// stored in <dwh keyspace>.corporate_actions; refused records go to the dead-letter topic.
    /// An action that `adjustment.mode` applies restates its ticker's stored series: the bars
    /// whose adjustment factor changes and the indicator values that change are sent again.
    #[arg(long, value_name = "PATH")]
    pub actions: Option<PathBuf>,
}

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of tickers (files) to write.
    #[arg(long, default_value_t = 3)]
    pub tickers: u32,

    /// Trading days per ticker.
    #[arg(long, default_value_t = 500)]
    pub days: u32,

    /// Random seed; the same seed always writes the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// First trading day (moved forward to a weekday).
    #[arg(long, default_value = "2015-01-02")]
    pub start: chrono::NaiveDate,

    /// Directory to write `<ticker>.csv` files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `follow`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(true).args(["input", "symbols"]))]
pub struct FollowArgs {
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Where bars come from: files, the market-data API, or (with `follow`) both.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A directory, a glob (`'data/*.csv.gz'`) or one file of daily bars: CSV, gzip CSV or Parquet,
    /// laid out as `extract.format` says (Yahoo `Date,Open,High,Low,Close,Adj Close,Volume` by
    /// default); the ticker is a mapped column or the file name up to the first `-`, `_` or `.`
    /// (`nvda-1999-2014.csv` is NVDA). `follow` watches it for new and grown files.
    #[arg(long)]
    pub input: Option<PathBuf>,

    /// Fetch these symbols (comma-separated) from the market-data API (`[twelve_data]` config;
    /// the key is read from the environment variable it names, TWELVE_DATA_API_KEY by default).
    /// `follow` fetches them once at start, then at `follow.api_poll_time_utc` on weekdays.
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,

    /// With --symbols: fetch bars from this date on (default: as far back as the API gives);
    /// with `follow`, the first fetch only.
    #[arg(long, requires = "symbols")]
    pub since: Option<chrono::NaiveDate>,
}
