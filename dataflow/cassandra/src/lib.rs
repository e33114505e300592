//! Cassandra: the session, the schema of every table, and typed writers.
//! Table layouts and why their keys are chosen so are in `docs/tables.md`.
//!
//! ```
//! use pricestream_cassandra::{dwh_statements, mart_statements};
//! use pricestream_runtime::config::CassandraConfig;
//!
//! // The CQL each service runs at start (`CREATE … IF NOT EXISTS`), one table per indicator.
//! let config = CassandraConfig::default();
//! let dwh = dwh_statements(&config);
//! assert!(dwh.iter().any(|cql| cql.contains("instrument_data.macd (")));
//! assert!(mart_statements(&config).iter().any(|cql| cql.contains("instrument_mart.features (")));
//! ```

mod bars;
mod batch;
mod cells;
mod corporate_actions;
mod data_quality;
mod decimal;
mod fault;
mod feature_history;
mod features;
mod generations;
mod history_prune;
mod indicators;
mod mart;
mod mart_row;
mod models;
mod prediction_history;
mod prediction_reads;
mod predictions;
mod requests;
mod schema;
mod series_settings;
mod session;
mod statements;
mod ticker_rows;
mod tls;
mod tokens;
mod warehouse_reads;

pub use bars::BarTable;
pub use batch::{BatchLimits, PartitionRows, SeriesKey, group_by_partition, write_partitions};
pub use corporate_actions::CorporateActionTable;
pub use data_quality::DataQualityTable;
pub use decimal::{decimal_to_f64, f64_to_decimal};
pub use feature_history::{FeatureHistoryTable, FeatureVersion, StoredFeatureVersion, StoredVersion};
pub use features::FeatureTable;
pub use generations::GenerationTable;
pub use history_prune::{HistoryDeletes, HistoryTable, VersionKey};
pub use indicators::{IndicatorTables, table_of};
pub use mart::MartReader;
pub use mart_row::{Replaces, columns as feature_columns};
pub use models::ModelTable;
// The types of a stored model version are the model crate's; here for the table's users.
pub use prediction_history::PredictionHistoryTable;
pub use prediction_reads::{PredictionReader, StoredPrediction};
pub use predictions::PredictionTable;
pub use pricestream_model::{BacktestSummary, ModelRecord, ModelScope, StoredModel};
pub use schema::{create_dwh_schema, create_mart_schema, dwh_statements, mart_statements};
pub use series_settings::SeriesSettingsTable;
pub use session::connect;
pub use tokens::token_ranges;
pub use warehouse_reads::{StoredIndicator, WarehouseReader};

pub use fault::{cassandra_fault, prepare_fault};
use pricestream_runtime::fault::{Dependency, Fault};

/// Why a Cassandra operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CassandraError {
    /// No contact point answered.
    #[error("cannot connect to Cassandra at {contact_points}: {source}{}", connect_hint(.source))]
    Connect {
        /// The configured contact points.
        contact_points: String,
        /// The driver's error.
        #[source]
        source: scylla::errors::NewSessionError,
    },
    /// The `[cassandra.tls]` settings could not be turned into a TLS configuration.
    #[error("cassandra.tls: {0}")]
    Tls(String),
    /// A schema statement failed.
    #[error("schema statement failed: {statement}: {source}")]
    Schema {
        /// The CQL.
        statement: String,
        /// The driver's error.
        #[source]
        source: scylla::errors::ExecutionError,
    },
    /// Preparing a statement failed.
    #[error("cannot prepare `{statement}`: {source}")]
    Prepare {
        /// The CQL.
        statement: String,
        /// The driver's error.
        #[source]
        source: scylla::errors::PrepareError,
    },
    /// Writing a row failed.
    #[error("cannot write {table} row {key}: {source}")]
    Write {
        /// Keyspace and table.
        table: String,
        /// The row's primary key, readable.
        key: String,
        /// The driver's error.
        #[source]
        source: scylla::errors::ExecutionError,
    },
    /// A read request failed (no answer, a timeout, a node restarting).
    #[error("cannot read {table}: {message}")]
    Read {
        /// Keyspace and table.
        table: String,
        /// The driver's error.
        message: String,
    },
    /// The rows read do not have the types this build expects (a table of another version).
    #[error("{table} does not hold what this build expects: {message}")]
    Decode {
        /// Keyspace and table.
        table: String,
        /// The driver's error.
        message: String,
    },
    /// A stored row cannot be used (a saved model that does not load, …).
    #[error("{table} row {key} cannot be used: {message}")]
    BadRow {
        /// Keyspace and table.
        table: String,
        /// The row's primary key, readable.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Other writers kept taking the next model version.
    #[error(
        "could not claim a new version of `{scope}` in {table} after {attempts} attempts; other trainers keep storing models of this scope"
    )]
    VersionConflict {
        /// Keyspace and table.
        table: String,
        /// The model scope.
        scope: String,
        /// How many versions were tried.
        attempts: usize,
    },
    /// A number cannot be stored as a CQL decimal.
    #[error("{0} cannot be stored as a decimal")]
    Decimal(f64),
}

/// A result whose error is, unless said otherwise, a [`CassandraError`].
pub type Result<T, E = CassandraError> = std::result::Result<T, E>;

impl pricestream_runtime::fault::DependencyError for CassandraError {
    const DEPENDENCY: Dependency = Dependency::Cassandra;

    fn fault(&self) -> Fault {
        CassandraError::fault(self)
    }
}

impl CassandraError {
    /// Whether waiting can fix this error (see [`pricestream_runtime::fault`]).
    pub fn fault(&self) -> Fault {
        match self {
            CassandraError::Connect { source, .. } => {
                let text = source.to_string().to_ascii_lowercase();
                // Wrong credentials or a certificate the client does not trust stay wrong.
                if ["authenticat", "credentials", "certificate"].iter().any(|word| text.contains(word)) {
                    Fault::Fatal
                } else {
                    Fault::Transient
                }
            }
            // A schema statement or a prepare that Cassandra refuses is a schema problem.
            CassandraError::Schema { source, .. } => transient_or_fatal(cassandra_fault(source)),
            CassandraError::Prepare { source, .. } => transient_or_fatal(prepare_fault(source)),
            CassandraError::Write { source, .. } => cassandra_fault(source),
            CassandraError::Read { .. } => Fault::Transient,
            CassandraError::Decimal(_) => Fault::Refused,
            CassandraError::Tls(_) => Fault::Fatal,
            CassandraError::Decode { .. }
            | CassandraError::BadRow { .. }
            | CassandraError::VersionConflict { .. } => Fault::Fatal,
        }
    }
}

/// What to look at after a failed connection: the TLS settings for a certificate refused,
/// whether Cassandra runs otherwise.
fn connect_hint(source: &scylla::errors::NewSessionError) -> &'static str {
    if source.to_string().contains("certificate") {
        "; check [cassandra.tls] (ca_file, verify_hostname) against the nodes' certificates"
    } else {
        "; is it running? (scripts/services status)"
    }
}

fn transient_or_fatal(fault: Fault) -> Fault {
    if fault == Fault::Transient { Fault::Transient } else { Fault::Fatal }
}
