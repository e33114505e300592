use super::CassandraError;
use super::batch::{group_by_partition, write_partitions};
use super::statements::{insert_cql, prepare};
use chrono::{DateTime, NaiveTime, Utc};
use pricestream_records::{IndicatorRecord, IndicatorRow, IndicatorValue};
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// The seven indicator tables of the warehouse, with the seed's names.
pub const INDICATOR_TABLES: [&str; 7] = ["ema", "sma", "rsi", "macd", "stoch", "bbands", "willr"];

/// Value columns of each table after the shared key columns, in bind order.
pub(super) fn value_columns(table: &str) -> &'static str {
    match table {
        "ema" => "emaTimePeriod, ema",
        "sma" => "timePeriod, sma",
        "rsi" => "timePeriod, rsi",
        "macd" => "fastPeriod, slowPeriod, signalPeriod, macd, macdSignal, macdHist",
        "stoch" => "fastKPeriod, slowKPeriod, slowDPeriod, slowK, slowD",
        "bbands" => "timePeriod, sd, sdDown, lowerBand, middleBand, upperBand",
        _ => "timePeriod, willr",
    }
}

/// The table a value is stored in.
pub fn table_of(value: &IndicatorValue) -> &'static str {
    value.kind().as_str()
}

type Key<'a> = (&'a str, &'a str, DateTime<Utc>, Uuid);
type PeriodRow<'a> = (&'a str, &'a str, DateTime<Utc>, Uuid, i32, f64);
type MacdRow<'a> = (&'a str, &'a str, DateTime<Utc>, Uuid, i32, i32, i32, f64, f64, f64);
type StochRow<'a> = (&'a str, &'a str, DateTime<Utc>, Uuid, i32, i32, i32, f64, f64);
type BbandsRow<'a> = (&'a str, &'a str, DateTime<Utc>, Uuid, i32, f64, f64, f64, f64, f64);

/// Rows split by table, each table's rows of its own shape.
#[derive(Default)]
struct ByTable<'a> {
    single: HashMap<&'static str, Vec<(String, PeriodRow<'a>)>>,
    macd: Vec<(String, MacdRow<'a>)>,
    stoch: Vec<(String, StochRow<'a>)>,
    bbands: Vec<(String, BbandsRow<'a>)>,
}

impl<'a> ByTable<'a> {
    fn push(&mut self, record: IndicatorRow<'a>) {
        let (t, f, d, u): Key<'a> = (
            record.ticker,
            record.timeframe.as_str(),
            record.datetime.and_time(NaiveTime::MIN).and_utc(),
            record.task_number,
        );
        let partition = format!("{t}/{f}");
        match *record.value {
            IndicatorValue::Ema { ema_time_period: p, ema: v }
            | IndicatorValue::Sma { time_period: p, sma: v }
            | IndicatorValue::Rsi { time_period: p, rsi: v }
            | IndicatorValue::Willr { time_period: p, willr: v } => {
                let table = table_of(record.value);
                self.single.entry(table).or_default().push((partition, (t, f, d, u, p, v)));
            }
            IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd,
                macd_signal,
                macd_hist,
            } => {
                let row = (t, f, d, u, fast_period, slow_period, signal_period, macd, macd_signal, macd_hist);
                self.macd.push((partition, row));
            }
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
                self.stoch.push((
                    partition,
                    (t, f, d, u, fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d),
                ));
            }
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => {
                let row = (t, f, d, u, time_period, sd, sd_down, lower_band, middle_band, upper_band);
                self.bbands.push((partition, row));
            }
        }
    }
}

/// Writes indicator values to the seven indicator tables: one prepared
/// statement per table, rows of one partition in unlogged batches.
pub struct IndicatorTables {
    session: Arc<Session>,
    keyspace: String,
    inserts: HashMap<&'static str, PreparedStatement>,
    /// One partition delete per table: a series' values, all of them.
    deletes: HashMap<&'static str, PreparedStatement>,
    max_batch_rows: usize,
    max_in_flight: usize,
}

impl IndicatorTables {
    /// Prepares the seven inserts against `keyspace`.
    pub async fn prepare(
        session: Arc<Session>,
        keyspace: &str,
        max_batch_rows: usize,
        max_in_flight: usize,
    ) -> Result<Self, CassandraError> {
        let (mut inserts, mut deletes) = (HashMap::new(), HashMap::new());
        for table in INDICATOR_TABLES {
            let columns = value_columns(table);
            let cql = insert_cql(
                &format!("{keyspace}.{table}"),
                &format!("ticker, timeframe, datetime, task_number, {columns}"),
            );
            let prepared = prepare(&session, cql).await?;
            inserts.insert(table, prepared);
            let cql = format!("DELETE FROM {keyspace}.{table} WHERE ticker = ? AND timeframe = ?");
            deletes.insert(table, prepare(&session, cql).await?);
        }
        Ok(IndicatorTables {
            session,
            keyspace: keyspace.to_owned(),
            inserts,
            deletes,
            max_batch_rows,
            max_in_flight,
        })
    }

    /// Deletes every value of one series from the seven tables (before they are sent again,
    /// computed with other settings: a longer period leaves dates without a value).
    pub async fn delete_series(&self, ticker: &str, timeframe: &str) -> Result<(), CassandraError> {
        for (table, delete) in &self.deletes {
            self.session.execute_unpaged(delete, (ticker, timeframe)).await.map_err(|source| {
                CassandraError::Write {
                    table: format!("{}.{table}", self.keyspace),
                    key: format!("{ticker}/{timeframe}"),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Upserts every value into its table; returns how many were written.
    pub async fn write_all(&self, records: &[IndicatorRecord]) -> Result<usize, CassandraError> {
        self.write_rows(records.iter().map(IndicatorRecord::row)).await
    }

    /// Upserts indicator rows, as [`IndicatorTables::write_all`] does records.
    pub async fn write_rows<'a>(
        &self,
        rows: impl IntoIterator<Item = IndicatorRow<'a>>,
    ) -> Result<usize, CassandraError> {
        let mut by_table = ByTable::default();
        for row in rows {
            by_table.push(row);
        }
        let ByTable { single, macd, stoch, bbands } = by_table;
        let mut written = 0;
        for (table, rows) in single {
            written += self.write(table, rows).await?;
        }
        written += self.write("macd", macd).await?;
        written += self.write("stoch", stoch).await?;
        written += self.write("bbands", bbands).await?;
        Ok(written)
    }

    async fn write<T: SerializeRow>(
        &self,
        table: &'static str,
        rows: Vec<(String, T)>,
    ) -> Result<usize, CassandraError> {
        let Some(insert) = self.inserts.get(table) else { return Ok(0) };
        if rows.is_empty() {
            return Ok(0);
        }
        let name = format!("{}.{table}", self.keyspace);
        write_partitions(
            &self.session,
            insert,
            &name,
            group_by_partition(rows),
            self.max_batch_rows,
            self.max_in_flight,
        )
        .await
    }
}
