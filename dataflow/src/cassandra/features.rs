use super::CassandraError;
use super::batch::{group_by_partition, write_partitions};
use super::statements::{insert_cql, prepare};
use crate::records::{FeatureRow, Timeframe};
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt, stream};
use scylla::SerializeRow;
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

/// The bound values of one upsert. A missing value is written as null, so a
/// row that changes (a label that goes away, a corrected indicator) never
/// keeps a stale cell from its previous version.
#[derive(SerializeRow)]
struct FeatureValues<'a> {
    ticker: &'a str,
    timeframe: &'a str,
    datetime: NaiveDate,
    id: Option<i64>,
    ematimeperiod: Option<i32>,
    ema: Option<f64>,
    fastkperiod: Option<i32>,
    slowkperiod: Option<i32>,
    slowdperiod: Option<i32>,
    slowd: Option<f64>,
    slowk: Option<f64>,
    bbtimeperiod: Option<i32>,
    bbsd: Option<f64>,
    lowerband: Option<f64>,
    middleband: Option<f64>,
    upperband: Option<f64>,
    signalperiod: Option<i32>,
    fastperiod: Option<i32>,
    slowperiod: Option<i32>,
    macd: Option<f64>,
    macdhist: Option<f64>,
    macdsignal: Option<f64>,
    rsitimeperiod: Option<i32>,
    rsi: Option<f64>,
    smatimeperiod: Option<i32>,
    sma: Option<f64>,
    willrtimeperiod: Option<i32>,
    willr: Option<f64>,
    close: f64,
    label: Option<f64>,
}

impl<'a> From<&'a FeatureRow> for FeatureValues<'a> {
    fn from(row: &'a FeatureRow) -> Self {
        FeatureValues {
            ticker: &row.ticker,
            timeframe: row.timeframe.as_str(),
            datetime: row.date_time,
            id: row.id,
            ematimeperiod: row.ema_time_period,
            ema: row.ema,
            fastkperiod: row.fast_k_period,
            slowkperiod: row.slow_k_period,
            slowdperiod: row.slow_d_period,
            slowd: row.slow_d,
            slowk: row.slow_k,
            bbtimeperiod: row.bb_time_period,
            bbsd: row.bb_sd,
            lowerband: row.lower_band,
            middleband: row.middle_band,
            upperband: row.upper_band,
            signalperiod: row.signal_period,
            fastperiod: row.fast_period,
            slowperiod: row.slow_period,
            macd: row.macd,
            macdhist: row.macd_hist,
            macdsignal: row.macd_signal,
            rsitimeperiod: row.rsi_time_period,
            rsi: row.rsi,
            smatimeperiod: row.sma_time_period,
            sma: row.sma,
            willrtimeperiod: row.willr_time_period,
            willr: row.willr,
            close: row.close,
            label: row.label,
        }
    }
}

/// Rows per batch: about 5 KiB, Cassandra's `batch_size_warn_threshold`.
const BATCH_ROWS: usize = 16;

const COLUMNS: &str = "ticker, timeframe, datetime, id, ematimeperiod, ema, fastkperiod, slowkperiod, \
    slowdperiod, slowd, slowk, bbtimeperiod, bbsd, lowerband, middleband, upperband, signalperiod, \
    fastperiod, slowperiod, macd, macdhist, macdsignal, rsitimeperiod, rsi, smatimeperiod, sma, \
    willrtimeperiod, willr, close, label";

impl FeatureTable {
    /// Prepares the upsert against `keyspace.features`.
    pub async fn prepare(
        session: Arc<Session>,
        keyspace: &str,
        max_in_flight: usize,
    ) -> Result<Self, CassandraError> {
        let table = format!("{keyspace}.features");
        let upsert = prepare(&session, insert_cql(&table, COLUMNS)).await?;
        let cql = format!("DELETE FROM {table} WHERE ticker = ? AND timeframe = ? AND datetime = ?");
        let delete = prepare(&session, cql).await?;
        Ok(FeatureTable { session, upsert, delete, table, max_in_flight })
    }

    /// Upserts every row: the rows of one ticker in unlogged single-partition batches (a new
    /// day's row and the label it completes, horizon_bars back, are one round trip).
    pub async fn upsert_all(&self, rows: &[FeatureRow]) -> Result<usize, CassandraError> {
        let partitions = group_by_partition(
            rows.iter().map(|row| (format!("{}/{}", row.ticker, row.timeframe), FeatureValues::from(row))),
        );
        write_partitions(&self.session, &self.upsert, &self.table, partitions, BATCH_ROWS, self.max_in_flight)
            .await
    }

    /// Deletes the rows of `keys` (ticker, timeframe, date): rows whose bar was retracted.
    pub async fn delete_all(&self, keys: &[(String, Timeframe, NaiveDate)]) -> Result<usize, CassandraError> {
        stream::iter(keys)
            .map(|(ticker, timeframe, date)| async move {
                self.session
                    .execute_unpaged(&self.delete, (ticker.as_str(), timeframe.as_str(), *date))
                    .await
                    .map_err(|source| CassandraError::Write {
                        table: self.table.clone(),
                        key: format!("{ticker}/{timeframe}/{date}"),
                        source,
                    })
            })
            .buffer_unordered(self.max_in_flight)
            .try_fold(0, |deleted, _| async move { Ok(deleted + 1) })
            .await
    }
}
