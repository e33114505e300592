//! The indicator settings each series' stored values were computed with, so that the extractor
//! sees when they change (other periods, a release whose indicator code changed) and sends every
//! value of the series again, computed anew.

use super::CassandraError;
use super::statements::prepare;
use crate::Result;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;

/// The `series_settings` table of the warehouse keyspace.
pub struct SeriesSettingsTable {
    session: Arc<Session>,
    select: PreparedStatement,
    insert: PreparedStatement,
    table: String,
}

impl SeriesSettingsTable {
    /// Prepares the statements against `keyspace.series_settings`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self> {
        let table = format!("{keyspace}.series_settings");
        let cql = format!("SELECT indicators FROM {table} WHERE ticker = ? AND timeframe = ?");
        let select = prepare(&session, cql).await?;
        let cql = format!("INSERT INTO {table} (ticker, timeframe, indicators) VALUES (?, ?, ?)");
        let insert = prepare(&session, cql).await?;
        Ok(SeriesSettingsTable { session, select, insert, table })
    }

    /// The settings recorded for a series, if any.
    pub async fn read(&self, ticker: &str, timeframe: &str) -> Result<Option<String>> {
        let result = self
            .session
            .execute_unpaged(&self.select, (ticker, timeframe))
            .await
            .map_err(|e| CassandraError::Read { table: self.table.clone(), message: e.to_string() })?;
        let decode = |e: &dyn std::fmt::Display| CassandraError::Decode {
            table: self.table.clone(),
            message: e.to_string(),
        };
        let rows = result.into_rows_result().map_err(|e| decode(&e))?;
        Ok(rows
            .maybe_first_row::<(Option<String>,)>()
            .map_err(|e| decode(&e))?
            .and_then(|(settings,)| settings))
    }

    /// Records the settings of a series.
    pub async fn write(&self, ticker: &str, timeframe: &str, settings: &str) -> Result<()> {
        self.session.execute_unpaged(&self.insert, (ticker, timeframe, settings)).await.map_err(
            |source| CassandraError::Write {
                table: self.table.clone(),
                key: format!("{ticker}/{timeframe}"),
                source,
            },
        )?;
        Ok(())
    }
}
