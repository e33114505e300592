use super::batch::{BatchLimits, SeriesKey, group_by_partition, write_partitions};
use super::statements::{insert_cql, prepare};
use super::{decimal_to_f64, f64_to_decimal};
use crate::Result;
use chrono::{DateTime, Utc};
use pricestream_records::{Bar, BarSource, Timeframe};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlDecimal;
use std::sync::Arc;
use uuid::Uuid;

/// Writes bars to `time_series_history` with one prepared statement, rows of
/// one partition in unlogged batches, a bounded number of requests in flight.
pub struct BarTable {
    session: Arc<Session>,
    insert: PreparedStatement,
    select: PreparedStatement,
    table: String,
    limits: BatchLimits,
}

type BarRow<'a> = (
    &'a str,
    &'a str,
    DateTime<Utc>,
    Uuid,
    CqlDecimal,
    CqlDecimal,
    CqlDecimal,
    CqlDecimal,
    i64,
    Option<&'static str>,
);

/// A stored bar's columns after its key, as read.
pub(super) type StoredRow =
    (DateTime<Utc>, CqlDecimal, CqlDecimal, CqlDecimal, CqlDecimal, i64, Uuid, Option<String>);

/// The bar of a stored row: prices as delivered (the warehouse is never adjusted).
pub(super) fn stored_bar(ticker: &str, timeframe: Timeframe, row: StoredRow) -> Bar {
    let (datetime, open, high, low, close, volume, task_number, source) = row;
    Bar {
        ticker: ticker.into(),
        timeframe,
        datetime: datetime.date_naive(),
        open: decimal_to_f64(&open),
        high: decimal_to_f64(&high),
        low: decimal_to_f64(&low),
        close: decimal_to_f64(&close),
        volume,
        task_number,
        adjustment_factor: 1.0,
        source: source.as_deref().and_then(BarSource::parse),
    }
}

impl BarTable {
    /// Prepares the insert against `keyspace.time_series_history`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, limits: BatchLimits) -> Result<Self> {
        let table = format!("{keyspace}.time_series_history");
        let columns = "ticker, timeframe, datetime, task_number, open, high, low, close, volume, source";
        let insert = prepare(&session, insert_cql(&table, columns)).await?;
        let cql = format!(
            "SELECT datetime, open, high, low, close, volume, task_number, source FROM {table} \
             WHERE ticker = ? AND timeframe = ?"
        );
        let select = prepare(&session, cql).await?;
        Ok(BarTable { session, insert, select, table, limits })
    }

    /// Upserts every bar; a bar for a (ticker, timeframe, date) already stored replaces it.
    pub async fn write_all(&self, bars: &[Bar]) -> Result<usize> {
        let rows = bars
            .iter()
            .map(|bar| Ok((SeriesKey { ticker: &bar.ticker, timeframe: bar.timeframe }, row(bar)?)))
            .collect::<Result<Vec<_>>>()?;
        write_partitions(&self.session, &self.insert, &self.table, group_by_partition(rows), self.limits)
            .await
    }
}

impl BarTable {
    /// Every stored bar of one ticker and timeframe, in date order (one partition, paged).
    pub async fn read_series(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<Bar>> {
        let rows: Vec<StoredRow> =
            super::requests::read_all(&self.session, &self.select, (ticker, timeframe.as_str()), &self.table)
                .await?;
        Ok(rows.into_iter().map(|row| stored_bar(ticker, timeframe, row)).collect())
    }
}

fn row(bar: &Bar) -> Result<BarRow<'_>> {
    Ok((
        bar.ticker.as_str(),
        bar.timeframe.as_str(),
        bar.datetime.and_time(chrono::NaiveTime::MIN).and_utc(),
        bar.task_number,
        f64_to_decimal(bar.open)?,
        f64_to_decimal(bar.high)?,
        f64_to_decimal(bar.low)?,
        f64_to_decimal(bar.close)?,
        bar.volume,
        bar.source.map(BarSource::as_str),
    ))
}
