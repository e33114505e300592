use super::batch::{BatchLimits, SeriesKey, group_by_partition, write_partitions};
use super::mart_row::{self, Replaces};
use super::statements::{insert_cql, prepare};
use crate::Result;
use chrono::NaiveDate;
use pricestream_records::{FeatureRow, Timeframe};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// Writes feature rows to the mart's `features` table.
pub struct FeatureTable {
    session: Arc<Session>,
    upsert: PreparedStatement,
    delete: PreparedStatement,
    table: String,
    max_in_flight: usize,
}

/// Rows per batch: about 5 KiB, Cassandra's `batch_size_warn_threshold`.
pub(crate) const BATCH_ROWS: usize = 16;

impl FeatureTable {
    /// Prepares the upsert against `keyspace.features`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, max_in_flight: usize) -> Result<Self> {
        let table = format!("{keyspace}.features");
        let upsert = prepare(&session, insert_cql(&table, &mart_row::column_list())).await?;
        let cql = format!("DELETE FROM {table} WHERE ticker = ? AND timeframe = ? AND datetime = ?");
        let delete = prepare(&session, cql).await?;
        Ok(FeatureTable { session, upsert, delete, table, max_in_flight })
    }

    /// Upserts every row, each with what it replaces: the rows of one ticker in unlogged
    /// single-partition batches (a new day's row and the label it completes, horizon_bars
    /// back, are one round trip).
    pub async fn upsert_all(&self, rows: &[(FeatureRow, Replaces)]) -> Result<usize> {
        let partitions = group_by_partition(rows.iter().map(|(row, replaces)| {
            (SeriesKey { ticker: &row.ticker, timeframe: row.timeframe }, mart_row::bind(row, replaces))
        }));
        let limits = BatchLimits { rows: BATCH_ROWS, in_flight: self.max_in_flight };
        write_partitions(&self.session, &self.upsert, &self.table, partitions, limits).await
    }

    /// Deletes the rows of `keys` (ticker, timeframe, date): rows whose bar was retracted.
    pub async fn delete_all<'a>(&self, keys: &'a [(String, Timeframe, NaiveDate)]) -> Result<usize> {
        let bind = |(ticker, timeframe, date): &'a (String, Timeframe, NaiveDate)| {
            (ticker.as_str(), timeframe.as_str(), *date)
        };
        let key = |(ticker, timeframe, date): &(String, Timeframe, NaiveDate)| {
            format!("{ticker}/{timeframe}/{date}")
        };
        super::requests::execute_each(
            &self.session,
            &self.delete,
            keys,
            bind,
            key,
            &self.table,
            self.max_in_flight,
        )
        .await
    }
}
