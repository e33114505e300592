//! The warehouse's data-quality ledger (`data_quality`): one row per ticker, day and check,
//! so a finding sent again rewrites its row and its resolution marks it resolved.

use super::CassandraError;
use super::statements::insert_cql;
use super::ticker_rows::{TickerTable, partition_rows, write_each};
use crate::Result;
use chrono::NaiveDate;
use pricestream_records::{QualityCheck, QualityFinding};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;
use uuid::Uuid;

/// The table: one partition per ticker, its findings in date order.
pub(super) const DATA_QUALITY: &str = "CREATE TABLE IF NOT EXISTS {ks}.data_quality \
    (ticker text, date date, check text, detail text, resolved boolean, task_number uuid, \
    PRIMARY KEY ((ticker), date, check)) WITH CLUSTERING ORDER BY (date ASC, check ASC)";

/// Writes and reads `data_quality`.
pub struct DataQualityTable {
    rows: TickerTable,
    upsert: PreparedStatement,
    select: PreparedStatement,
}

impl DataQualityTable {
    /// Prepares the upsert against `keyspace.data_quality`, with at most `in_flight` writes at once.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, in_flight: usize) -> Result<Self> {
        let upsert = insert_cql("{table}", "ticker, date, check, detail, resolved, task_number");
        let select = "SELECT date, check, detail, resolved FROM {table} WHERE ticker = ?";
        let (rows, [upsert, select]) =
            TickerTable::open(session, (keyspace, "data_quality"), in_flight, [&upsert, select]).await?;
        Ok(DataQualityTable { rows, upsert, select })
    }

    /// Upserts every finding (a resolution marks its row resolved), recorded as found by run
    /// `task_number`; returns how many.
    pub async fn write_all(&self, findings: &[QualityFinding], task_number: Uuid) -> Result<usize> {
        write_each(findings, self.rows.in_flight, |f| async move {
            let values = (&*f.ticker, f.date, f.check.as_str(), &f.detail, f.resolved, task_number);
            let written = self.rows.session.execute_unpaged(&self.upsert, values).await;
            let key = || format!("{}/{}/{}", f.ticker, f.date, f.check.as_str());
            written.map(drop).map_err(|source| CassandraError::Write {
                table: self.rows.table.clone(),
                key: key(),
                source,
            })
        })
        .await
    }

    /// The findings of `ticker` that are not resolved, in date order.
    pub async fn read_open(&self, ticker: &str) -> Result<Vec<QualityFinding>> {
        let rows: Vec<(NaiveDate, String, String, bool)> =
            partition_rows(&self.rows.session, &self.select, &self.rows.table, ticker).await?;
        // A check this release does not know is left alone.
        let known = |name: &str| QualityCheck::ALL.into_iter().find(|c| c.as_str() == name);
        Ok(rows
            .into_iter()
            .filter(|(.., resolved)| !resolved)
            .filter_map(|(date, check, detail, resolved)| {
                Some(QualityFinding { ticker: ticker.into(), date, check: known(&check)?, detail, resolved })
            })
            .collect())
    }
}
