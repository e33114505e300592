//! Offset commits on a Kafka client of their own, never waiting forever.
//!
//! librdkafka's synchronous commit has no time limit, and after a broker restart it can wait
//! for good while the brokers answer everything else: its group coordinator lookup stays
//! stuck. Seen in the restart test: a worker blocked in `rd_kafka_commit` for minutes, and
//! with it (the epochs are a barrier) the whole service. So a commit runs on a thread of its
//! own, and one that the brokers leave unanswered for [`STUCK_AFTER`] while they answer
//! metadata requests is given up: the offsets are committed again through a new client, which
//! looks the coordinator up afresh. The abandoned commit carries older offsets than any later
//! one; should it ever land, a restart replays a little more input, which the mart's
//! idempotent writes absorb.
//!
//! The partitions are `assign()`ed, never subscribed, so the group has no members and any
//! client with its `group.id` may commit its offsets.

use crate::{QuietContext, client_config};
use pricestream_runtime::config::KafkaConfig;
use prometheus::IntCounter;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaResult;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};
use tracing::warn;

/// How long the brokers may answer metadata requests while leaving a commit unanswered before
/// it counts as stuck. A healthy commit takes milliseconds; after a broker restart the
/// coordinator is found again within seconds.
pub const STUCK_AFTER: Duration = Duration::from_secs(15);
/// How often a pending commit is looked at (the stop flag, whether the brokers answer).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long the metadata request that tells whether the brokers answer may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

/// Commits the offsets of one consumer group.
pub struct Committer {
    kafka: KafkaConfig,
    group_id: String,
    client: Arc<BaseConsumer<QuietContext>>,
    /// Counts the commits given up as stuck.
    restarts: IntCounter,
}

impl Committer {
    /// A committer for `group_id`; `restarts` counts the commits it gives up as stuck.
    pub fn new(kafka: &KafkaConfig, group_id: &str, restarts: IntCounter) -> KafkaResult<Self> {
        let client = Arc::new(new_client(kafka, group_id)?);
        Ok(Committer { kafka: kafka.clone(), group_id: group_id.to_owned(), client, restarts })
    }

    /// Commits `offsets` (with their metadata) and returns the brokers' answer; a commit left
    /// stuck while the brokers answer is sent again through a new client. Returns early, with
    /// an error, when `stop` is set.
    pub fn commit(
        &mut self,
        offsets: &TopicPartitionList,
        stop: &AtomicBool,
    ) -> anyhow::Result<KafkaResult<()>> {
        loop {
            let pending = send(&self.client, offsets)?;
            let mut answering_since: Option<Instant> = None;
            loop {
                match pending.recv_timeout(LOOK_EVERY) {
                    Ok(answer) => return Ok(answer),
                    Err(RecvTimeoutError::Disconnected) => {
                        anyhow::bail!("the Kafka commit thread ended without an answer")
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                }
                if stop.load(Ordering::Relaxed) {
                    anyhow::bail!("stopped while a Kafka offset commit was unanswered");
                }
                // An outage explains the wait; a commit stuck while the brokers answer does not.
                if self.client.fetch_metadata(None, METADATA_TIMEOUT).is_err() {
                    answering_since = None;
                    continue;
                }
                let since = *answering_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= STUCK_AFTER {
                    break;
                }
            }
            warn!(
                group = %self.group_id,
                "A Kafka offset commit stayed unanswered for {} s while the brokers answered; committing again through a new client.",
                STUCK_AFTER.as_secs()
            );
            self.restarts.inc();
            self.client = Arc::new(new_client(&self.kafka, &self.group_id)?);
        }
    }
}

fn new_client(kafka: &KafkaConfig, group_id: &str) -> KafkaResult<BaseConsumer<QuietContext>> {
    client_config(kafka)
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .create_with_context(QuietContext::default())
}

/// Starts one synchronous commit on a thread of its own; its answer arrives on the receiver.
fn send(
    client: &Arc<BaseConsumer<QuietContext>>,
    offsets: &TopicPartitionList,
) -> anyhow::Result<Receiver<KafkaResult<()>>> {
    let (answer, pending) = sync_channel(1);
    let (client, offsets) = (Arc::clone(client), offsets.clone());
    std::thread::Builder::new().name("kafka-commit".into()).spawn(move || {
        // The receiver is gone when the commit was given up: nobody waits for its answer.
        let _ = answer.send(client.commit(&offsets, CommitMode::Sync));
    })?;
    Ok(pending)
}
