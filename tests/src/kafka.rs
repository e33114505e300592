//! Reading back what the binaries published to Kafka.

use crate::kafka_brokers;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// One message as read back.
#[derive(Debug, Clone)]
pub struct Received {
    /// Partition it was on.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key.
    pub key: String,
    /// Its value (empty for a tombstone).
    pub payload: Vec<u8>,
    /// Whether it has no value at all: a tombstone.
    pub tombstone: bool,
    /// Its headers.
    pub headers: Vec<(String, String)>,
}

/// Every message of `topic`, from the start to the end offsets it has now.
pub fn read_topic(topic: &str) -> anyhow::Result<Vec<Received>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", format!("e2e-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut assignment = TopicPartitionList::new();
    let mut remaining = 0;
    for &partition in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10))?;
        remaining += high - low;
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut received = Vec::new();
    while remaining > 0 && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
        let message = message?;
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        received.push(Received {
            partition: message.partition(),
            offset: message.offset(),
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            payload: message.payload().unwrap_or_default().to_vec(),
            tombstone: message.payload().is_none(),
            headers,
        });
        remaining -= 1;
    }
    anyhow::ensure!(remaining == 0, "timed out with {remaining} message(s) of {topic} unread");
    Ok(received)
}

/// The feature-mart changelog `topic` read as a compacted-table reader does: the last change of
/// each key, a tombstone removing it. Every upsert's key must be its row's.
pub fn changelog_table(
    topic: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, pricestream_records::FeatureRow>> {
    use pricestream_records::FeatureChange;
    let mut table = std::collections::BTreeMap::new();
    for message in read_topic(topic)? {
        let payload = (!message.tombstone).then_some(message.payload.as_slice());
        match FeatureChange::from_message(&message.key, payload)? {
            FeatureChange::Upsert(row) => {
                anyhow::ensure!(FeatureChange::Upsert(row.clone()).key().message_key() == message.key);
                table.insert(message.key, *row);
            }
            FeatureChange::Delete(_) => {
                table.remove(&message.key);
            }
        }
    }
    Ok(table)
}
