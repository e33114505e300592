use super::{KafkaError, QuietContext, client_config};
use pricestream_records::topics::{KNOWN_FROM_HEADER, SCHEMA_VERSION_HEADER, TASK_NUMBER_HEADER};
use pricestream_records::wire;
use pricestream_runtime::config::KafkaConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::{AsyncRuntime, DefaultRuntime};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;
use uuid::Uuid;

/// Each keyed record with its [`wire::encode`]d bytes.
fn encoded<'a, T: Serialize + 'a>(
    records: impl IntoIterator<Item = (&'a str, T)>,
) -> impl Iterator<Item = (&'a str, Vec<u8>)> {
    records.into_iter().map(|(key, record)| (key, wire::encode(&record)))
}

/// How long a send waits when librdkafka's queue is full of other batches' records.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

/// 1 once the record queued as `delivery` is acknowledged, or why it was not.
async fn delivered(topic: &str, key: &str, delivery: DeliveryFuture) -> Result<usize, PublishError> {
    let failed = |source| PublishError { topic: topic.to_owned(), key: key.to_owned(), source };
    match delivery.await {
        Ok(Ok(_)) => Ok(1),
        Ok(Err((source, _))) => Err(failed(source)),
        // The producer went away with the record still queued.
        Err(_) => Err(failed(rdkafka::error::KafkaError::Canceled)),
    }
}

/// Why a record was not acknowledged by Kafka.
#[derive(Debug, thiserror::Error)]
#[error("Kafka did not acknowledge a record for topic `{topic}` key `{key}`: {source}")]
pub struct PublishError {
    /// The topic.
    pub topic: String,
    /// The record's key.
    pub key: String,
    /// librdkafka's error.
    #[source]
    pub source: rdkafka::error::KafkaError,
}

impl pricestream_runtime::fault::DependencyError for PublishError {
    const DEPENDENCY: pricestream_runtime::fault::Dependency = pricestream_runtime::fault::Dependency::Kafka;

    fn fault(&self) -> pricestream_runtime::fault::Fault {
        crate::kafka_fault(&self.source)
    }
}

/// An idempotent producer that publishes records as versioned JSON, keyed and
/// tagged with the extraction run they came from.
pub struct Publisher {
    producer: FutureProducer<QuietContext>,
}

impl Publisher {
    /// Creates the producer. `enable.idempotence` keeps retries from
    /// duplicating or reordering records within a partition.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        Self::with_context(config, QuietContext::default())
    }

    /// [`Publisher::new`], reporting lost brokers to `outages` while sends wait for them.
    pub fn reporting(
        config: &KafkaConfig,
        outages: std::sync::Arc<pricestream_runtime::fault::Outages>,
    ) -> Result<Self, KafkaError> {
        Self::with_context(config, QuietContext::reporting(outages))
    }

    fn with_context(config: &KafkaConfig, context: QuietContext) -> Result<Self, KafkaError> {
        let producer = client_config(config)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "20")
            .set("message.timeout.ms", "60000")
            .create_with_context(context)
            .map_err(|source| KafkaError::Client { brokers: config.brokers.clone(), source })?;
        Ok(Publisher { producer })
    }

    /// Publishes a batch and waits until every record is acknowledged; every
    /// message carries the extraction run's `task_number` header.
    pub async fn publish_all<'a, T, I>(
        &self,
        topic: &str,
        task_number: Uuid,
        records: I,
    ) -> Result<usize, PublishError>
    where
        T: Serialize + 'a,
        I: IntoIterator<Item = (&'a str, T)>,
    {
        self.publish_encoded(topic, task_number, encoded(records)).await
    }

    /// Publishes a batch of records that no extraction run produced (the
    /// analytics service's changelog) and waits until every one is acknowledged.
    pub async fn publish_derived<'a, T, I>(&self, topic: &str, records: I) -> Result<usize, PublishError>
    where
        T: Serialize + 'a,
        I: IntoIterator<Item = (&'a str, T)>,
    {
        self.send_payloads(topic, None, encoded(records)).await
    }

    /// [`Publisher::publish_derived`] for outputs each known from a time (ms since the Unix
    /// epoch): the message's timestamp is that time, and its `known_from` header says so.
    pub async fn publish_derived_known<'a, T, I>(
        &self,
        topic: &str,
        records: I,
    ) -> Result<usize, PublishError>
    where
        T: Serialize + 'a,
        I: IntoIterator<Item = (&'a str, T, i64)>,
    {
        let messages =
            records.into_iter().map(|(key, record, known)| (key, Some(wire::encode(&record)), Some(known)));
        self.send(topic, None, messages).await
    }

    /// [`Publisher::publish_values`] for outputs each known from a time, as
    /// [`Publisher::publish_derived_known`] marks them.
    pub async fn publish_values_known<'a, I>(&self, topic: &str, messages: I) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = (&'a str, Option<Vec<u8>>, i64)>,
    {
        self.send(topic, None, messages.into_iter().map(|(key, payload, known)| (key, payload, Some(known))))
            .await
    }

    /// Publishes messages of the analytics service whose values are already encoded, `None`
    /// being a tombstone (a null value: the key's deletion on a compacted topic), and waits
    /// until every one is acknowledged.
    pub async fn publish_values<'a, I>(&self, topic: &str, messages: I) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = (&'a str, Option<Vec<u8>>)>,
    {
        self.send(topic, None, messages.into_iter().map(|(key, payload)| (key, payload, None))).await
    }

    /// Publishes messages already encoded (each with [`wire::encode`]) and waits until every
    /// one is acknowledged; every message carries the run's `task_number` header.
    pub async fn publish_encoded<'a, I>(
        &self,
        topic: &str,
        task_number: Uuid,
        messages: I,
    ) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = (&'a str, Vec<u8>)>,
    {
        let task = task_number.to_string();
        self.send_payloads(topic, Some(&task), messages).await
    }

    async fn send_payloads<'a, I>(
        &self,
        topic: &str,
        task: Option<&str>,
        messages: I,
    ) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = (&'a str, Vec<u8>)>,
    {
        self.send(topic, task, messages.into_iter().map(|(key, payload)| (key, Some(payload), None))).await
    }

    /// Queues every message, then waits for each delivery in the order they were queued: a
    /// partition's acknowledgements come in that order, so one waits on the oldest instead of
    /// a join that polls a future per record.
    /// Each message is `(key, value, known_from)`: a `None` value is a tombstone; a `known_from`
    /// (ms) is the message's timestamp and its header.
    async fn send<'a, I>(&self, topic: &str, task: Option<&str>, messages: I) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = (&'a str, Option<Vec<u8>>, Option<i64>)>,
    {
        let version = wire::SCHEMA_VERSION.to_string();
        let mut pending = VecDeque::new();
        let mut sent = 0;
        for (key, payload, known_from_ms) in messages {
            let known_from = known_from_ms.map(|ms| ms.to_string());
            let mut headers = OwnedHeaders::new();
            if let Some(task) = task {
                headers = headers.insert(Header { key: TASK_NUMBER_HEADER, value: Some(task) });
            }
            headers = headers.insert(Header { key: SCHEMA_VERSION_HEADER, value: Some(&version) });
            if let Some(known_from) = &known_from {
                headers = headers.insert(Header { key: KNOWN_FROM_HEADER, value: Some(known_from) });
            }
            let mut record = FutureRecord::<str, Vec<u8>>::to(topic).key(key).headers(headers);
            if let Some(ms) = known_from_ms {
                record = record.timestamp(ms);
            }
            if let Some(payload) = &payload {
                record = record.payload(payload);
            }
            let failed = |source| PublishError { topic: topic.to_owned(), key: key.to_owned(), source };
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push_back((key, delivery));
                        break;
                    }
                    // librdkafka's local queue is full: it empties as the oldest records are
                    // acknowledged (or, when they are all another batch's, with time).
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                        back,
                    )) => {
                        record = back;
                        match pending.pop_front() {
                            Some((key, delivery)) => sent += delivered(topic, key, delivery).await?,
                            None => DefaultRuntime::delay_for(QUEUE_FULL_PAUSE).await,
                        }
                    }
                    Err((source, _)) => return Err(failed(source)),
                }
            }
        }
        for (key, delivery) in pending {
            sent += delivered(topic, key, delivery).await?;
        }
        Ok(sent)
    }

    /// Whether the leader of `topic`'s partition 0 answers within `timeout` (metadata may come
    /// from librdkafka's cache; watermarks come from the broker).
    pub fn answers(&self, topic: &str, timeout: Duration) -> bool {
        self.producer.client().fetch_watermarks(topic, 0, timeout).is_ok()
    }

    /// Waits until every queued record is delivered.
    pub fn flush(&self, timeout: Duration) -> Result<(), rdkafka::error::KafkaError> {
        self.producer.flush(timeout)
    }
}
