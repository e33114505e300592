use super::CassandraError;
use crate::Result;
use futures::{StreamExt, TryStreamExt, stream};
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchStatement, BatchType};
use scylla::statement::prepared::PreparedStatement;

/// Rows that all belong to one partition, written as unlogged batches: one
/// round trip and one mutation per chunk instead of one per row, without
/// the cost of a logged batch (a single-partition batch is applied atomically anyway).
pub struct PartitionRows<T> {
    /// Readable partition key, for error messages.
    pub key: String,
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
pub async fn write_partitions<T: SerializeRow>(
    session: &Session,
    statement: &PreparedStatement,
    table: &str,
    partitions: Vec<PartitionRows<T>>,
    limits: BatchLimits,
) -> Result<usize> {
    let chunks = partitions.iter().flat_map(|partition| {
        partition.rows.chunks(limits.rows.max(1)).map(move |rows| (&partition.key, rows))
    });
    stream::iter(chunks)
        .map(|(key, rows)| async move {
            let failed = |source| CassandraError::Write { table: table.to_owned(), key: key.clone(), source };
            if let [row] = rows {
                // A batch of one costs the coordinator more than the statement itself.
                session.execute_unpaged(statement, row).await.map_err(failed)?;
                return Ok(1);
            }
            let statements = vec![BatchStatement::from(statement.clone()); rows.len()];
            let batch = Batch::new_with_statements(BatchType::Unlogged, statements);
            session.batch(&batch, rows).await.map_err(failed)?;
            Ok::<usize, CassandraError>(rows.len())
        })
        .buffer_unordered(limits.in_flight.max(1))
        .try_fold(0, |written, rows| async move { Ok(written + rows) })
        .await
}

/// Groups `(partition key, row)` pairs by key, keeping first-seen order.
pub fn group_by_partition<T>(rows: impl IntoIterator<Item = (String, T)>) -> Vec<PartitionRows<T>> {
    let mut index = std::collections::HashMap::<String, usize>::new();
    let mut partitions: Vec<PartitionRows<T>> = Vec::new();
    for (key, row) in rows {
        match index.get(&key) {
            Some(&i) => partitions[i].rows.push(row),
            None => {
                index.insert(key.clone(), partitions.len());
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
        let grouped = group_by_partition([("b".to_owned(), 1), ("a".into(), 2), ("b".into(), 3)]);
        let view: Vec<(&str, &[i32])> = grouped.iter().map(|p| (p.key.as_str(), p.rows.as_slice())).collect();
        assert_eq!(view, [("b", &[1, 3][..]), ("a", &[2][..])]);
    }
}
