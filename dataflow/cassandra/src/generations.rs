//! Fencing: the generation of a service's cluster, taken with a lightweight transaction when a
//! new incarnation starts. A process of an older incarnation sees a newer generation stored and
//! stops before it commits offsets or writes rows.

use super::CassandraError;
use super::statements::prepare;
use crate::Result;
use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, Row};
use std::sync::Arc;

/// The `generations` table of the mart keyspace: one row per consumer group.
pub struct GenerationTable {
    session: Arc<Session>,
    /// A linearizable read (consistency SERIAL): it sees every claim that was applied.
    current: PreparedStatement,
    insert: PreparedStatement,
    update: PreparedStatement,
    table: String,
}

/// How often a claim is tried when other incarnations claim at the same time.
const CLAIM_ATTEMPTS: usize = 20;

impl GenerationTable {
    /// Prepares the statements against `keyspace.generations` (created by the mart schema).
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self> {
        let table = format!("{keyspace}.generations");
        let mut current =
            prepare(&session, format!("SELECT generation FROM {table} WHERE group_id = ?")).await?;
        current.set_consistency(Consistency::Serial);
        let insert = prepare(
            &session,
            format!(
                "INSERT INTO {table} (group_id, generation, claimed_at, claimed_by) VALUES (?, 1, ?, ?) IF NOT EXISTS"
            ),
        )
        .await?;
        let update = prepare(
            &session,
            format!(
                "UPDATE {table} SET generation = ?, claimed_at = ?, claimed_by = ? WHERE group_id = ? IF generation = ?"
            ),
        )
        .await?;
        Ok(GenerationTable { session, current, insert, update, table })
    }

    /// The generation stored for `group_id`, read linearizably; `None` before the first claim.
    pub async fn current(&self, group_id: &str) -> Result<Option<i64>> {
        let result = self
            .session
            .execute_unpaged(&self.current, (group_id,))
            .await
            .map_err(|e| CassandraError::Read { table: self.table.clone(), message: e.to_string() })?;
        let rows = result.into_rows_result().map_err(|e| self.decode_error(e))?;
        Ok(rows
            .maybe_first_row::<(i64,)>()
            .map_err(|e| self.decode_error(e))?
            .map(|(generation,)| generation))
    }

    /// Takes the next generation of `group_id` for the incarnation `claimed_by` (a readable
    /// name: host and process), returning it. Every claim gets a generation of its own, also
    /// when several incarnations claim at once.
    pub async fn claim(&self, group_id: &str, claimed_by: &str) -> Result<i64> {
        let now: DateTime<Utc> = Utc::now();
        for _ in 0..CLAIM_ATTEMPTS {
            let (applied, claimed) = match self.current(group_id).await? {
                None => {
                    let result = self.execute(&self.insert, (group_id, now, claimed_by), group_id).await?;
                    (self.applied(result)?, 1)
                }
                Some(stored) => {
                    let next = stored + 1;
                    let values = (next, now, claimed_by, group_id, stored);
                    let result = self.execute(&self.update, values, group_id).await?;
                    (self.applied(result)?, next)
                }
            };
            if applied {
                return Ok(claimed);
            }
        }
        Err(CassandraError::VersionConflict {
            table: self.table.clone(),
            scope: group_id.to_owned(),
            attempts: CLAIM_ATTEMPTS,
        })
    }

    async fn execute(
        &self,
        statement: &PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
        group_id: &str,
    ) -> Result<scylla::response::query_result::QueryResult> {
        self.session.execute_unpaged(statement, values).await.map_err(|source| CassandraError::Write {
            table: self.table.clone(),
            key: group_id.to_owned(),
            source,
        })
    }

    fn applied(&self, result: scylla::response::query_result::QueryResult) -> Result<bool> {
        let rows = result.into_rows_result().map_err(|e| self.decode_error(e))?;
        let row: Row = rows.first_row().map_err(|e| self.decode_error(e))?;
        match row.columns.first() {
            Some(Some(CqlValue::Boolean(applied))) => Ok(*applied),
            other => Err(self.decode_error(format!("unexpected [applied] column: {other:?}"))),
        }
    }

    fn decode_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Decode { table: self.table.clone(), message: message.to_string() }
    }
}
