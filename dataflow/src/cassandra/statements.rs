//! Preparing CQL statements: the error names the statement, and inserts are spelled once.

use super::CassandraError;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

/// Prepares `cql`; a failure names the statement.
pub async fn prepare(session: &Session, cql: String) -> Result<PreparedStatement, CassandraError> {
    session.prepare(cql.as_str()).await.map_err(|source| CassandraError::Prepare { statement: cql, source })
}

/// `INSERT INTO table (columns) VALUES (?, …)`, one marker per comma-separated column.
pub fn insert_cql(table: &str, columns: &str) -> String {
    let markers = vec!["?"; columns.split(',').count()].join(", ");
    format!("INSERT INTO {table} ({columns}) VALUES ({markers})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_marker_per_column() {
        assert_eq!(insert_cql("ks.t", "a, b,c"), "INSERT INTO ks.t (a, b,c) VALUES (?, ?, ?)");
    }
}
