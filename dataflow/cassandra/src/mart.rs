//! Reading the feature mart back: the rows the model trains and backtests on.

use super::CassandraError;
use super::mart_row;
use super::statements::prepare;
use crate::Result;
use chrono::NaiveDate;
use futures::StreamExt;
use pricestream_records::{FeatureRow, Timeframe};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::Row;
use std::sync::Arc;

/// Reads rows of the mart's `features` table.
pub struct MartReader {
    session: Arc<Session>,
    series: PreparedStatement,
    keys: PreparedStatement,
    dates: PreparedStatement,
    table: String,
}

impl MartReader {
    /// Prepares the reads of `keyspace.features`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self> {
        let table = format!("{keyspace}.features");
        let cql =
            format!("SELECT {} FROM {table} WHERE ticker = ? AND timeframe = ?", mart_row::column_list());
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
    pub async fn read_series(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<FeatureRow>> {
        let mut rows = self
            .session
            .execute_iter(self.series.clone(), (ticker, timeframe.as_str()))
            .await
            .map_err(|e| self.read_error(e))?
            .rows_stream::<Row>()
            .map_err(|e| self.decode_error(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            out.push(mart_row::read(row.map_err(|e| self.read_error(e))?).map_err(|e| self.decode_error(e))?);
        }
        Ok(out)
    }

    /// The dates of every row of one ticker and timeframe, in date order.
    pub async fn dates(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<NaiveDate>> {
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
    pub async fn series(&self) -> Result<Vec<(String, Timeframe)>> {
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
