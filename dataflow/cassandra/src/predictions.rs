//! Forecasts in `instrument_mart.predictions`, one row per ticker, timeframe and as-of date.

use super::statements::{insert_cql, prepare};
use crate::Result;
use chrono::NaiveDate;
use pricestream_records::Prediction;
use scylla::SerializeRow;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// Writes forecasts to the mart's `predictions` table.
pub struct PredictionTable {
    session: Arc<Session>,
    upsert: PreparedStatement,
    table: String,
    max_in_flight: usize,
}

/// The bound values of one upsert.
#[derive(SerializeRow)]
pub(crate) struct PredictionValues<'a> {
    ticker: &'a str,
    timeframe: &'a str,
    as_of: NaiveDate,
    target_date: NaiveDate,
    horizon_bars: i32,
    predicted_close: f64,
    model_scope: &'a str,
    model_version: i32,
    feature_row_id: i64,
    forecaster: &'a str,
    gate_weight: f64,
    adjustment_factor: f64,
}

impl<'a> From<&'a Prediction> for PredictionValues<'a> {
    fn from(p: &'a Prediction) -> Self {
        PredictionValues {
            ticker: &p.ticker,
            timeframe: p.timeframe.as_str(),
            as_of: p.as_of,
            target_date: p.target_date,
            horizon_bars: i32::try_from(p.horizon_bars).unwrap_or(i32::MAX),
            predicted_close: p.predicted_close,
            model_scope: &p.model_scope,
            model_version: p.model_version,
            feature_row_id: p.feature_row_id,
            forecaster: p.forecaster.as_str(),
            gate_weight: p.gate_weight,
            adjustment_factor: p.adjustment_factor,
        }
    }
}

/// The columns of a forecast after its key, with their types, as in `CREATE TABLE`.
pub(crate) const VALUE_COLUMNS: &str = "    target_date date,
    horizon_bars int,
    predicted_close double,
    model_scope text,
    model_version int,
    feature_row_id bigint,
    forecaster text,
    gate_weight double,
    adjustment_factor double,";

/// A forecast's key in errors: `NVDA/1day/2014-12-31`.
pub(crate) fn key(p: &Prediction) -> String {
    format!("{}/{}/{}", p.ticker, p.timeframe, p.as_of)
}

pub(crate) const COLUMNS: &str = "ticker, timeframe, as_of, target_date, horizon_bars, predicted_close, model_scope, \
    model_version, feature_row_id, forecaster, gate_weight, adjustment_factor";

impl PredictionTable {
    /// Prepares the upsert against `keyspace.predictions`; at most `max_in_flight` writes at once.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, max_in_flight: usize) -> Result<Self> {
        let table = format!("{keyspace}.predictions");
        let upsert = prepare(&session, insert_cql(&table, COLUMNS)).await?;
        Ok(PredictionTable { session, upsert, table, max_in_flight: max_in_flight.max(1) })
    }

    /// Upserts every forecast (a newer one for the same ticker, timeframe and as-of date
    /// replaces the older); returns how many were written.
    pub async fn upsert_all(&self, predictions: &[Prediction]) -> Result<usize> {
        let (session, table) = (&self.session, &self.table);
        super::requests::execute_each(
            session,
            &self.upsert,
            predictions,
            PredictionValues::from,
            key,
            table,
            self.max_in_flight,
        )
        .await
    }
}
