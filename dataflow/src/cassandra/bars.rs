use super::{CassandraError, f64_to_decimal};
use crate::records::Bar;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// Writes bars to `time_series_history` with one prepared statement and a
/// bounded number of requests in flight.
pub struct BarTable {
    session: Arc<Session>,
    insert: PreparedStatement,
    table: String,
    max_in_flight: usize,
}

impl BarTable {
    /// Prepares the insert against `keyspace.time_series_history`.
    pub async fn prepare(
        session: Arc<Session>,
        keyspace: &str,
        max_in_flight: usize,
    ) -> Result<Self, CassandraError> {
        let table = format!("{keyspace}.time_series_history");
        let cql = format!(
            "INSERT INTO {table} (ticker, timeframe, datetime, task_number, open, high, low, close, volume) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        let insert = session
            .prepare(cql.as_str())
            .await
            .map_err(|source| CassandraError::Prepare { statement: cql, source })?;
        Ok(BarTable { session, insert, table, max_in_flight })
    }

    /// Upserts every bar; a bar for a (ticker, timeframe, date) already stored replaces it.
    pub async fn write_all(&self, bars: &[Bar]) -> Result<usize, CassandraError> {
        stream::iter(bars)
            .map(|bar| self.write(bar))
            .buffer_unordered(self.max_in_flight)
            .try_fold(0, |written, ()| async move { Ok(written + 1) })
            .await
    }

    async fn write(&self, bar: &Bar) -> Result<(), CassandraError> {
        let midnight: DateTime<Utc> = bar.datetime.and_time(chrono::NaiveTime::MIN).and_utc();
        let values = (
            bar.ticker.as_str(),
            bar.timeframe.as_str(),
            midnight,
            bar.task_number,
            f64_to_decimal(bar.open)?,
            f64_to_decimal(bar.high)?,
            f64_to_decimal(bar.low)?,
            f64_to_decimal(bar.close)?,
            bar.volume,
        );
        self.session.execute_unpaged(&self.insert, values).await.map_err(|source| CassandraError::Write {
            table: self.table.clone(),
            key: format!("{}/{}/{}", bar.ticker, bar.timeframe, bar.datetime),
            source,
        })?;
        Ok(())
    }
}
