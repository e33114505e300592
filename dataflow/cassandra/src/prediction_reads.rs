//! Reading forecasts back, now (`predictions`) or every version (`predictions_history`), for
//! the query command.

use super::CassandraError;
use super::feature_history::StoredVersion;
use super::predictions::COLUMNS;
use super::statements::prepare;
use crate::Result;
use chrono::{DateTime, NaiveDate, Utc};
use pricestream_records::Timeframe;
use scylla::client::session::Session;
use scylla::deserialize::row::DeserializeRow;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// A forecast as stored: every column of `predictions`, in its order.
#[derive(Clone, Debug, PartialEq, scylla::DeserializeRow)]
#[scylla(flavor = "enforce_order", skip_name_checks)]
pub struct StoredPrediction {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: String,
    /// Date of the feature row the forecast is made from.
    pub as_of: NaiveDate,
    /// Date of the bar whose close is forecast.
    pub target_date: NaiveDate,
    /// Bars ahead.
    pub horizon_bars: i32,
    /// The forecast.
    pub predicted_close: f64,
    /// The model's scope.
    pub model_scope: String,
    /// The model's version.
    pub model_version: i32,
    /// `id` of the feature row.
    pub feature_row_id: i64,
    /// `model` or `persistence` (null in rows older than the gate).
    pub forecaster: Option<String>,
    /// The gate's weight.
    pub gate_weight: Option<f64>,
    /// The factor of the feature row.
    pub adjustment_factor: Option<f64>,
}

/// Reads `predictions` and `predictions_history`.
pub struct PredictionReader {
    session: Arc<Session>,
    series: PreparedStatement,
    range: PreparedStatement,
    year: PreparedStatement,
    history_range: PreparedStatement,
    partitions: PreparedStatement,
    table: String,
}

impl PredictionReader {
    /// Prepares the reads against `keyspace`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self> {
        let (now, history) = (format!("{keyspace}.predictions"), format!("{keyspace}.predictions_history"));
        let series =
            prepare(&session, format!("SELECT {COLUMNS} FROM {now} WHERE ticker = ? AND timeframe = ?"))
                .await?;
        let tokens = "token(ticker, timeframe) >= ? AND token(ticker, timeframe) <= ?";
        let range = prepare(&session, format!("SELECT {COLUMNS} FROM {now} WHERE {tokens}")).await?;
        let year = prepare(
            &session,
            format!(
                "SELECT {COLUMNS}, known_from FROM {history} WHERE ticker = ? AND timeframe = ? AND year = ?"
            ),
        )
        .await?;
        let tokens = "token(ticker, timeframe, year) >= ? AND token(ticker, timeframe, year) <= ?";
        let history_range =
            prepare(&session, format!("SELECT {COLUMNS}, known_from FROM {history} WHERE {tokens}")).await?;
        let partitions =
            prepare(&session, format!("SELECT DISTINCT ticker, timeframe, year FROM {history}")).await?;
        Ok(PredictionReader { session, series, range, year, history_range, partitions, table: now })
    }

    /// The forecasts of one series, in as-of order.
    pub async fn read_series(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<StoredPrediction>> {
        self.all(&self.series, (ticker, timeframe.as_str())).await
    }

    /// The forecasts of the partitions whose token is in `tokens`.
    pub async fn read_tokens(&self, tokens: (i64, i64)) -> Result<Vec<StoredPrediction>> {
        self.all(&self.range, tokens).await
    }

    /// Every version of the series' forecasts made as of dates in `year`, by as-of date and
    /// then `known_from`.
    pub async fn history_year(
        &self,
        ticker: &str,
        timeframe: Timeframe,
        year: i32,
    ) -> Result<Vec<StoredVersion<StoredPrediction>>> {
        let rows: Vec<Versioned> = self.all(&self.year, (ticker, timeframe.as_str(), year)).await?;
        rows.into_iter().map(|row| self.version(row)).collect()
    }

    /// Every version in the history partitions whose token is in `tokens`.
    pub async fn history_tokens(&self, tokens: (i64, i64)) -> Result<Vec<StoredVersion<StoredPrediction>>> {
        let rows: Vec<Versioned> = self.all(&self.history_range, tokens).await?;
        rows.into_iter().map(|row| self.version(row)).collect()
    }

    /// Every (ticker, timeframe, year) the history has forecasts in.
    pub async fn history_partitions(&self) -> Result<Vec<(String, Timeframe, i32)>> {
        super::requests::year_partitions(&self.session, &self.partitions, &self.table).await
    }

    fn version(&self, row: Versioned) -> Result<StoredVersion<StoredPrediction>> {
        let (ticker, timeframe, as_of, target_date, horizon_bars, predicted_close, model_scope) =
            (row.0, row.1, row.2, row.3, row.4, row.5, row.6);
        let (model_version, feature_row_id, forecaster, gate_weight, adjustment_factor, known_from) =
            (row.7, row.8, row.9, row.10, row.11, row.12);
        let prediction = StoredPrediction {
            ticker,
            timeframe,
            as_of,
            target_date,
            horizon_bars,
            predicted_close,
            model_scope,
            model_version,
            feature_row_id,
            forecaster,
            gate_weight,
            adjustment_factor,
        };
        let timeframe = prediction.timeframe.parse().map_err(|e| self.decode_error(e))?;
        Ok(StoredVersion {
            key: (prediction.ticker.clone(), timeframe, prediction.as_of),
            known_from,
            row: Some(prediction),
        })
    }

    async fn all<R>(&self, statement: &PreparedStatement, values: impl SerializeRow) -> Result<Vec<R>>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata> + 'static,
    {
        super::requests::read_all(&self.session, statement, values, &self.table).await
    }

    fn decode_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Decode { table: self.table.clone(), message: message.to_string() }
    }
}

/// A history row: the columns of a [`StoredPrediction`], then `known_from`.
type Versioned = (
    String,
    String,
    NaiveDate,
    NaiveDate,
    i32,
    f64,
    String,
    i32,
    i64,
    Option<String>,
    Option<f64>,
    Option<f64>,
    DateTime<Utc>,
);
