use crate::config::AnalyticsConfig;
use clap::{Args, Parser, Subcommand};
use pricestream_model::Device;
use pricestream_runtime::config::GlobalArgs;
use std::path::PathBuf;

/// Keeps pricestream's feature mart up to date: consumes the bars and indicators
/// topics into a timely/differential dataflow that joins them incrementally, and
/// writes every changed feature row to Cassandra (`instrument_mart.features`) and
/// to the changelog topic (`pricestream.features`). `backtest` and `train` evaluate
/// and train the forecasting model on the mart (or on CSV files, without services).
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
    /// Walk-forward backtest of the forecasting model against the persistence baseline
    /// (forecast = today's close): prints RMSE, MAE, MAPE and directional accuracy of both,
    /// and says plainly when the model does not beat the baseline.
    ///
    /// The split and hyperparameters come from the config file's `[model]` section: a model
    /// is trained on the first `warmup_bars` dates, predicts the next `retrain_every_bars`,
    /// is retrained on everything known by then, and so on.
    #[command(after_help = "Examples:\n  \
        pricestream-analytics backtest --ticker NVDA\n  \
        pricestream-analytics backtest --input data/nvda-1999-2014.csv --chart nvda.png\n  \
        pricestream-analytics --config analytics.toml backtest --global --input data/")]
    Backtest(BacktestArgs),
    /// Train the forecasting model on every labelled row and store it as a new version in
    /// `instrument_mart.models` (with its walk-forward backtest metrics); prints the version.
    #[command(after_help = "Examples:\n  \
        pricestream-analytics train --ticker NVDA\n  \
        pricestream-analytics train --global\n  \
        pricestream-analytics train --ticker NVDA --input data/nvda-1999-2014.csv")]
    Train(TrainArgs),
    /// Write a stored model version (the newest unless --version) to a file in XGBoost's JSON
    /// model format, for Python's `xgboost.Booster(model_file=...)`.
    #[command(after_help = "Examples:\n  \
        pricestream-analytics export --ticker NVDA --out nvda.json\n  \
        pricestream-analytics export --global --version 3 --out global-3.json")]
    Export(ExportArgs),
    /// Read the mart's rows out, now or as they were known at an instant (`--as-of`), as
    /// Parquet, CSV or JSON lines, named as on the changelog topic: no CQL needed.
    ///
    /// `features` is the mart (`instrument_mart.features`); `training-set` its rows that have a
    /// label, as the model trains on them; `predictions` the forecasts, one per as-of date. With
    /// `--as-of` the rows come from the history (`features_history`, `predictions_history`): each
    /// row as its newest version known at that instant, with the version's `knownFrom`
    /// (`known_from` for forecasts); a row not yet known, or deleted by then, is left out. The format
    /// follows the extension of `--out` (`.parquet`, `.csv`, `.json`), else `--format`, else
    /// CSV on standard output. Daily series only.
    #[command(after_help = "Examples:\n  \
        pricestream-analytics query features --ticker NVDA --out nvda.parquet\n  \
        pricestream-analytics query features --ticker NVDA --from 2014-01-01 --to 2014-06-30\n  \
        pricestream-analytics query features --all --as-of 2026-12-01T00:00:00Z --out mart.parquet\n  \
        pricestream-analytics query training-set --tickers universe.txt --as-of 2026-12-01 --out train.parquet")]
    Query(QueryArgs),
    /// Remove the history's versions that were superseded more than `[history] retention_days`
    /// (or --older-than-days) ago. Every `query --as-of` at or after that horizon reads what it
    /// read before; each row keeps the version that was current at the horizon. Run it from
    /// cron or a Kubernetes CronJob.
    #[command(after_help = "Examples:\n  \
        pricestream-analytics prune-history                      # [history] retention_days of the config\n  \
        pricestream-analytics prune-history --older-than-days 365")]
    PruneHistory(PruneArgs),
}

/// Arguments of `prune-history`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The horizon in days before now (default: `[history] retention_days`; 0 there keeps
    /// everything).
    #[arg(long, value_name = "DAYS")]
    pub older_than_days: Option<u32>,
}

/// What `query` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryWhat {
    /// The feature rows.
    Features,
    /// The feature rows that have a label.
    TrainingSet,
    /// The forecasts (`instrument_mart.predictions`), named as on the predictions topic.
    Predictions,
    /// The bars as delivered (`instrument_data.time_series_history`), named as on the bars topic.
    Bars,
    /// The indicator values of the warehouse's seven tables, one row per indicator and bar,
    /// named as on the indicators topic.
    Indicators,
    /// The corporate actions (`instrument_data.corporate_actions`), named as on their topic.
    Actions,
}

impl QueryWhat {
    /// Whether the rows come from the warehouse, which keeps no versions (no `--as-of`).
    pub fn in_warehouse(self) -> bool {
        matches!(self, QueryWhat::Bars | QueryWhat::Indicators | QueryWhat::Actions)
    }
}

/// Arguments of `query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// What to read.
    #[arg(value_enum)]
    pub what: QueryWhat,
    /// A ticker to read (repeatable).
    #[arg(long, value_name = "TICKER")]
    pub ticker: Vec<String>,
    /// A file of tickers to read, one per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    pub tickers: Option<std::path::PathBuf>,
    /// Every ticker the table holds, read in pieces of the token ring with a progress bar.
    #[arg(long)]
    pub all: bool,
    /// The first date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// The last date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// The rows as pricestream knew them at this instant: RFC 3339 (2026-12-07T18:00:00Z) or a
    /// date (its midnight UTC).
    #[arg(long, value_parser = crate::query::parse_instant)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// The output format (default: from the extension of --out, else csv).
    #[arg(long, value_enum)]
    pub format: Option<crate::query::Format>,
    /// The file to write (default: standard output; Parquet needs a file).
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// One ticker's model.
    #[arg(long, conflicts_with = "global", value_name = "TICKER")]
    pub ticker: Option<String>,

    /// The global model. Without --ticker or --global, `model.scope` of the config decides.
    #[arg(long)]
    pub global: bool,

    /// The version (default: the newest stored).
    #[arg(long)]
    pub version: Option<i32>,

    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Which rows the model is trained and evaluated on.
#[derive(Debug, Args)]
pub struct ModelInput {
    /// One ticker's model (per-ticker scope), trained and evaluated on that ticker's rows.
    #[arg(long, conflicts_with = "global", value_name = "TICKER")]
    pub ticker: Option<String>,

    /// One model over every ticker's rows (global scope). Without --ticker or --global,
    /// `model.scope` of the config decides (`per_ticker` then needs --ticker).
    #[arg(long)]
    pub global: bool,

    /// Read daily bars from Yahoo-format CSV files (`Date,Open,High,Low,Close,Adj Close,Volume`;
    /// plain or gzip; a file, a folder or a glob; the ticker comes from the file name, e.g.
    /// nvda-1999-2014.csv) and compute the mart rows from them with the default indicator
    /// periods, instead of reading `instrument_mart.features` from Cassandra. `backtest` then
    /// needs no service at all.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub input: Option<PathBuf>,
}

/// Where models are trained; overrides `model.device` of the config.
#[derive(Debug, Args)]
pub struct DeviceArg {
    /// `cpu`, `cuda` (an error without a usable GPU) or `auto` (CUDA when a GPU opens, else
    /// the CPU, logged). Default: `model.device` of the config (`cpu`).
    #[arg(long, value_enum)]
    pub device: Option<Device>,
}

impl DeviceArg {
    /// `config` with this device, when one was given.
    pub fn apply(&self, mut config: AnalyticsConfig) -> AnalyticsConfig {
        if let Some(device) = self.device {
            config.model.params.device = device;
        }
        config
    }
}

/// Arguments of `backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Rows and scope.
    #[command(flatten)]
    pub input: ModelInput,

    /// Training device.
    #[command(flatten)]
    pub device: DeviceArg,

    /// Also write a 1200×600 PNG chart of the predicted and the actual close of every
    /// predicted row (per-ticker scope only).
    #[arg(long, value_name = "FILE.png")]
    pub chart: Option<PathBuf>,
}

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Rows and scope.
    #[command(flatten)]
    pub input: ModelInput,

    /// Training device.
    #[command(flatten)]
    pub device: DeviceArg,

    /// Store the model without running the walk-forward backtest first (its metrics columns
    /// stay empty).
    #[arg(long)]
    pub skip_backtest: bool,

    /// Also write the model to this file in XGBoost's JSON model format, for Python's
    /// `xgboost.Booster(model_file=...)` (inputs named as in docs/model.md).
    #[arg(long, value_name = "FILE")]
    pub xgboost_out: Option<std::path::PathBuf>,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Device of the model stage's trainings.
    #[command(flatten)]
    pub device: DeviceArg,

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
