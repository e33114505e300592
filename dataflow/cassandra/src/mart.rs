//! Reading the feature mart back: the rows the model trains and backtests on.

use super::CassandraError;
use super::mart_row;
use super::statements::prepare;
use crate::Result;
use chrono::NaiveDate;
use pricestream_records::{FeatureRow, Timeframe};
use scylla::client::session::Session;
use scylla::deserialize::row::DeserializeRow;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::Row;
use std::sync::Arc;

/// Reads rows of the mart's `features` table.
pub struct MartReader {
    session: Arc<Session>,
    series: PreparedStatement,
    keys: PreparedStatement,
    dates: PreparedStatement,
    range: PreparedStatement,
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
        let cql = format!(
            "SELECT {} FROM {table} WHERE token(ticker, timeframe) >= ? AND token(ticker, timeframe) <= ?",
            mart_row::column_list()
        );
        let range = prepare(&session, cql).await?;
        Ok(MartReader { session, series, keys, dates, range, table })
    }

    fn decode_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Decode { table: self.table.clone(), message: message.to_string() }
    }

    /// Every row of one ticker and timeframe, in date order (one partition, paged).
    pub async fn read_series(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<FeatureRow>> {
        let rows: Vec<Row> = self.all(&self.series, (ticker, timeframe.as_str())).await?;
        rows.into_iter().map(|row| mart_row::read(row).map_err(|e| self.decode_error(e))).collect()
    }

    /// Every row of the partitions whose token is in `tokens` (see [`crate::token_ranges`]):
    /// partition after partition in token order, each in date order.
    pub async fn read_tokens(&self, tokens: (i64, i64)) -> Result<Vec<FeatureRow>> {
        let rows: Vec<Row> = self.all(&self.range, tokens).await?;
        rows.into_iter().map(|row| mart_row::read(row).map_err(|e| self.decode_error(e))).collect()
    }

    /// The dates of every row of one ticker and timeframe, in date order.
    pub async fn dates(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<NaiveDate>> {
        let rows: Vec<(NaiveDate,)> = self.all(&self.dates, (ticker, timeframe.as_str())).await?;
        Ok(rows.into_iter().map(|(date,)| date).collect())
    }

    /// Every (ticker, timeframe) that has rows: a scan of the partition keys, for global models.
    pub async fn series(&self) -> Result<Vec<(String, Timeframe)>> {
        let rows: Vec<(String, String)> = self.all(&self.keys, ()).await?;
        let mut out = rows
            .into_iter()
            .map(|(ticker, timeframe)| Ok((ticker, timeframe.parse().map_err(|e| self.decode_error(e))?)))
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// Every row `statement` returns for `values`, read page by page.
    async fn all<R>(&self, statement: &PreparedStatement, values: impl SerializeRow) -> Result<Vec<R>>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata> + 'static,
    {
        super::requests::read_all(&self.session, statement, values, &self.table).await
    }
}
