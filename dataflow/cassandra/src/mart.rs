//! Reading the feature mart back: the rows the model trains and backtests on.

use super::CassandraError;
use super::statements::prepare;
use chrono::NaiveDate;
use futures::StreamExt;
use pricestream_records::{FeatureRow, Timeframe, UnknownTimeframe};
use scylla::DeserializeRow;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// Reads rows of the mart's `features` table.
pub struct MartReader {
    session: Arc<Session>,
    series: PreparedStatement,
    keys: PreparedStatement,
    dates: PreparedStatement,
    table: String,
}

const COLUMNS: &str = "ticker, timeframe, datetime, id, ematimeperiod, ema, fastkperiod, slowkperiod, \
    slowdperiod, slowd, slowk, bbtimeperiod, bbsd, lowerband, middleband, upperband, signalperiod, \
    fastperiod, slowperiod, macd, macdhist, macdsignal, rsitimeperiod, rsi, smatimeperiod, sma, \
    willrtimeperiod, willr, close, label";

/// One row as read, columns by name.
#[derive(DeserializeRow)]
struct MartRow {
    ticker: String,
    timeframe: String,
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

impl MartRow {
    fn into_feature_row(self) -> Result<FeatureRow, UnknownTimeframe> {
        Ok(FeatureRow {
            ticker: self.ticker,
            timeframe: self.timeframe.parse()?,
            date_time: self.datetime,
            id: self.id,
            ema_time_period: self.ematimeperiod,
            ema: self.ema,
            fast_k_period: self.fastkperiod,
            slow_k_period: self.slowkperiod,
            slow_d_period: self.slowdperiod,
            slow_d: self.slowd,
            slow_k: self.slowk,
            bb_time_period: self.bbtimeperiod,
            bb_sd: self.bbsd,
            lower_band: self.lowerband,
            middle_band: self.middleband,
            upper_band: self.upperband,
            signal_period: self.signalperiod,
            fast_period: self.fastperiod,
            slow_period: self.slowperiod,
            macd: self.macd,
            macd_hist: self.macdhist,
            macd_signal: self.macdsignal,
            rsi_time_period: self.rsitimeperiod,
            rsi: self.rsi,
            sma_time_period: self.smatimeperiod,
            sma: self.sma,
            willr_time_period: self.willrtimeperiod,
            willr: self.willr,
            close: self.close,
            label: self.label,
        })
    }
}

impl MartReader {
    /// Prepares the reads of `keyspace.features`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self, CassandraError> {
        let table = format!("{keyspace}.features");
        let cql = format!("SELECT {COLUMNS} FROM {table} WHERE ticker = ? AND timeframe = ?");
        let series = prepare(&session, cql).await?;
        let keys = prepare(&session, format!("SELECT DISTINCT ticker, timeframe FROM {table}")).await?;
        let cql = format!("SELECT datetime FROM {table} WHERE ticker = ? AND timeframe = ?");
        let dates = prepare(&session, cql).await?;
        Ok(MartReader { session, series, keys, dates, table })
    }

    fn read_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Read { table: self.table.clone(), message: message.to_string() }
    }

    fn decode_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Decode { table: self.table.clone(), message: message.to_string() }
    }

    /// Every row of one ticker and timeframe, in date order (one partition, paged).
    pub async fn read_series(
        &self,
        ticker: &str,
        timeframe: Timeframe,
    ) -> Result<Vec<FeatureRow>, CassandraError> {
        let mut rows = self
            .session
            .execute_iter(self.series.clone(), (ticker, timeframe.as_str()))
            .await
            .map_err(|e| self.read_error(e))?
            .rows_stream::<MartRow>()
            .map_err(|e| self.decode_error(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            out.push(
                row.map_err(|e| self.read_error(e))?.into_feature_row().map_err(|e| self.decode_error(e))?,
            );
        }
        Ok(out)
    }

    /// The dates of every row of one ticker and timeframe, in date order.
    pub async fn dates(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<NaiveDate>, CassandraError> {
        let mut rows = self
            .session
            .execute_iter(self.dates.clone(), (ticker, timeframe.as_str()))
            .await
            .map_err(|e| self.read_error(e))?
            .rows_stream::<(NaiveDate,)>()
            .map_err(|e| self.decode_error(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            out.push(row.map_err(|e| self.read_error(e))?.0);
        }
        Ok(out)
    }

    /// Every (ticker, timeframe) that has rows: a scan of the partition keys, for global models.
    pub async fn series(&self) -> Result<Vec<(String, Timeframe)>, CassandraError> {
        let mut rows = self
            .session
            .execute_iter(self.keys.clone(), ())
            .await
            .map_err(|e| self.read_error(e))?
            .rows_stream::<(String, String)>()
            .map_err(|e| self.decode_error(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            let (ticker, timeframe) = row.map_err(|e| self.read_error(e))?;
            out.push((ticker, timeframe.parse().map_err(|e| self.decode_error(e))?));
        }
        out.sort();
        Ok(out)
    }
}
