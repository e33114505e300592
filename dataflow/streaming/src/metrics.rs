//! The service's Prometheus metrics. Names follow
//! `pricestream_analytics_<thing>_<unit>[_total]`; no per-ticker labels.

use pricestream_records::wire::RefusalReason;
use pricestream_runtime::fault::OutageMetrics;
use pricestream_runtime::telemetry::register;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Every metric the service exports, registered once.
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// Records decoded, by topic (`topic` label), live and replayed.
    pub records_consumed: IntCounterVec,
    /// Records replayed at start-up to rebuild the state, by topic.
    pub records_replayed: IntCounterVec,
    /// Bars decoded from Kafka.
    pub bars_consumed: IntCounter,
    /// Input messages refused (and dead-lettered), by `kind` ([`RefusalReason`]).
    pub messages_rejected: IntCounterVec,
    /// Outputs (rows, changelog messages, forecasts) their store refused, dead-lettered, by
    /// `output` ([`REFUSED_OUTPUTS`]).
    pub outputs_refused: IntCounterVec,
    /// Outages of Kafka and Cassandra, waited out.
    pub outages: OutageMetrics,
    /// Offset commits made (one per worker per commit).
    pub offset_commits: IntCounter,
    /// Restarts of consumers whose fetchers stalled.
    pub fetcher_restarts: IntCounter,
    /// Offset commits given up as stuck and sent again through a new client.
    pub commit_restarts: IntCounter,
    /// Starts whose committed progress was made with other row-shaping settings: the mart was
    /// rewritten.
    pub settings_rewrites: IntCounter,
    /// The fencing generation this process runs under.
    pub generation: IntGauge,
    /// Feature rows acknowledged by Cassandra and the changelog.
    pub feature_rows_written: IntCounter,
    /// Feature rows deleted because their bar was retracted.
    pub feature_rows_deleted: IntCounter,
    /// Epochs completed (all outputs written, offsets committed).
    pub epochs_completed: IntCounter,
    /// Time from the start of an epoch to its outputs written.
    pub epoch_seconds: Histogram,
    /// Time Cassandra took to acknowledge one epoch's writes of one worker.
    pub cassandra_write_seconds: Histogram,
    /// Cassandra writes that failed after the driver's retries, by `table` ([`WRITTEN_TABLES`]).
    pub cassandra_write_errors: IntCounterVec,
    /// Time Kafka took to acknowledge one epoch's changelog messages of one worker.
    pub changelog_publish_seconds: Histogram,
    /// From a bar's Kafka timestamp to its feature row acknowledged everywhere.
    pub end_to_end_seconds: Histogram,
    /// From a bar's Kafka timestamp to the moment this service read it.
    pub read_delay_seconds: Histogram,
    /// Messages not yet read, by input partition (`topic`, `partition` labels).
    pub consumer_lag: IntGaugeVec,
    /// Worker threads currently consuming.
    pub workers_running: IntGauge,
    /// Predictions acknowledged by Cassandra and the `predictions` topic.
    pub predictions_written: IntCounter,
    /// From a bar's Kafka timestamp to the prediction of its feature row acknowledged by
    /// Cassandra and the `predictions` topic (predictions made in the bar's own epoch).
    pub prediction_latency_seconds: Histogram,
    /// Time one worker spent scoring the rows of one epoch.
    pub scoring_seconds: Histogram,
    /// Rows left unscored for now because their scope has no model yet.
    pub rows_waiting_for_a_model: IntCounter,
    /// Trainings finished, by outcome (`stored`, `failed`).
    pub model_trainings: IntCounterVec,
    /// Stored model versions loaded at start instead of training.
    pub models_loaded: IntCounter,
    /// Time one training took (holdout fit included).
    pub model_training_seconds: Histogram,
    /// Labelled rows of the last model trained.
    pub model_training_rows: IntGauge,
    /// Holdout RMSE of the last model trained, of its gated (served) forecast and of
    /// persistence on the same rows (`forecaster` = `model` | `gated` | `persistence`).
    pub model_holdout_rmse: GaugeVec,
    /// Serving-gate weight of the last version installed (0 = it serves persistence).
    pub model_gate_weight: Gauge,
    /// Versions installed (trained or loaded) by what they serve (`forecaster` = `model` |
    /// `persistence`).
    pub model_versions_serving: IntCounterVec,
    /// New versions trained against the version serving a model (`outcome` = `replaced` |
    /// `kept`: the serving version's model keeps serving).
    pub model_challenges: IntCounterVec,
    /// Live skill of a scope's served forecasts (persistence's error over theirs, last
    /// `serving.error_window` labels), observed when new labels arrive: no per-ticker labels.
    pub model_live_skill: Histogram,
    /// Scopes of this process whose served forecasts did worse than persistence over their
    /// last full window.
    pub model_scopes_below_persistence: IntGauge,
    /// The device trainings run on, `auto` resolved at start (`device` label: cpu, cuda;
    /// value 1).
    pub model_device: IntGaugeVec,
    /// Version of the model this process installed last (trained or loaded), of any scope:
    /// with `model.scope = global` the version in use. No scope label (one scope per ticker
    /// would be a series per ticker).
    pub model_version: IntGauge,
    /// The trading-day frontier's.
    pub trading_days: crate::trading_days::TradingDayMetrics,
}

impl Metrics {
    /// Hands `result` of a Cassandra write to `table` on, counting it in
    /// `pricestream_analytics_cassandra_write_errors_total` when it failed.
    pub fn count_write_error<T, E>(&self, table: &str, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() {
            self.cassandra_write_errors.with_label_values(&[table]).inc();
        }
        result
    }
}

/// The `output` values of `pricestream_analytics_outputs_refused_total`.
pub const REFUSED_OUTPUTS: [&str; 3] = ["features", "changelog", "predictions"];

/// The `table` values of `pricestream_analytics_cassandra_write_errors_total`: the mart, the
/// forecasts and the model versions (all in the mart keyspace).
pub const WRITTEN_TABLES: [&str; 3] = ["features", "predictions", "models"];

fn histogram(name: &str, help: &str, start: f64, count: usize) -> Result<Histogram, prometheus::Error> {
    Histogram::with_opts(
        HistogramOpts::new(name, help).buckets(prometheus::exponential_buckets(start, 2.0, count)?),
    )
}

/// A per-bar latency: buckets fine around the 500 ms objective, coarse for backfills.
fn bar_latency_histogram(name: &str, help: &str) -> Result<Histogram, prometheus::Error> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(vec![
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0,
        30.0, 60.0, 300.0,
    ]))
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        pricestream_runtime::telemetry::register_process_and_build(&registry, "analytics")?;
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help)?);
        let by_topic = |name: &str, help: &str| {
            register(&registry, IntCounterVec::new(Opts::new(name, help), &["topic"])?)
        };
        let metrics = Metrics {
            records_consumed: by_topic(
                "pricestream_analytics_records_consumed_total",
                "Records read from the input topics, by topic (start-up replay included).",
            )?,
            records_replayed: by_topic(
                "pricestream_analytics_records_replayed_total",
                "Records replayed at start-up to rebuild the dataflow state, by topic.",
            )?,
            bars_consumed: counter("pricestream_analytics_bars_consumed_total", "Bars decoded from Kafka.")?,
            messages_rejected: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_messages_rejected_total",
                        "Input messages refused and sent to the dead-letter topic, by kind (the dead letter's reason).",
                    ),
                    &["kind"],
                )?,
            )?,
            outputs_refused: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_outputs_refused_total",
                        "Outputs Cassandra or Kafka refused for what they are, sent to the dead-letter topic, by output (features, changelog, predictions).",
                    ),
                    &["output"],
                )?,
            )?,
            outages: OutageMetrics::register(&registry, "analytics")?,
            offset_commits: counter(
                "pricestream_analytics_offset_commits_total",
                "Offset commits made, one per worker and commit (also the periodic re-commits of an idle service).",
            )?,
            fetcher_restarts: counter(
                "pricestream_analytics_fetcher_restarts_total",
                "Consumers whose fetchers stopped while Kafka held messages for them, restarted at their positions (re-assigned, or replaced by a new client).",
            )?,
            commit_restarts: counter(
                "pricestream_analytics_commit_restarts_total",
                "Offset commits left unanswered for 15 s while the brokers answered, sent again through a new client.",
            )?,
            settings_rewrites: counter(
                "pricestream_analytics_settings_rewrites_total",
                "Starts that found the mart written with other row-shaping settings and rewrote it.",
            )?,
            generation: register(
                &registry,
                IntGauge::new(
                    "pricestream_analytics_generation",
                    "The fencing generation this process's cluster runs under.",
                )?,
            )?,
            feature_rows_written: counter(
                "pricestream_analytics_feature_rows_written_total",
                "Feature rows upserted, acknowledged by Cassandra and the changelog topic.",
            )?,
            feature_rows_deleted: counter(
                "pricestream_analytics_feature_rows_deleted_total",
                "Feature rows deleted because their bar was retracted.",
            )?,
            epochs_completed: counter(
                "pricestream_analytics_epochs_completed_total",
                "Epochs whose outputs were written and whose offsets were committed.",
            )?,
            epoch_seconds: register(
                &registry,
                histogram(
                    "pricestream_analytics_epoch_seconds",
                    "Time from epoch start to outputs written.",
                    0.001,
                    15,
                )?,
            )?,
            cassandra_write_seconds: register(
                &registry,
                histogram(
                    "pricestream_analytics_cassandra_write_seconds",
                    "Time Cassandra took to acknowledge one worker's writes of one epoch.",
                    0.0005,
                    16,
                )?,
            )?,
            cassandra_write_errors: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_cassandra_write_errors_total",
                        "Cassandra writes that failed after the driver's retries, by table (features, predictions, models).",
                    ),
                    &["table"],
                )?,
            )?,
            changelog_publish_seconds: register(
                &registry,
                histogram(
                    "pricestream_analytics_changelog_publish_seconds",
                    "Time Kafka took to acknowledge one worker's changelog messages of one epoch.",
                    0.0005,
                    16,
                )?,
            )?,
            end_to_end_seconds: register(
                &registry,
                bar_latency_histogram(
                    "pricestream_analytics_end_to_end_seconds",
                    "From a bar's Kafka timestamp to its feature row acknowledged by Cassandra and Kafka.",
                )?,
            )?,
            read_delay_seconds: register(
                &registry,
                bar_latency_histogram(
                    "pricestream_analytics_read_delay_seconds",
                    "From a bar's Kafka timestamp to the moment the service read it (live epochs).",
                )?,
            )?,
            consumer_lag: register(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "pricestream_analytics_consumer_lag",
                        "Messages not yet read, by input topic and partition.",
                    ),
                    &["topic", "partition"],
                )?,
            )?,
            workers_running: register(
                &registry,
                IntGauge::new("pricestream_analytics_workers_running", "Worker threads consuming.")?,
            )?,
            predictions_written: counter(
                "pricestream_analytics_predictions_written_total",
                "Predictions acknowledged by Cassandra and the predictions topic.",
            )?,
            prediction_latency_seconds: register(
                &registry,
                bar_latency_histogram(
                    "pricestream_analytics_prediction_latency_seconds",
                    "From a bar's Kafka timestamp to its feature row's prediction acknowledged by Cassandra and Kafka.",
                )?,
            )?,
            scoring_seconds: register(
                &registry,
                histogram(
                    "pricestream_analytics_scoring_seconds",
                    "Time one worker spent scoring the feature rows of one epoch.",
                    0.00001,
                    18,
                )?,
            )?,
            rows_waiting_for_a_model: counter(
                "pricestream_analytics_rows_waiting_for_a_model_total",
                "Rows left unscored because their scope had no model yet (scored when one is trained).",
            )?,
            model_trainings: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_model_trainings_total",
                        "Model trainings finished, by outcome (stored, failed).",
                    ),
                    &["outcome"],
                )?,
            )?,
            models_loaded: counter(
                "pricestream_analytics_models_loaded_total",
                "Stored model versions loaded at start instead of training.",
            )?,
            model_training_seconds: register(
                &registry,
                histogram(
                    "pricestream_analytics_model_training_seconds",
                    "Time one model training took, holdout evaluation included.",
                    0.01,
                    16,
                )?,
            )?,
            model_training_rows: register(
                &registry,
                IntGauge::new(
                    "pricestream_analytics_model_training_rows",
                    "Labelled rows the last trained model was fitted on.",
                )?,
            )?,
            model_holdout_rmse: register(
                &registry,
                GaugeVec::new(
                    Opts::new(
                        "pricestream_analytics_model_holdout_rmse",
                        "Holdout RMSE of the last trained model, of its gated (served) forecast and of persistence on the same rows.",
                    ),
                    &["forecaster"],
                )?,
            )?,
            model_gate_weight: register(
                &registry,
                Gauge::new(
                    "pricestream_analytics_model_gate_weight",
                    "Serving-gate weight of the last model version installed: its predicted change is served times this weight; 0 serves persistence.",
                )?,
            )?,
            model_versions_serving: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_model_versions_serving_total",
                        "Model versions installed (trained or loaded), by what their gate serves: the model or persistence.",
                    ),
                    &["forecaster"],
                )?,
            )?,
            model_challenges: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_model_challenges_total",
                        "New model versions compared with the version serving a model, by outcome: replaced it, or kept it serving (the new one was not at least gate_margin better on the rows neither was fitted on).",
                    ),
                    &["outcome"],
                )?,
            )?,
            model_live_skill: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "pricestream_analytics_model_live_skill",
                        "Live skill of a scope's served forecasts: persistence's mean absolute error over theirs on the same labelled rows (last serving.error_window); below 1 persistence did better.",
                    )
                    .buckets(vec![0.5, 0.75, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0]),
                )?,
            )?,
            model_scopes_below_persistence: register(
                &registry,
                IntGauge::new(
                    "pricestream_analytics_model_scopes_below_persistence",
                    "Scopes of this process whose served forecasts did worse than persistence over their last full error window.",
                )?,
            )?,
            model_device: register(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "pricestream_analytics_model_device",
                        "Device model trainings run on, auto resolved at start: cpu or cuda (value 1).",
                    ),
                    &["device"],
                )?,
            )?,
            model_version: register(
                &registry,
                IntGauge::new(
                    "pricestream_analytics_model_version",
                    "Version of the model this process installed last (trained or loaded), any scope.",
                )?,
            )?,
            trading_days: crate::trading_days::TradingDayMetrics::new(&registry)?,
            registry,
        };
        // Every labelled series exists from the start, so rates and alerts see 0, not nothing.
        for reason in RefusalReason::ALL {
            metrics.messages_rejected.with_label_values(&[reason.as_str()]);
        }
        for output in REFUSED_OUTPUTS {
            metrics.outputs_refused.with_label_values(&[output]);
        }
        for table in WRITTEN_TABLES {
            metrics.cassandra_write_errors.with_label_values(&[table]);
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Encoder;

    #[test]
    fn labelled_error_counters_exist_at_zero_from_the_start() {
        let metrics = Metrics::new().expect("metrics register");
        let mut text = Vec::new();
        prometheus::TextEncoder::new().encode(&metrics.registry.gather(), &mut text).expect("encodes");
        let text = String::from_utf8(text).expect("utf-8");
        for reason in RefusalReason::ALL {
            let line =
                format!("pricestream_analytics_messages_rejected_total{{kind=\"{}\"}} 0", reason.as_str());
            assert!(text.contains(&line), "{line} missing from:\n{text}");
        }
        for dependency in ["kafka", "cassandra"] {
            let line = format!("pricestream_analytics_outages_total{{dependency=\"{dependency}\"}} 0");
            assert!(text.contains(&line), "{line} missing from:\n{text}");
        }
        for table in WRITTEN_TABLES {
            let line = format!("pricestream_analytics_cassandra_write_errors_total{{table=\"{table}\"}} 0");
            assert!(text.contains(&line), "{line} missing from:\n{text}");
        }
        assert!(text.contains("pricestream_analytics_model_version 0"), "{text}");
        assert!(text.contains("pricestream_analytics_prediction_latency_seconds_count 0"), "{text}");
    }

    #[test]
    fn a_failed_write_is_counted_under_its_table_and_passed_on() {
        let metrics = Metrics::new().expect("metrics register");
        let errors = |table: &str| metrics.cassandra_write_errors.with_label_values(&[table]).get();
        assert_eq!(metrics.count_write_error("features", Ok::<_, ()>(3)), Ok(3));
        assert_eq!(errors("features"), 0);
        assert_eq!(metrics.count_write_error("predictions", Err::<(), _>("timeout")), Err("timeout"));
        assert_eq!((errors("features"), errors("predictions"), errors("models")), (0, 1, 0));
    }
}
