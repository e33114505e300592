//! The publisher against the real local Kafka: a batch far larger than librdkafka's local queue
//! is delivered whole, each record once, in order within its partition.

use pricestream_kafka::{Publisher, ensure_topics};
use pricestream_records::topics::PREDICTIONS_RETENTION;
use pricestream_runtime::config::KafkaConfig;
use pricestream_tests::{Namespace, kafka, kafka_brokers};
use std::collections::BTreeMap;

#[derive(serde::Serialize)]
struct Numbered {
    n: usize,
}

#[tokio::test]
async fn a_batch_larger_than_the_local_queue_is_delivered_whole_and_in_order() -> anyhow::Result<()> {
    const QUEUE: usize = 50;
    const RECORDS: usize = 2_000;
    let ns = Namespace::unique();
    // The queue holds 50 records; the batch queues them without waiting, so it meets a full
    // queue long before its end (a round trip to the broker takes far longer than queueing 50).
    let config = KafkaConfig {
        brokers: kafka_brokers(),
        topic_prefix: ns.topic_prefix.clone(),
        properties: BTreeMap::from([("queue.buffering.max.messages".to_owned(), QUEUE.to_string())]),
        ..KafkaConfig::default()
    };
    let topic = format!("{}numbers", ns.topic_prefix);
    ensure_topics(&config, &[(&topic, PREDICTIONS_RETENTION)]).await?;
    let keys = ["AAA", "BBB", "CCC"];
    let records = (0..RECORDS).map(|n| (keys[n % keys.len()], Numbered { n }));
    let publisher = Publisher::new(&config)?;
    let task = uuid::Uuid::new_v4();
    assert_eq!(publisher.publish_all(&topic, task, records).await?, RECORDS);

    let read = topic.clone();
    let received = tokio::task::spawn_blocking(move || kafka::read_topic(&read)).await??;
    assert_eq!(received.len(), RECORDS, "every record once");
    for key in keys {
        let mut numbers: Vec<(i64, usize)> = Vec::new();
        for message in received.iter().filter(|m| m.key == key) {
            let json: serde_json::Value = serde_json::from_slice(&message.payload)?;
            assert_eq!(json["schema_version"], 1);
            let n = json["n"].as_u64().and_then(|n| usize::try_from(n).ok());
            numbers.push((message.offset, n.ok_or_else(|| anyhow::anyhow!("no number in {json}"))?));
            assert!(message.headers.contains(&("task_number".to_owned(), task.to_string())));
        }
        numbers.sort_unstable();
        let in_offset_order: Vec<usize> = numbers.into_iter().map(|(_, n)| n).collect();
        let sent: Vec<usize> = (0..RECORDS).filter(|n| keys[n % keys.len()] == key).collect();
        assert_eq!(in_offset_order, sent, "{key}'s records in the order they were sent");
    }
    Ok(())
}
