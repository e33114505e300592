//! The service's Prometheus metrics. Names follow
//! `pricestream_analytics_<thing>_<unit>[_total]`; no per-ticker labels.

use pricestream_dataflow::telemetry::register;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};

/// Every metric the service exports, registered once.
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// Bars decoded from Kafka.
    pub bars_consumed: IntCounter,
    /// Kafka messages that could not be decoded and were skipped.
    pub messages_rejected: IntCounter,
    /// Feature rows acknowledged by Cassandra.
    pub feature_rows_written: IntCounter,
    /// Feature rows deleted because their bar was retracted.
    pub feature_rows_deleted: IntCounter,
    /// Epochs completed (all outputs written, offsets committed).
    pub epochs_completed: IntCounter,
    /// Time from the start of an epoch to its committed offsets.
    pub epoch_seconds: Histogram,
    /// Worker threads currently consuming.
    pub workers_running: IntGauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help)?);
        let metrics = Metrics {
            bars_consumed: counter("pricestream_analytics_bars_consumed_total", "Bars decoded from Kafka.")?,
            messages_rejected: counter(
                "pricestream_analytics_messages_rejected_total",
                "Kafka messages that could not be decoded and were skipped.",
            )?,
            feature_rows_written: counter(
                "pricestream_analytics_feature_rows_written_total",
                "Feature rows acknowledged by Cassandra.",
            )?,
            feature_rows_deleted: counter(
                "pricestream_analytics_feature_rows_deleted_total",
                "Feature rows deleted because their bar was retracted.",
            )?,
            epochs_completed: counter(
                "pricestream_analytics_epochs_completed_total",
                "Epochs whose outputs were written and whose offsets were committed.",
            )?,
            epoch_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "pricestream_analytics_epoch_seconds",
                    "Time from epoch start to committed offsets.",
                )
                .buckets(prometheus::exponential_buckets(0.001, 2.0, 15)?),
            )?,
            workers_running: IntGauge::new(
                "pricestream_analytics_workers_running",
                "Worker threads consuming.",
            )?,
            registry,
        };
        Ok(metrics)
    }
}
