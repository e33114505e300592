//! The warehouse's data-quality ledger (`data_quality`): one row per ticker, day and check,
//! so a finding sent again rewrites its row and its resolution marks it resolved.

use super::CassandraError;
use super::statements::prepare;
use crate::Result;
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt, stream};
use pricestream_records::{QualityCheck, QualityFinding};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;
use uuid::Uuid;

/// The table: one partition per ticker, its findings in date order.
pub(super) const DATA_QUALITY: &str = "CREATE TABLE IF NOT EXISTS {ks}.data_quality (
    ticker text,
    date date,
    check text,
    detail text,
    resolved boolean,
    task_number uuid,
    PRIMARY KEY ((ticker), date, check)
) WITH CLUSTERING ORDER BY (date ASC, check ASC)";

/// Writes and reads `data_quality`.
pub struct DataQualityTable {
    session: Arc<Session>,
    upsert: PreparedStatement,
    select: PreparedStatement,
    table: String,
    in_flight: usize,
}

impl DataQualityTable {
    /// Prepares the upsert against `keyspace.data_quality`, with at most `in_flight` writes at once.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, in_flight: usize) -> Result<Self> {
        let table = format!("{keyspace}.data_quality");
        let cql = format!(
            "INSERT INTO {table} (ticker, date, check, detail, resolved, task_number) VALUES (?, ?, ?, ?, ?, ?)"
        );
        let upsert = prepare(&session, cql).await?;
        let cql = format!("SELECT date, check, detail, resolved FROM {table} WHERE ticker = ?");
        let select = prepare(&session, cql).await?;
        Ok(DataQualityTable { session, upsert, select, table, in_flight: in_flight.max(1) })
    }

    /// Upserts every finding (a resolution marks its row resolved), recorded as found by run
    /// `task_number`; returns how many.
    pub async fn write_all(&self, findings: &[QualityFinding], task_number: Uuid) -> Result<usize> {
        stream::iter(findings)
            .map(|f| async move {
                let values = (&*f.ticker, f.date, f.check.as_str(), &f.detail, f.resolved, task_number);
                self.session.execute_unpaged(&self.upsert, values).await.map_err(|source| {
                    CassandraError::Write {
                        table: self.table.clone(),
                        key: format!("{}/{}/{}", f.ticker, f.date, f.check.as_str()),
                        source,
                    }
                })?;
                Ok::<usize, CassandraError>(1)
            })
            .buffer_unordered(self.in_flight)
            .try_fold(0, |written, one| async move { Ok(written + one) })
            .await
    }

    /// The findings of `ticker` that are not resolved, in date order.
    pub async fn read_open(&self, ticker: &str) -> Result<Vec<QualityFinding>> {
        let read = |message: String| CassandraError::Read { table: self.table.clone(), message };
        let result =
            self.session.execute_unpaged(&self.select, (ticker,)).await.map_err(|e| read(e.to_string()))?;
        let rows = result.into_rows_result().map_err(|e| read(e.to_string()))?;
        let mut open = Vec::new();
        for row in rows.rows::<(NaiveDate, String, String, bool)>().map_err(|e| read(e.to_string()))? {
            let (date, check, detail, resolved) = row.map_err(|e| read(e.to_string()))?;
            // A check this release does not know is left alone.
            let Some(check) = QualityCheck::ALL.into_iter().find(|c| c.as_str() == check) else { continue };
            if !resolved {
                open.push(QualityFinding { ticker: ticker.into(), date, check, detail, resolved });
            }
        }
        Ok(open)
    }
}
