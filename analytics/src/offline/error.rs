//! What can go wrong in `backtest` and `train`.

use pricestream_cassandra::CassandraError;
use pricestream_model::ModelError;
use pricestream_sources::SourceError;
use std::path::PathBuf;

/// Why `backtest` or `train` could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ModelCommandError {
    /// Neither the command line nor the config names a scope.
    #[error("name a ticker (--ticker NVDA) or --global; the config's `model.scope` is per_ticker")]
    NoScope,
    /// An input file or folder cannot be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The input names no data file.
    #[error("{0}: no data files there (expected .csv, .csv.gz, .parquet)")]
    NoFiles(PathBuf),
    /// The rows of the requested ticker (or of any ticker) are missing.
    #[error("no rows for {what}{known}")]
    NoRows {
        /// What was looked for.
        what: String,
        /// The tickers that do have rows, as a readable suffix.
        known: String,
    },
    /// Reading the mart or storing the model failed (boxed: the driver's errors are large).
    #[error(transparent)]
    Cassandra(Box<CassandraError>),
    /// Training or backtesting failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The chart cannot be drawn or written.
    #[error("cannot write the chart {path}: {message}")]
    Chart {
        /// The PNG file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The chart was asked for a global model.
    #[error("--chart draws one ticker's forecasts; use it with --ticker")]
    ChartNeedsTicker,
    /// The model version asked for is not stored.
    #[error("no model {scope} version {version} in the models table")]
    NoModel {
        /// The scope.
        scope: String,
        /// The version, or `newest`.
        version: String,
    },
    /// The XGBoost-format export cannot be written.
    #[error("cannot write the XGBoost model {path}: {source}")]
    Export {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime for Cassandra cannot start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl From<CassandraError> for ModelCommandError {
    fn from(error: CassandraError) -> Self {
        ModelCommandError::Cassandra(Box::new(error))
    }
}
