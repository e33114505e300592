//! Kafka and Cassandra, written in an order that makes the bars table the
//! commit record: a bar is stored only after its indicator values and every
//! message of its batch are acknowledged, so a restart that finds a bar
//! stored can trust that everything derived from it is stored too.

use super::Batch;
use crate::config::ExtractorConfig;
use pricestream_dataflow::cassandra::{BarTable, IndicatorTables, connect, create_dwh_schema};
use pricestream_dataflow::kafka::{Publisher, Retention, ensure_topics};
use pricestream_dataflow::topics::Topics;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The connected sinks of one run.
pub struct Sinks {
    publisher: Publisher,
    bars: BarTable,
    indicators: IndicatorTables,
    topics: Topics,
    task_number: Uuid,
}

impl Sinks {
    /// Connects to Kafka and Cassandra, creating topics, keyspace and tables if missing.
    pub async fn connect(config: &ExtractorConfig, task_number: Uuid) -> anyhow::Result<Self> {
        let topics = Topics::with_prefix(&config.kafka.topic_prefix);
        ensure_topics(
            &config.kafka,
            &[
                (&topics.bars, Retention::Forever),
                (&topics.indicators, Retention::Forever),
                (&topics.dead_letter, Retention::Forever),
            ],
        )
        .await?;
        let session = Arc::new(connect(&config.cassandra).await?);
        create_dwh_schema(&session, &config.cassandra).await?;
        let (keyspace, in_flight) = (&config.cassandra.dwh_keyspace, config.cassandra.max_in_flight_requests);
        let batch_rows = config.extract.cassandra_batch_rows;
        Ok(Sinks {
            publisher: Publisher::new(&config.kafka)?,
            bars: BarTable::prepare(Arc::clone(&session), keyspace, batch_rows, in_flight).await?,
            indicators: IndicatorTables::prepare(session, keyspace, batch_rows, in_flight).await?,
            topics,
            task_number,
        })
    }

    /// Where stored bars are read back from.
    pub fn bar_table(&self) -> &BarTable {
        &self.bars
    }

    /// Sends a batch and returns once every part of it is acknowledged.
    pub async fn send(&self, batch: &Batch) -> anyhow::Result<()> {
        let task = self.task_number;
        let mut bars = Vec::with_capacity(batch.bars.len());
        batch.for_each_bar_message(&mut Vec::new(), |ticker, message| bars.push((ticker, message.to_vec())));
        let mut indicators = Vec::with_capacity(batch.indicator_count());
        batch.for_each_indicator_message(&mut Vec::new(), |ticker, message| {
            indicators.push((ticker, message.to_vec()));
        });
        let dead = batch.dead_letters.iter().map(|d| (d.source.as_str(), d));
        tokio::try_join!(
            async {
                Ok::<_, anyhow::Error>(self.publisher.publish_encoded(&self.topics.bars, task, bars).await?)
            },
            async { Ok(self.publisher.publish_encoded(&self.topics.indicators, task, indicators).await?) },
            async { Ok(self.publisher.publish_all(&self.topics.dead_letter, task, dead).await?) },
            async { Ok(self.indicators.write_rows(batch.indicator_rows()).await?) },
        )?;
        self.bars.write_all(&batch.bars).await?;
        Ok(())
    }

    /// Waits until the producer has delivered everything.
    pub fn close(&self) -> anyhow::Result<()> {
        self.publisher.flush(Duration::from_secs(60))?;
        Ok(())
    }
}
