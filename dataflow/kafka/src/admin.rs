use super::{KafkaError, QuietContext, client_config};
use pricestream_records::topics::Retention;
use pricestream_runtime::config::KafkaConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;
use tracing::info;

/// Creates the topics that do not exist yet, with the configured partitions
/// and replication and the given retention; existing topics are left as they are.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[(&str, Retention)]) -> Result<(), KafkaError> {
    let admin: AdminClient<QuietContext> = client_config(config)
        .create_with_context(QuietContext::default())
        .map_err(|source| KafkaError::Client { brokers: config.brokers.clone(), source })?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|&(name, retention)| {
            let (key, value) = retention.setting();
            NewTopic::new(
                name,
                config.topic_partitions,
                TopicReplication::Fixed(config.topic_replication_factor),
            )
            .set(key, value)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(&new_topics, &options).await.map_err(|source| {
        KafkaError::Unreachable { brokers: config.brokers.clone(), what: "create topics".into(), source }
    })?;
    for result in results {
        match result {
            Ok(topic) => info!(topic, partitions = config.topic_partitions, "Created topic."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::CreateTopic { topic, message: code.to_string() });
            }
        }
    }
    Ok(())
}

/// Asks the brokers about topics, through one client kept for it.
pub struct TopicMetadata {
    consumer: BaseConsumer<QuietContext>,
    brokers: String,
}

impl TopicMetadata {
    /// A client for the brokers of `config`.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let consumer = client_config(config)
            .create_with_context(QuietContext::default())
            .map_err(|source| KafkaError::Client { brokers: config.brokers.clone(), source })?;
        Ok(TopicMetadata { consumer, brokers: config.brokers.clone() })
    }

    /// Number of partitions of `topic`, asking the brokers (blocking, up to `timeout`).
    pub fn partition_count(&self, topic: &str, timeout: Duration) -> Result<usize, KafkaError> {
        let metadata =
            self.consumer.fetch_metadata(Some(topic), timeout).map_err(|source| KafkaError::Unreachable {
                brokers: self.brokers.clone(),
                what: format!("metadata of {topic}"),
                source,
            })?;
        metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.partitions().len())
            .ok_or_else(|| KafkaError::NoSuchTopic(topic.to_owned()))
    }
}
