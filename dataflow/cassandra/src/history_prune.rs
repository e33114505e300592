//! Removing old versions from the history tables (`pricestream-analytics prune-history`).

use super::statements::prepare;
use crate::Result;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pricestream_records::Timeframe;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// A history table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryTable {
    /// `features_history`, versions keyed by `dateTime`.
    Features,
    /// `predictions_history`, versions keyed by `as_of`.
    Predictions,
}

/// A version's primary key: its row's ticker, timeframe and date, and its `known_from`.
pub type VersionKey = ((String, Timeframe, NaiveDate), DateTime<Utc>);

/// Deletes versions from the history tables.
pub struct HistoryDeletes {
    session: Arc<Session>,
    features: PreparedStatement,
    predictions: PreparedStatement,
    keyspace: String,
    in_flight: usize,
}

impl HistoryDeletes {
    /// Prepares the deletes against `keyspace`'s history tables.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, in_flight: usize) -> Result<Self> {
        let delete = |table: &str, date: &str| {
            format!(
                "DELETE FROM {keyspace}.{table} WHERE ticker = ? AND timeframe = ? AND year = ? AND {date} = ? \
                 AND known_from = ?"
            )
        };
        let features = prepare(&session, delete("features_history", "dateTime")).await?;
        let predictions = prepare(&session, delete("predictions_history", "as_of")).await?;
        Ok(HistoryDeletes {
            session,
            features,
            predictions,
            keyspace: keyspace.to_owned(),
            in_flight: in_flight.max(1),
        })
    }

    /// Deletes `versions` from `table`; returns how many.
    pub async fn delete<'a>(&self, table: HistoryTable, versions: &'a [VersionKey]) -> Result<usize> {
        let (statement, name) = match table {
            HistoryTable::Features => (&self.features, "features_history"),
            HistoryTable::Predictions => (&self.predictions, "predictions_history"),
        };
        let bind = |((ticker, timeframe, date), known_from): &'a VersionKey| {
            (ticker.as_str(), timeframe.as_str(), date.year(), *date, *known_from)
        };
        let key = |((ticker, timeframe, date), known_from): &VersionKey| {
            format!("{ticker}/{timeframe}/{date}/{}", known_from.timestamp_millis())
        };
        let table = format!("{}.{name}", self.keyspace);
        super::requests::execute_each(&self.session, statement, versions, bind, key, &table, self.in_flight)
            .await
    }
}
