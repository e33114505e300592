//! Writing the mart's history: each epoch's row changes and forecasts as versions known from
//! one time, written beside the current tables under the same guarantees.
//!
//! A replayed epoch (recovery, a rewrite) writes only the versions that are not already the
//! newest stored for their key: the crashed run may have written some of them, with its own
//! time, and a row that came out the same is the same version, never a second one. Its
//! messages then carry that stored time, so the topics say what the history says.

use crate::changes::RowChanges;
use chrono::{DateTime, Utc};
use pricestream_cassandra::{CassandraError, FeatureHistoryTable, FeatureVersion, PredictionHistoryTable};
use pricestream_records::Prediction;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The history tables and this process's clock for them.
pub struct HistorySink {
    /// `features_history`.
    pub features: FeatureHistoryTable,
    /// `predictions_history`.
    pub predictions: PredictionHistoryTable,
    /// The last `known_from` handed out, ms since the Unix epoch.
    last_ms: AtomicI64,
}

impl HistorySink {
    /// The sink of the two tables.
    pub fn new(features: FeatureHistoryTable, predictions: PredictionHistoryTable) -> Self {
        HistorySink { features, predictions, last_ms: AtomicI64::new(i64::MIN) }
    }

    /// The time of the versions written now, ms since the Unix epoch: the wall clock, and later
    /// than every time this process handed out before (two epochs in one millisecond are two
    /// versions; a clock stepped back does not reorder them).
    pub fn known_from_ms(&self) -> i64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        next_time(&self.last_ms, now)
    }

    /// The versions of `changes`: every row upserted, then every key deleted (the order of
    /// the changelog's messages).
    pub fn row_versions(changes: &RowChanges) -> Vec<FeatureVersion<'_>> {
        let mut versions: Vec<FeatureVersion<'_>> = changes.rows().map(FeatureVersion::Row).collect();
        versions.extend(changes.deletes.iter().map(|(ticker, timeframe, date)| FeatureVersion::Deleted {
            ticker,
            timeframe: *timeframe,
            date: *date,
        }));
        versions
    }

    /// For each of `versions`, the `known_from` (ms) of its key's newest stored version when
    /// that one has the same content: the version is stored already.
    pub async fn stored_rows(
        &self,
        versions: &[FeatureVersion<'_>],
    ) -> Result<Vec<Option<i64>>, CassandraError> {
        let newest = self.features.newest(versions).await?;
        Ok(versions
            .iter()
            .zip(newest)
            .map(|(version, stored)| {
                stored.filter(|stored| version.is(stored)).map(|stored| stored.known_from.timestamp_millis())
            })
            .collect())
    }

    /// For each forecast, the `known_from` (ms) of its day's newest stored version when that
    /// one is the same forecast.
    pub async fn stored_predictions(
        &self,
        predictions: &[Prediction],
    ) -> Result<Vec<Option<i64>>, CassandraError> {
        let versions: Vec<&Prediction> = predictions.iter().collect();
        let stored = self.predictions.stored_as_newest(&versions).await?;
        Ok(stored.into_iter().map(|time| time.map(|t| t.timestamp_millis())).collect())
    }
}

/// `now`, unless `last` is at or past it: then the millisecond after `last`. Stores the result.
fn next_time(last: &AtomicI64, now: i64) -> i64 {
    let previous = last.fetch_max(now, Ordering::SeqCst);
    if previous >= now {
        // Another epoch took this millisecond, or a later one: take the next free one.
        return last.fetch_add(1, Ordering::SeqCst) + 1;
    }
    now
}

/// `ms` since the Unix epoch as a time.
pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_from_only_grows() {
        let last = AtomicI64::new(i64::MIN);
        let times = [100, 100, 99, 105].map(|now| next_time(&last, now));
        assert_eq!(times, [100, 101, 102, 105]);
    }
}
