//! Which failed Kafka requests are outages, bad records or fatal.

use pricestream_runtime::fault::Fault;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// The fault of a failed Kafka request (produce, commit, metadata, poll).
pub fn kafka_fault(error: &KafkaError) -> Fault {
    use RDKafkaErrorCode::*;
    if matches!(
        error,
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) | KafkaError::MessageConsumptionFatal(_)
    ) {
        return Fault::Fatal;
    }
    match error.rdkafka_error_code() {
        Some(
            Authentication
            | SaslAuthenticationFailed
            | TopicAuthorizationFailed
            | GroupAuthorizationFailed
            | ClusterAuthorizationFailed
            | TransactionalIdAuthorizationFailed
            | DelegationTokenAuthorizationFailed
            | InvalidArgument
            | Fatal
            | OffsetMetadataTooLarge,
        ) => Fault::Fatal,
        Some(
            MessageSizeTooLarge | InvalidMessageSize | InvalidMessage | InvalidRecord | MessageBatchTooLarge,
        ) => Fault::Refused,
        _ => Fault::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_split_into_outages_bad_records_and_fatal_ones() {
        let produce = |code| KafkaError::MessageProduction(code);
        assert_eq!(kafka_fault(&produce(RDKafkaErrorCode::AllBrokersDown)), Fault::Transient);
        assert_eq!(kafka_fault(&produce(RDKafkaErrorCode::MessageTimedOut)), Fault::Transient);
        assert_eq!(kafka_fault(&produce(RDKafkaErrorCode::MessageSizeTooLarge)), Fault::Refused);
        assert_eq!(kafka_fault(&produce(RDKafkaErrorCode::TopicAuthorizationFailed)), Fault::Fatal);
        assert_eq!(
            kafka_fault(&KafkaError::ConsumerCommit(RDKafkaErrorCode::BrokerTransportFailure)),
            Fault::Transient
        );
        assert_eq!(
            kafka_fault(&KafkaError::MessageConsumption(RDKafkaErrorCode::SaslAuthenticationFailed)),
            Fault::Fatal
        );
    }
}
