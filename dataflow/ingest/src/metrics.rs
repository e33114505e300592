//! The extractor's Prometheus metrics, updated once per batch. Names follow
//! `pricestream_extractor_<thing>_<unit>[_total]`; the only label is the
//! rejection reason (a fixed, small set).

use pricestream_runtime::fault::OutageMetrics;
use pricestream_runtime::telemetry::register;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

/// Every metric the extractor exports.
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// Valid bars read from the sources.
    pub bars_read: IntCounter,
    /// Bars already stored unchanged, not sent again.
    pub bars_unchanged: IntCounter,
    /// Bars acknowledged by Kafka and Cassandra.
    pub bars_written: IntCounter,
    /// Indicator values acknowledged by Kafka and Cassandra.
    pub indicator_values_written: IntCounter,
    /// Refused records, by reason.
    pub lines_rejected: IntCounterVec,
    /// Time to send one batch to every sink.
    pub batch_seconds: Histogram,
    /// Data-quality findings sent, by check and state (`open`, `resolved`).
    pub quality_findings: IntCounterVec,
    /// Outages of Kafka and Cassandra, waited out.
    pub outages: OutageMetrics,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        pricestream_runtime::telemetry::register_process_and_build(&registry, "extractor")?;
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help)?);
        let metrics = Metrics {
            bars_read: counter("pricestream_extractor_bars_read_total", "Valid bars read from the sources.")?,
            bars_unchanged: counter(
                "pricestream_extractor_bars_unchanged_total",
                "Bars already stored unchanged, not sent again.",
            )?,
            bars_written: counter(
                "pricestream_extractor_bars_written_total",
                "Bars acknowledged by Kafka and Cassandra.",
            )?,
            indicator_values_written: counter(
                "pricestream_extractor_indicator_values_written_total",
                "Indicator values acknowledged by Kafka and Cassandra.",
            )?,
            lines_rejected: register(
                &registry,
                IntCounterVec::new(
                    Opts::new("pricestream_extractor_lines_rejected_total", "Refused records, by reason."),
                    &["reason"],
                )?,
            )?,
            batch_seconds: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "pricestream_extractor_batch_seconds",
                        "Time to send one batch to every sink.",
                    )
                    .buckets(prometheus::exponential_buckets(0.001, 2.0, 16)?),
                )?,
            )?,
            quality_findings: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_extractor_quality_findings_total",
                        "Data-quality findings sent, by check and state (open: found, resolved: no longer seen).",
                    ),
                    &["check", "state"],
                )?,
            )?,
            outages: OutageMetrics::register(&registry, "extractor")?,
            registry,
        };
        // Every check and state from the start, at 0: a dashboard shows none found, not no data.
        for check in pricestream_records::QualityCheck::ALL {
            for state in ["open", "resolved"] {
                metrics.quality_findings.with_label_values(&[check.as_str(), state]);
            }
        }
        Ok(metrics)
    }
}
