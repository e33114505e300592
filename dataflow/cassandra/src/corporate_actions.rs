//! The warehouse's corporate actions (`corporate_actions`): one row per ticker, ex-date and
//! kind, so sending an action again rewrites the same row and a corrected one replaces it.

use super::CassandraError;
use super::statements::insert_cql;
use super::ticker_rows::{TickerTable, partition_rows, write_each};
use crate::Result;
use chrono::NaiveDate;
use pricestream_records::{ActionKind, CorporateAction};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::sync::Arc;
use uuid::Uuid;

/// The table: one partition per ticker, its actions in ex-date order.
pub(super) const CORPORATE_ACTIONS: &str = "CREATE TABLE IF NOT EXISTS {ks}.corporate_actions (
    ticker text,
    ex_date date,
    kind text,
    ratio double,
    amount double,
    task_number uuid,
    PRIMARY KEY ((ticker), ex_date, kind)
) WITH CLUSTERING ORDER BY (ex_date ASC, kind ASC)";

/// Writes and reads `corporate_actions`.
pub struct CorporateActionTable {
    rows: TickerTable,
    insert: PreparedStatement,
    delete: PreparedStatement,
    select: PreparedStatement,
}

/// A stored row: ex-date, kind, ratio, amount.
type Row = (NaiveDate, String, Option<f64>, Option<f64>);

impl CorporateActionTable {
    /// Prepares the statements against `keyspace.corporate_actions`, with at most `in_flight`
    /// writes at once.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, in_flight: usize) -> Result<Self> {
        let cql = [
            &insert_cql("{table}", "ticker, ex_date, kind, ratio, amount, task_number"),
            "DELETE FROM {table} WHERE ticker = ? AND ex_date = ? AND kind = ?",
            "SELECT ex_date, kind, ratio, amount FROM {table} WHERE ticker = ?",
        ];
        let (rows, [insert, delete, select]) =
            TickerTable::open(session, (keyspace, "corporate_actions"), in_flight, cql).await?;
        Ok(CorporateActionTable { rows, insert, delete, select })
    }

    /// Upserts every action, recorded as sent by run `task_number`, and deletes every withdrawn
    /// one's row; returns how many.
    pub async fn write_all(&self, actions: &[CorporateAction], task_number: Uuid) -> Result<usize> {
        write_each(actions, self.rows.in_flight, |action| async move {
            let (kind, ratio, amount) = action.kind.columns();
            let written = match action.withdrawn {
                true => {
                    self.rows
                        .session
                        .execute_unpaged(&self.delete, (&*action.ticker, action.ex_date, kind))
                        .await
                }
                false => {
                    let values = (&*action.ticker, action.ex_date, kind, ratio, amount, task_number);
                    self.rows.session.execute_unpaged(&self.insert, values).await
                }
            };
            let key = format!("{}/{}/{kind}", action.ticker, action.ex_date);
            written.map(drop).map_err(|source| CassandraError::Write {
                table: self.rows.table.clone(),
                key,
                source,
            })
        })
        .await
    }

    /// The actions stored for `ticker`, in ex-date order.
    pub async fn read(&self, ticker: &str) -> Result<Vec<CorporateAction>> {
        let decode = |message: String| CassandraError::Decode { table: self.rows.table.clone(), message };
        let rows: Vec<Row> =
            partition_rows(&self.rows.session, &self.select, &self.rows.table, ticker).await?;
        rows.into_iter()
            .map(|(ex_date, kind, ratio, amount)| {
                let kind = ActionKind::from_columns(&kind, ratio, amount)
                    .ok_or_else(|| decode(format!("{ticker} {ex_date}: kind `{kind}` without its number")))?;
                Ok(CorporateAction { ticker: ticker.into(), ex_date, kind, withdrawn: false })
            })
            .collect()
    }
}
