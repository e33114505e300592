//! `predictions_history`: every forecast issued, with the time pricestream knew it.
//!
//! Keyed `((ticker, timeframe, year), as_of, known_from)`, one partition per series and calendar
//! year of the as-of date; a forecast issued again for a day (a restated row, a new model) is a
//! new version, and each version is valid until the next one's `known_from`.

use super::CassandraError;
use super::predictions::{COLUMNS, PredictionValues};
use super::statements::{insert_cql, newest_version_cql, prepare};
use crate::Result;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use pricestream_records::Prediction;
use scylla::SerializeRow;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// The `CREATE TABLE` of `keyspace.predictions_history`: the forecast's columns, with the
/// year and `known_from` in the key.
pub(crate) fn predictions_history_table(keyspace: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {keyspace}.predictions_history (\n    ticker text,\n    timeframe text,\n    \
         year int,\n    as_of date,\n    known_from timestamp,\n{}\n    \
         PRIMARY KEY ((ticker, timeframe, year), as_of, known_from)\n) WITH CLUSTERING ORDER BY (as_of ASC, known_from ASC)",
        super::predictions::VALUE_COLUMNS
    )
}

/// The bound values of one version.
#[derive(SerializeRow)]
struct VersionValues<'a> {
    #[scylla(flatten)]
    prediction: PredictionValues<'a>,
    year: i32,
    known_from: DateTime<Utc>,
}

/// Writes `predictions_history`.
pub struct PredictionHistoryTable {
    session: Arc<Session>,
    insert: PreparedStatement,
    newest: PreparedStatement,
    table: String,
    max_in_flight: usize,
}

impl PredictionHistoryTable {
    /// Prepares the insert against `keyspace.predictions_history`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, max_in_flight: usize) -> Result<Self> {
        let table = format!("{keyspace}.predictions_history");
        let insert = prepare(&session, insert_cql(&table, &format!("{COLUMNS}, year, known_from"))).await?;
        let newest = prepare(&session, newest_version_cql(&table, STORED, "as_of")).await?;
        Ok(PredictionHistoryTable { session, insert, newest, table, max_in_flight: max_in_flight.max(1) })
    }

    /// Writes each forecast as a version known from `known_from`; returns how many. Writing a
    /// version again leaves the table as it was.
    pub async fn write<'a>(
        &self,
        predictions: &[&'a Prediction],
        known_from: DateTime<Utc>,
    ) -> Result<usize> {
        let bind = |p: &&'a Prediction| VersionValues {
            prediction: PredictionValues::from(*p),
            year: p.as_of.year(),
            known_from,
        };
        let key = |p: &&Prediction| super::predictions::key(p);
        let (session, table) = (&self.session, &self.table);
        super::requests::execute_each(
            session,
            &self.insert,
            predictions,
            bind,
            key,
            table,
            self.max_in_flight,
        )
        .await
    }

    /// For each forecast, the `known_from` of its day's newest stored version when that one is
    /// the same forecast.
    pub async fn stored_as_newest(&self, predictions: &[&Prediction]) -> Result<Vec<Option<DateTime<Utc>>>> {
        stream::iter(predictions)
            .map(|p| async move {
                let values = (p.ticker.as_str(), p.timeframe.as_str(), p.as_of.year(), p.as_of);
                let failed = |message: String| CassandraError::Read { table: self.table.clone(), message };
                let result = self
                    .session
                    .execute_unpaged(&self.newest, values)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                let rows = result.into_rows_result().map_err(|e| failed(e.to_string()))?;
                let stored: Option<Stored> = rows.maybe_first_row().map_err(|e| failed(e.to_string()))?;
                Ok(stored.filter(|stored| same(p, stored)).map(|stored| stored.9))
            })
            .buffered(self.max_in_flight)
            .try_collect()
            .await
    }
}

/// The columns a version is compared on, and their values.
const STORED: &str = "target_date, horizon_bars, predicted_close, model_scope, model_version, feature_row_id, \
    forecaster, gate_weight, adjustment_factor, known_from";
type Stored =
    (NaiveDate, i32, f64, String, i32, i64, Option<String>, Option<f64>, Option<f64>, DateTime<Utc>);

/// Whether `stored` holds the values of `p` (floats bit for bit).
fn same(p: &Prediction, stored: &Stored) -> bool {
    let (target_date, horizon_bars, predicted_close, scope, version, row_id, forecaster, weight, factor, _) =
        stored;
    let bits = |a: f64, b: Option<f64>| b.is_some_and(|b| a.to_bits() == b.to_bits());
    *target_date == p.target_date
        && i64::from(*horizon_bars) == i64::from(p.horizon_bars)
        && bits(p.predicted_close, Some(*predicted_close))
        && *scope == p.model_scope
        && *version == p.model_version
        && *row_id == p.feature_row_id
        && forecaster.as_deref() == Some(p.forecaster.as_str())
        && bits(p.gate_weight, *weight)
        && bits(p.adjustment_factor, *factor)
}
