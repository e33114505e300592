//! Where one epoch's feature-row changes go: the mart table and the changelog topic.
//! Both must acknowledge before the epoch counts as written.

use super::changes::RowChanges;
use crate::metrics::Metrics;
use pricestream_dataflow::cassandra::FeatureTable;
use pricestream_dataflow::kafka::Publisher;
use pricestream_dataflow::records::{FeatureChange, FeatureKey};
use std::time::Instant;

/// The mart table and the changelog producer.
pub struct MartSink {
    /// The `features` table.
    pub table: FeatureTable,
    /// The changelog producer.
    pub publisher: Publisher,
    /// The changelog topic.
    pub changelog_topic: String,
}

impl MartSink {
    /// Writes `changes` to Cassandra and the changelog, returning once both acknowledged.
    pub async fn write(&self, changes: &RowChanges, metrics: &Metrics) -> anyhow::Result<()> {
        if changes.upserts.is_empty() && changes.deletes.is_empty() {
            return Ok(());
        }
        let cassandra = async {
            let started = Instant::now();
            self.table.upsert_all(&changes.upserts).await?;
            self.table.delete_all(&changes.deletes).await?;
            metrics.cassandra_write_seconds.observe(started.elapsed().as_secs_f64());
            anyhow::Ok(())
        };
        let kafka = async {
            let started = Instant::now();
            let messages: Vec<(String, FeatureChange)> = changes
                .upserts
                .iter()
                .cloned()
                .map(|row| FeatureChange::Upsert(Box::new(row)))
                .chain(changes.deletes.iter().map(|(ticker, timeframe, date)| {
                    FeatureChange::Delete(FeatureKey {
                        ticker: ticker.clone(),
                        timeframe: *timeframe,
                        date_time: *date,
                    })
                }))
                .map(|change| (change.key().message_key(), change))
                .collect();
            self.publisher
                .publish_derived(
                    &self.changelog_topic,
                    messages.iter().map(|(key, change)| (key.as_str(), change)),
                )
                .await?;
            metrics.changelog_publish_seconds.observe(started.elapsed().as_secs_f64());
            anyhow::Ok(())
        };
        tokio::try_join!(cassandra, kafka)?;
        Ok(())
    }
}
