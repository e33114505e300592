//! Reads a small topic whole, from each partition's first offset to its end: the analytics
//! service's own state kept in a topic (the trading days declared) is read back this way at
//! start.

use super::{KafkaError, QuietContext, client_config};
use pricestream_runtime::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// Every message value of `topic`, partition by partition, each in offset order; nothing when
/// the topic does not exist. Blocking; fails when the brokers do not answer within `timeout`.
pub fn read_topic(config: &KafkaConfig, topic: &str, timeout: Duration) -> Result<Vec<Vec<u8>>, KafkaError> {
    let unreachable = |what: String| {
        let brokers = config.brokers.clone();
        move |source| KafkaError::Unreachable { brokers, what, source }
    };
    let consumer: BaseConsumer<QuietContext> = client_config(config)
        .set("group.id", "pricestream-topic-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create_with_context(QuietContext::default())
        .map_err(|source| KafkaError::Client { brokers: config.brokers.clone(), source })?;
    let metadata =
        consumer.fetch_metadata(Some(topic), timeout).map_err(unreachable(format!("metadata of {topic}")))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut ends = Vec::new();
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(unreachable(format!("offsets of {topic} [{partition}]")))?;
        if high > low {
            assignment
                .add_partition_offset(topic, partition, Offset::Offset(low))
                .map_err(unreachable(format!("assign {topic} [{partition}]")))?;
            ends.push((partition, high));
        }
    }
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    consumer.assign(&assignment).map_err(unreachable(format!("assign {topic}")))?;
    let mut values: Vec<(i32, i64, Vec<u8>)> = Vec::new();
    let started = Instant::now();
    while !ends.is_empty() {
        let left = timeout.checked_sub(started.elapsed()).ok_or_else(|| KafkaError::Unreachable {
            brokers: config.brokers.clone(),
            what: format!("read {topic} to its end"),
            source: rdkafka::error::KafkaError::MessageConsumption(
                rdkafka::types::RDKafkaErrorCode::RequestTimedOut,
            ),
        })?;
        let Some(message) = consumer.poll(left.min(Duration::from_millis(200))) else { continue };
        let message = message.map_err(unreachable(format!("read {topic}")))?;
        let (partition, offset) = (message.partition(), message.offset());
        values.push((partition, offset, message.payload().map(<[u8]>::to_vec).unwrap_or_default()));
        ends.retain(|(p, high)| *p != partition || offset + 1 < *high);
    }
    values.sort_by_key(|(partition, offset, _)| (*partition, *offset));
    Ok(values.into_iter().map(|(_, _, value)| value).collect())
}
