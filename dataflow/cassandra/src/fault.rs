//! Which failed Cassandra requests are outages, bad rows or fatal.

use pricestream_runtime::fault::Fault;
use scylla::errors::{DbError, ExecutionError, PrepareError, RequestAttemptError};

/// The fault of a failed Cassandra request.
pub fn cassandra_fault(error: &ExecutionError) -> Fault {
    match error {
        ExecutionError::BadQuery(_) => Fault::Refused,
        ExecutionError::LastAttemptError(attempt) => attempt_fault(attempt),
        ExecutionError::PrepareError(prepare) => prepare_fault(prepare),
        // No node reachable, a timeout, a pool being rebuilt, schema agreement during a restart.
        _ => Fault::Transient,
    }
}

/// The fault of a failed prepare.
pub fn prepare_fault(error: &PrepareError) -> Fault {
    match error {
        PrepareError::AllAttemptsFailed { first_attempt } => attempt_fault(first_attempt),
        _ => Fault::Transient,
    }
}

fn attempt_fault(error: &RequestAttemptError) -> Fault {
    match error {
        RequestAttemptError::SerializationError(_) | RequestAttemptError::CqlRequestSerialization(_) => {
            Fault::Refused
        }
        RequestAttemptError::DbError(db, message) => db_fault(db, message),
        _ => Fault::Transient,
    }
}

fn db_fault(error: &DbError, message: &str) -> Fault {
    match error {
        DbError::AuthenticationError
        | DbError::Unauthorized
        | DbError::ConfigError
        | DbError::SyntaxError => Fault::Fatal,
        // `Invalid` is both "this key is too long" (the row) and "unconfigured table" (the
        // schema): only the first is the row's fault.
        DbError::Invalid if schema_missing(message) => Fault::Fatal,
        DbError::Invalid | DbError::AlreadyExists { .. } | DbError::FunctionFailure { .. } => Fault::Refused,
        _ => Fault::Transient,
    }
}

fn schema_missing(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["unconfigured table", "does not exist", "undefined column", "unknown identifier"]
        .iter()
        .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scylla::errors::BadQuery;

    fn db(error: DbError, message: &str) -> ExecutionError {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(error, message.into()))
    }

    #[test]
    fn cassandra_errors_split_into_outages_bad_rows_and_fatal_ones() {
        let too_long = db(DbError::Invalid, "Key length of 70000 is longer than maximum of 65535");
        assert_eq!(cassandra_fault(&too_long), Fault::Refused);
        assert_eq!(cassandra_fault(&db(DbError::Invalid, "unconfigured table features")), Fault::Fatal);
        assert_eq!(cassandra_fault(&db(DbError::Unauthorized, "no")), Fault::Fatal);
        assert_eq!(cassandra_fault(&db(DbError::Overloaded, "busy")), Fault::Transient);
        assert_eq!(cassandra_fault(&db(DbError::IsBootstrapping, "")), Fault::Transient);
        assert_eq!(cassandra_fault(&ExecutionError::EmptyPlan), Fault::Transient);
        assert_eq!(
            cassandra_fault(&ExecutionError::RequestTimeout(std::time::Duration::from_secs(1))),
            Fault::Transient
        );
        assert_eq!(
            cassandra_fault(&ExecutionError::BadQuery(BadQuery::TooManyQueriesInBatchStatement(70_000))),
            Fault::Refused
        );
    }
}
