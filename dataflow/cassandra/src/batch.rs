use super::CassandraError;
use crate::Result;
use futures::{StreamExt, TryStreamExt, stream};
use pricestream_records::Timeframe;
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchStatement, BatchType};
use scylla::statement::prepared::PreparedStatement;
use std::collections::HashMap;

/// A series' partition key, the ticker and timeframe every per-series table is keyed by
/// (shown as `NVDA/1day` in errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeriesKey<'a> {
    /// The ticker.
    pub ticker: &'a str,
    /// The timeframe.
    pub timeframe: Timeframe,
}

impl std::fmt::Display for SeriesKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.ticker, self.timeframe)
    }
}

/// Rows that all belong to one partition, written as unlogged batches: one
/// round trip and one mutation per chunk instead of one per row, without
/// the cost of a logged batch (a single-partition batch is applied atomically anyway).
pub struct PartitionRows<K, T> {
    /// The partition (a [`SeriesKey`] for most tables).
    pub key: K,
    /// The rows' bound values.
    pub rows: Vec<T>,
}

/// How a table's writes are grouped into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Rows of one partition per unlogged batch (at least 1).
    pub rows: usize,
    /// Requests in flight at once (at least 1).
    pub in_flight: usize,
}

/// Writes every partition's rows with `statement`, `limits.rows` per batch, at most
/// `limits.in_flight` batches at once. Returns the rows written.
pub async fn write_partitions<K: Copy + std::fmt::Display, T: SerializeRow>(
    session: &Session,
    statement: &PreparedStatement,
    table: &str,
    partitions: Vec<PartitionRows<K, T>>,
    limits: BatchLimits,
) -> Result<usize> {
    let chunks = || {
        partitions.iter().flat_map(|partition| {
            partition.rows.chunks(limits.rows.max(1)).map(move |rows| (partition.key, rows))
        })
    };
    // One batch of each size, shared by its chunks: a batch holds a copy of the statement for
    // each of its rows.
    let mut batches = HashMap::new();
    for (_, rows) in chunks() {
        batches.entry(rows.len()).or_insert_with(|| {
            Batch::new_with_statements(
                BatchType::Unlogged,
                vec![BatchStatement::from(statement.clone()); rows.len()],
            )
        });
    }
    let batches = &batches;
    stream::iter(chunks())
        .map(|(key, rows)| async move {
            let failed =
                |source| CassandraError::Write { table: table.to_owned(), key: key.to_string(), source };
            match (rows, batches.get(&rows.len())) {
                // A batch of one costs the coordinator more than the statement itself.
                ([row], _) => session.execute_unpaged(statement, row).await.map(drop).map_err(failed)?,
                (_, Some(batch)) => session.batch(batch, rows).await.map(drop).map_err(failed)?,
                (_, None) => unreachable!("a batch was made for every chunk size"),
            }
            Ok::<usize, CassandraError>(rows.len())
        })
        .buffer_unordered(limits.in_flight.max(1))
        .try_fold(0, |written, rows| async move { Ok(written + rows) })
        .await
}

/// Groups `(partition key, row)` pairs by key, keeping first-seen order.
pub fn group_by_partition<K: Copy + Eq + std::hash::Hash, T>(
    rows: impl IntoIterator<Item = (K, T)>,
) -> Vec<PartitionRows<K, T>> {
    let mut index = HashMap::<K, usize>::new();
    let mut partitions: Vec<PartitionRows<K, T>> = Vec::new();
    for (key, row) in rows {
        match index.get(&key) {
            Some(&i) => partitions[i].rows.push(row),
            None => {
                index.insert(key, partitions.len());
                partitions.push(PartitionRows { key, rows: vec![row] });
            }
        }
    }
    partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_rows_by_partition_in_first_seen_order() {
        let key = |ticker| SeriesKey { ticker, timeframe: Timeframe::Day };
        let grouped = group_by_partition([(key("b"), 1), (key("a"), 2), (key("b"), 3)]);
        let view: Vec<(String, &[i32])> =
            grouped.iter().map(|p| (p.key.to_string(), p.rows.as_slice())).collect();
        assert_eq!(view, [("b/1day".to_owned(), &[1, 3][..]), ("a/1day".to_owned(), &[2][..])]);
    }
}
