//! Kafka clients built from [`pricestream_runtime::config::KafkaConfig`]: client settings,
//! topic creation, the producer that publishes records, and the consumer of the analytics
//! service's input ([`PartitionSource`]: partitions read in phases bounded by offsets, commits
//! with notes that never wait forever ([`committer`]), stalled fetchers restarted).
//!
//! ```no_run
//! # async fn publish() -> Result<(), Box<dyn std::error::Error>> {
//! use pricestream_kafka::Publisher;
//! use pricestream_records::topics::Topics;
//! use pricestream_runtime::config::KafkaConfig;
//!
//! let publisher = Publisher::new(&KafkaConfig::default())?;
//! let topics = Topics::with_prefix("pricestream.");
//! let forecasts: Vec<pricestream_records::Prediction> = Vec::new();
//! publisher
//!     .publish_derived(&topics.predictions, forecasts.iter().map(|p| (p.message_key(), p)))
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod admin;
mod client;
pub mod commit_note;
pub mod committer;
#[cfg(feature = "fault-injection")]
mod failure_injection;
mod fault;
mod partition_source;
mod publisher;
mod stall;
mod topic_reader;

pub use admin::{TopicMetadata, ensure_topics};
pub use client::{QuietContext, client_config};
pub use fault::kafka_fault;
pub use partition_source::{Batch, PartitionSource, Record, SourceSettings, Stamp, partitions_for};
pub use pricestream_records::topics::Retention;
pub use publisher::{PublishError, Publisher};
pub use topic_reader::read_topic;

/// Why a Kafka operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// A client could not be created (bad settings).
    #[error("cannot create Kafka client for {brokers}: {source}")]
    Client {
        /// Bootstrap brokers.
        brokers: String,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Creating a topic failed.
    #[error("cannot create topic `{topic}`: {message}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's answer.
        message: String,
    },
    /// The brokers did not answer a request.
    #[error("Kafka at {brokers} did not answer ({what}): {source}; is it running? (scripts/services status)")]
    Unreachable {
        /// Bootstrap brokers.
        brokers: String,
        /// The request that failed.
        what: String,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// The topic does not exist.
    #[error("topic `{0}` does not exist")]
    NoSuchTopic(String),
}

impl KafkaError {
    /// Whether waiting can fix this error (see [`pricestream_runtime::fault`]).
    pub fn fault(&self) -> pricestream_runtime::fault::Fault {
        use pricestream_runtime::fault::Fault;
        match self {
            KafkaError::Client { .. } => Fault::Fatal,
            KafkaError::CreateTopic { .. } => Fault::Fatal,
            KafkaError::Unreachable { source, .. } => kafka_fault(source),
            // A topic being created by another service, or metadata not caught up yet.
            KafkaError::NoSuchTopic(_) => Fault::Transient,
        }
    }
}
