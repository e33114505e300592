use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaErrorCode;
use std::time::{Duration, Instant};
use tracing::warn;

/// Errors a healthy cluster returns while it settles: a new broker creating
/// `__consumer_offsets`, a leader election, a slow request.
pub fn is_transient(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            NotCoordinator
                | CoordinatorNotAvailable
                | CoordinatorLoadInProgress
                | LeaderNotAvailable
                | NotLeaderForPartition
                | RequestTimedOut
                | OperationTimedOut
                | BrokerTransportFailure
                | AllBrokersDown
        )
    )
}

/// Calls `request` until it succeeds, fails with a non-transient error, or
/// `give_up_after` passes, backing off from 100 ms to 2 s between tries.
pub fn retry_transient<T>(
    what: &str,
    give_up_after: Duration,
    mut request: impl FnMut() -> KafkaResult<T>,
) -> KafkaResult<T> {
    let deadline = Instant::now() + give_up_after;
    let mut pause = Duration::from_millis(100);
    loop {
        match request() {
            Err(error) if is_transient(&error) && Instant::now() + pause < deadline => {
                warn!(request = what, "Kafka not ready yet, retrying in {pause:?}: {error}");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn retries_transient_errors_and_gives_up_on_others() {
        let calls = Cell::new(0);
        let result = retry_transient("test", Duration::from_secs(5), || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(KafkaError::MetadataFetch(RDKafkaErrorCode::NotCoordinator))
            } else {
                Ok(7)
            }
        });
        assert_eq!((result.ok(), calls.get()), (Some(7), 3));

        calls.set(0);
        let result: KafkaResult<()> = retry_transient("test", Duration::from_secs(5), || {
            calls.set(calls.get() + 1);
            Err(KafkaError::MetadataFetch(RDKafkaErrorCode::TopicAuthorizationFailed))
        });
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }
}
