//! The two request shapes most tables share: every row of a paged read, and one statement per
//! item with a bounded number in flight. Errors name the table (and the item's key).

use super::CassandraError;
use crate::Result;
use futures::{StreamExt, TryStreamExt, stream};
use scylla::client::session::Session;
use scylla::deserialize::row::DeserializeRow;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;

/// Every row `statement` returns for `values`, read page by page from `table`.
pub(crate) async fn read_all<R>(
    session: &Session,
    statement: &PreparedStatement,
    values: impl SerializeRow,
    table: &str,
) -> Result<Vec<R>>
where
    R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata> + 'static,
{
    let read = |message: String| CassandraError::Read { table: table.to_owned(), message };
    let decode = |message: String| CassandraError::Decode { table: table.to_owned(), message };
    let mut rows = session
        .execute_iter(statement.clone(), values)
        .await
        .map_err(|e| read(e.to_string()))?
        .rows_stream::<R>()
        .map_err(|e| decode(e.to_string()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await {
        out.push(row.map_err(|e| read(e.to_string()))?);
    }
    Ok(out)
}

/// The (ticker, timeframe, year) partitions a history table's `statement` (`SELECT DISTINCT`)
/// lists, sorted.
pub(crate) async fn year_partitions(
    session: &Session,
    statement: &PreparedStatement,
    table: &str,
) -> Result<Vec<(String, pricestream_records::Timeframe, i32)>> {
    let rows: Vec<(String, String, i32)> = read_all(session, statement, (), table).await?;
    let decode = |message: String| CassandraError::Decode { table: table.to_owned(), message };
    let mut out = rows
        .into_iter()
        .map(|(ticker, timeframe, year)| {
            Ok((ticker, timeframe.parse().map_err(|e| decode(format!("{e}")))?, year))
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

/// Runs `statement` once per item with the values `bind` gives it, at most `in_flight` at once;
/// a failure names `table` and the item's `key`. Returns how many ran.
pub(crate) async fn execute_each<'a, T, V: SerializeRow>(
    session: &Session,
    statement: &PreparedStatement,
    items: &'a [T],
    bind: impl Fn(&'a T) -> V,
    key: impl Fn(&T) -> String,
    table: &str,
    in_flight: usize,
) -> Result<usize> {
    let (bind, key) = (&bind, &key);
    stream::iter(items)
        .map(|item| async move {
            session.execute_unpaged(statement, bind(item)).await.map_err(|source| CassandraError::Write {
                table: table.to_owned(),
                key: key(item),
                source,
            })
        })
        .buffer_unordered(in_flight.max(1))
        .try_fold(0, |done, _| async move { Ok(done + 1) })
        .await
}
