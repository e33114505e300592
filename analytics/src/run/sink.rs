//! Where one epoch's outputs go: feature-row changes to the mart table and the changelog
//! topic, forecasts to the predictions table and topic. All must acknowledge before the
//! epoch counts as written.

use super::changes::RowChanges;
use super::latency::PublishTimes;
use crate::metrics::Metrics;
use pricestream_dataflow::cassandra::{FeatureTable, PredictionTable};
use pricestream_dataflow::kafka::Publisher;
use pricestream_dataflow::records::{FeatureChange, FeatureKey, Prediction};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The mart table and the changelog producer.
pub struct MartSink {
    /// The `features` table.
    pub table: FeatureTable,
    /// The changelog producer.
    pub publisher: Publisher,
    /// The changelog topic.
    pub changelog_topic: String,
    /// The `predictions` table.
    pub predictions: PredictionTable,
    /// The predictions topic.
    pub predictions_topic: String,
}

impl MartSink {
    /// Writes `changes` to Cassandra and the changelog and `predictions` to their table and
    /// topic, returning once all acknowledged. A prediction whose bar's publish time is in
    /// `published` is observed in `prediction_latency_seconds`. A failed Cassandra write is
    /// counted by table before the error is returned (and ends the process).
    pub async fn write(
        &self,
        changes: &RowChanges,
        predictions: &[Prediction],
        published: &PublishTimes,
        metrics: &Metrics,
    ) -> anyhow::Result<()> {
        let forecasts = async {
            if predictions.is_empty() {
                return anyhow::Ok(());
            }
            let messages = predictions.iter().map(|prediction| (prediction.message_key(), prediction));
            let table = async {
                metrics.count_write_error("predictions", self.predictions.upsert_all(predictions).await)?;
                anyhow::Ok(())
            };
            tokio::try_join!(table, async {
                anyhow::Ok(self.publisher.publish_derived(&self.predictions_topic, messages).await?)
            },)?;
            metrics.predictions_written.inc_by(predictions.len() as u64);
            let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
            let rows = predictions.iter().map(|prediction| (prediction.ticker.as_str(), prediction.as_of));
            for published_ms in published.take(rows) {
                metrics.prediction_latency_seconds.observe((now_ms - published_ms).max(0) as f64 / 1000.0);
            }
            anyhow::Ok(())
        };
        tokio::try_join!(self.write_changes(changes, metrics), forecasts)?;
        Ok(())
    }

    async fn write_changes(&self, changes: &RowChanges, metrics: &Metrics) -> anyhow::Result<()> {
        if changes.upserts.is_empty() && changes.deletes.is_empty() {
            return Ok(());
        }
        let cassandra = async {
            let started = Instant::now();
            metrics.count_write_error("features", self.table.upsert_all(&changes.upserts).await)?;
            metrics.count_write_error("features", self.table.delete_all(&changes.deletes).await)?;
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
