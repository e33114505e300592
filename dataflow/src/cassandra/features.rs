use super::CassandraError;
use crate::records::FeatureRow;
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt, stream};
use scylla::SerializeRow;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use std::sync::Arc;

/// Writes feature rows to the mart's `features` table.
pub struct FeatureTable {
    session: Arc<Session>,
    upsert: PreparedStatement,
    table: String,
    max_in_flight: usize,
}

/// The bound values of one upsert. Missing values are left unset rather than
/// written as null, so inserting a sparse row creates no tombstones.
#[derive(SerializeRow)]
struct FeatureValues<'a> {
    ticker: &'a str,
    timeframe: &'a str,
    datetime: NaiveDate,
    id: MaybeUnset<i64>,
    ematimeperiod: MaybeUnset<i32>,
    ema: MaybeUnset<f64>,
    fastkperiod: MaybeUnset<i32>,
    slowkperiod: MaybeUnset<i32>,
    slowdperiod: MaybeUnset<i32>,
    slowd: MaybeUnset<f64>,
    slowk: MaybeUnset<f64>,
    bbtimeperiod: MaybeUnset<i32>,
    bbsd: MaybeUnset<f64>,
    lowerband: MaybeUnset<f64>,
    middleband: MaybeUnset<f64>,
    upperband: MaybeUnset<f64>,
    signalperiod: MaybeUnset<i32>,
    fastperiod: MaybeUnset<i32>,
    slowperiod: MaybeUnset<i32>,
    macd: MaybeUnset<f64>,
    macdhist: MaybeUnset<f64>,
    macdsignal: MaybeUnset<f64>,
    rsitimeperiod: MaybeUnset<i32>,
    rsi: MaybeUnset<f64>,
    smatimeperiod: MaybeUnset<i32>,
    sma: MaybeUnset<f64>,
    willrtimeperiod: MaybeUnset<i32>,
    willr: MaybeUnset<f64>,
    close: f64,
    label: MaybeUnset<f64>,
}

fn opt<T>(value: Option<T>) -> MaybeUnset<T> {
    value.map_or(MaybeUnset::Unset, MaybeUnset::Set)
}

impl<'a> From<&'a FeatureRow> for FeatureValues<'a> {
    fn from(row: &'a FeatureRow) -> Self {
        FeatureValues {
            ticker: &row.ticker,
            timeframe: row.timeframe.as_str(),
            datetime: row.date_time,
            id: opt(row.id),
            ematimeperiod: opt(row.ema_time_period),
            ema: opt(row.ema),
            fastkperiod: opt(row.fast_k_period),
            slowkperiod: opt(row.slow_k_period),
            slowdperiod: opt(row.slow_d_period),
            slowd: opt(row.slow_d),
            slowk: opt(row.slow_k),
            bbtimeperiod: opt(row.bb_time_period),
            bbsd: opt(row.bb_sd),
            lowerband: opt(row.lower_band),
            middleband: opt(row.middle_band),
            upperband: opt(row.upper_band),
            signalperiod: opt(row.signal_period),
            fastperiod: opt(row.fast_period),
            slowperiod: opt(row.slow_period),
            macd: opt(row.macd),
            macdhist: opt(row.macd_hist),
            macdsignal: opt(row.macd_signal),
            rsitimeperiod: opt(row.rsi_time_period),
            rsi: opt(row.rsi),
            smatimeperiod: opt(row.sma_time_period),
            sma: opt(row.sma),
            willrtimeperiod: opt(row.willr_time_period),
            willr: opt(row.willr),
            close: row.close,
            label: opt(row.label),
        }
    }
}

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
        let markers = vec!["?"; COLUMNS.split(',').count()].join(", ");
        let cql = format!("INSERT INTO {table} ({COLUMNS}) VALUES ({markers})");
        let upsert = session
            .prepare(cql.as_str())
            .await
            .map_err(|source| CassandraError::Prepare { statement: cql, source })?;
        Ok(FeatureTable { session, upsert, table, max_in_flight })
    }

    /// Upserts every row.
    pub async fn upsert_all(&self, rows: &[FeatureRow]) -> Result<usize, CassandraError> {
        stream::iter(rows)
            .map(|row| async move {
                self.session.execute_unpaged(&self.upsert, FeatureValues::from(row)).await.map_err(|source| {
                    CassandraError::Write {
                        table: self.table.clone(),
                        key: format!("{}/{}/{}", row.ticker, row.timeframe, row.date_time),
                        source,
                    }
                })
            })
            .buffer_unordered(self.max_in_flight)
            .try_fold(0, |written, _| async move { Ok(written + 1) })
            .await
    }
}
