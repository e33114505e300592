//! What the tables with one partition per ticker (`corporate_actions`, `data_quality`) share:
//! writing a list of rows with bounded concurrency, and reading one ticker's partition.

use super::CassandraError;
use crate::Result;
use futures::{StreamExt, TryStreamExt, stream};
use scylla::client::session::Session;
use scylla::deserialize::row::DeserializeRow;
use scylla::statement::prepared::PreparedStatement;
use std::future::Future;
use std::sync::Arc;

/// The session, the table's name and the writes allowed in flight: what each such table holds
/// besides its statements.
pub(crate) struct TickerTable {
    pub(crate) session: Arc<Session>,
    pub(crate) table: String,
    pub(crate) in_flight: usize,
}

impl TickerTable {
    /// The table `keyspace.name` and its statements `cql` prepared (`{table}` in them
    /// stands for the table's name).
    pub(crate) async fn open<const N: usize>(
        session: Arc<Session>,
        (keyspace, name): (&str, &str),
        in_flight: usize,
        cql: [&str; N],
    ) -> Result<(Self, [PreparedStatement; N])> {
        let table = TickerTable { session, table: format!("{keyspace}.{name}"), in_flight: in_flight.max(1) };
        let mut prepared = Vec::with_capacity(N);
        for cql in cql {
            prepared.push(
                super::statements::prepare(&table.session, cql.replace("{table}", &table.table)).await?,
            );
        }
        match prepared.try_into() {
            Ok(prepared) => Ok((table, prepared)),
            Err(_) => unreachable!("one statement per CQL text"),
        }
    }
}

/// Runs `write` for every item, at most `in_flight` at once; how many were written, or the
/// first error.
pub(crate) async fn write_each<'a, T, F, Fut>(items: &'a [T], in_flight: usize, write: F) -> Result<usize>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    stream::iter(items)
        .map(write)
        .buffer_unordered(in_flight.max(1))
        .try_fold(0, |written, ()| async move { Ok(written + 1) })
        .await
}

/// Every row of `ticker`'s partition of `table`, read with `select` (bound to the ticker).
pub(crate) async fn partition_rows<R>(
    session: &Session,
    select: &PreparedStatement,
    table: &str,
    ticker: &str,
) -> Result<Vec<R>>
where
    R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
{
    let read = |message: String| CassandraError::Read { table: table.to_owned(), message };
    let result = session.execute_unpaged(select, (ticker,)).await.map_err(|e| read(e.to_string()))?;
    let rows = result.into_rows_result().map_err(|e| read(e.to_string()))?;
    let rows = rows.rows::<R>().map_err(|e| read(e.to_string()))?;
    rows.map(|row| row.map_err(|e| read(e.to_string()))).collect()
}
