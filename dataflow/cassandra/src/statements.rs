//! Preparing CQL statements: the error names the statement, and inserts are spelled once.

use super::CassandraError;
use crate::Result;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

/// Prepares `cql`; a failure names the statement. Every statement but a lightweight
/// transaction (`… IF …`) is marked idempotent: writing the same row again, or deleting it
/// again, leaves the table as it was, so the driver may retry it and so may we.
pub async fn prepare(session: &Session, cql: String) -> Result<PreparedStatement> {
    let mut statement = session
        .prepare(cql.as_str())
        .await
        .map_err(|source| CassandraError::Prepare { statement: cql.clone(), source })?;
    statement.set_is_idempotent(!is_lightweight_transaction(&cql));
    Ok(statement)
}

fn is_lightweight_transaction(cql: &str) -> bool {
    cql.to_ascii_uppercase().split_whitespace().any(|word| word == "IF")
}

/// `INSERT INTO table (columns) VALUES (?, …)`, one marker per comma-separated column.
pub fn insert_cql(table: &str, columns: &str) -> String {
    let markers = vec!["?"; columns.split(',').count()].join(", ");
    format!("INSERT INTO {table} ({columns}) VALUES ({markers})")
}

/// The newest version of one row of a history table (keyed by series, year, `date_column` and
/// `known_from`): its last clustering entry for the date, read backwards.
pub fn newest_version_cql(table: &str, columns: &str, date_column: &str) -> String {
    format!(
        "SELECT {columns} FROM {table} WHERE ticker = ? AND timeframe = ? AND year = ? AND {date_column} = ? \
         ORDER BY {date_column} DESC, known_from DESC LIMIT 1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lightweight_transactions_are_not_idempotent() {
        assert!(is_lightweight_transaction("INSERT INTO t (a) VALUES (?) IF NOT EXISTS"));
        assert!(is_lightweight_transaction("UPDATE t SET g = ? WHERE k = ? if g = ?"));
        assert!(!is_lightweight_transaction("INSERT INTO t (a, diff) VALUES (?, ?)"));
        assert!(!is_lightweight_transaction("DELETE FROM t WHERE k = ?"));
    }

    #[test]
    fn one_marker_per_column() {
        assert_eq!(insert_cql("ks.t", "a, b,c"), "INSERT INTO ks.t (a, b,c) VALUES (?, ?, ?)");
    }
}
