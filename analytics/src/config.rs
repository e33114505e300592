//! The service's config file: the streaming job's sections (`pricestream_streaming::config`)
//! beside the connections, the HTTP endpoint and the cluster, validated all at once.

use pricestream_runtime::config::{
    CassandraConfig, EnvSource, HttpSettings, KafkaConfig, Problems, Validate,
};
pub use pricestream_streaming::config::{
    ConsumerSettings, FeatureSettings, JobConfig, ModelSettings, ScopeSetting, ServingSettings,
};
pub use pricestream_streaming::trading_days::TradingDaySettings;
use serde::{Deserialize, Serialize};

/// The analytics service's config file (TOML). Every section is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Where the input topics are.
    pub kafka: KafkaConfig,
    /// Where the mart is written.
    pub cassandra: CassandraConfig,
    /// How input is consumed.
    pub consumer: ConsumerSettings,
    /// The feature rows.
    pub features: FeatureSettings,
    /// The `/metrics`, `/healthz` and `/readyz` endpoint.
    pub http: HttpSettings,
    /// The forecasting model: hyperparameters, horizon, scope and backtest split.
    pub model: ModelSettings,
    /// The model inside `run`: scoring new rows and retraining.
    pub serving: ServingSettings,
    /// The timely cluster: how long it may go without progress.
    pub cluster: ClusterSettings,
    /// Every version of the mart's rows and forecasts, with the time they were known.
    pub history: HistorySettings,
    /// The trading-day frontier: calendar, universe, deadline.
    pub trading_days: TradingDaySettings,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            kafka: KafkaConfig::default(),
            cassandra: CassandraConfig::default(),
            consumer: ConsumerSettings::default(),
            features: FeatureSettings::default(),
            http: HttpSettings::on("127.0.0.1:9898"),
            model: ModelSettings::default(),
            serving: ServingSettings::default(),
            cluster: ClusterSettings::default(),
            history: HistorySettings::default(),
            trading_days: TradingDaySettings::default(),
        }
    }
}

impl AnalyticsConfig {
    /// The sections the streaming job reads.
    pub fn job(&self) -> JobConfig {
        JobConfig {
            kafka: self.kafka.clone(),
            consumer: self.consumer.clone(),
            features: self.features.clone(),
            model: self.model.clone(),
            serving: self.serving.clone(),
            trading_days: self.trading_days.clone(),
        }
    }
}

/// The timely cluster (`[cluster]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// `/healthz` fails once a worker of the cluster has been silent this long (a frozen, cut
    /// off or dead peer), or one of this process's workers has made no progress this long while
    /// no Kafka or Cassandra outage explains it (a wedged sink).
    pub liveness_timeout_ms: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings { liveness_timeout_ms: 60_000 }
    }
}

/// The mart's history (`[history]`, docs/history.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySettings {
    /// Keep every version of every mart row and forecast in `features_history` and
    /// `predictions_history`, each with the time pricestream knew it.
    pub enabled: bool,
    /// `prune-history` removes the versions superseded more than this many days ago; 0 keeps
    /// every version.
    pub retention_days: u32,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings { enabled: true, retention_days: 0 }
    }
}

impl Validate for AnalyticsConfig {
    fn apply_env(&mut self, env: &dyn EnvSource) {
        self.kafka.apply_env(env);
        self.cassandra.apply_env(env);
        env.set("PRICESTREAM_GROUP_ID", &mut self.consumer.group_id);
        self.http.apply_env(env);
    }

    fn validate(&self, problems: &mut Problems) {
        self.kafka.validate("kafka", problems);
        self.cassandra.validate("cassandra", problems);
        problems.check(!self.consumer.group_id.is_empty(), "consumer.group_id", "must not be empty");
        problems.at_least("consumer.epoch_max_records", self.consumer.epoch_max_records, 1);
        problems.at_least("consumer.epoch_max_wait_ms", self.consumer.epoch_max_wait_ms, 1);
        for (key, value, least) in [
            ("consumer.max_message_bytes", self.consumer.max_message_bytes as u64, 1024),
            ("consumer.commit_refresh_ms", self.consumer.commit_refresh_ms, 1_000),
            ("consumer.partition_check_ms", self.consumer.partition_check_ms, 100),
            ("cluster.liveness_timeout_ms", self.cluster.liveness_timeout_ms, 1_000),
        ] {
            problems.at_least(key, value, least);
        }
        self.http.validate("http", problems);
        problems.at_least("features.horizon_bars", self.features.horizon_bars, 1);
        self.model.params.validate("model", problems);
        problems.at_least("serving.min_training_rows", self.serving.min_training_rows, 10);
        problems.check(
            (0.0..0.9).contains(&self.serving.holdout_fraction),
            "serving.holdout_fraction",
            format_args!("must be in [0, 0.9), got {}", self.serving.holdout_fraction),
        );
        problems.check(
            self.serving.retrain_on_degradation.is_finite() && self.serving.retrain_on_degradation >= 0.0,
            "serving.retrain_on_degradation",
            format_args!("must be a finite number >= 0, got {}", self.serving.retrain_on_degradation),
        );
        problems.at_least("serving.error_window", self.serving.error_window, 1);
        self.serving.validate_daily(self.trading_days.enabled, problems);
        self.trading_days.validate(problems);
        self.model.walk_forward().validate("model", problems);
        problems.check(
            self.model.horizon_bars == self.features.horizon_bars,
            "model.horizon_bars",
            format_args!(
                "must equal features.horizon_bars ({}, the mart's label horizon), got {}",
                self.features.horizon_bars, self.model.horizon_bars
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reports_every_problem() {
        let mut config = AnalyticsConfig::default();
        config.consumer.epoch_max_records = 0;
        config.http.listen_addr = "localhost".into();
        config.apply_env(&HashMap::from([("PRICESTREAM_GROUP_ID", "g1")]));
        let problems = Problems::collect(|problems| config.validate(problems));
        assert_eq!(config.consumer.group_id, "g1");
        assert_eq!(problems.messages().len(), 2, "{problems}");
        assert!(problems.to_string().contains("`http.listen_addr` must be ip:port, got `localhost`"));
    }

    fn parse(text: &str) -> Result<AnalyticsConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn the_model_section_takes_xgboost_names_beside_its_own_keys() {
        let config = parse(
            "[model]\nscope = \"global\"\nwarmup_bars = 300\nn_estimators = 150\nmax_depth = 4\n\
             eta = 0.05\nlambda = 5.0\nmin_child_weight = 20.0\n",
        )
        .expect("valid");
        let model = &config.model;
        assert_eq!(model.scope, ScopeSetting::Global);
        assert_eq!((model.horizon_bars, model.warmup_bars, model.retrain_every_bars), (2, 300, 250));
        assert_eq!((model.params.n_estimators, model.params.max_depth), (150, 4));
        assert_eq!((model.params.learning_rate, model.params.lambda), (0.05, 5.0));
        assert_eq!(parse("").expect("valid").model, ModelSettings::default());
    }

    #[test]
    fn unknown_model_keys_are_refused_by_name() {
        let error = parse("[model]\nmax_depht = 3\n").expect_err("typo").to_string();
        assert!(error.contains("max_depht"), "{error}");
        let error = parse("[model]\nscope = \"everything\"\n").expect_err("bad scope").to_string();
        assert!(error.contains("everything"), "{error}");
    }

    #[test]
    fn every_model_problem_is_reported_at_once() {
        let config = parse(
            "[model]\nhorizon_bars = 3\nwarmup_bars = 1\nretrain_every_bars = 0\nn_estimators = 0\n\
             learning_rate = -1.0\nsubsample = 2.0\n",
        )
        .expect("parses");
        let problems = Problems::collect(|problems| config.validate(problems));
        let text = problems.to_string();
        for key in [
            "model.horizon_bars",
            "model.warmup_bars",
            "model.retrain_every_bars",
            "model.n_estimators",
            "model.learning_rate",
            "model.subsample",
        ] {
            assert!(text.contains(&format!("`{key}`")), "{key} missing from:\n{text}");
        }
        assert_eq!(problems.messages().len(), 6, "{text}");
    }

    #[test]
    fn the_daily_policy_follows_the_trading_days_and_replaced_keys_are_refused_with_advice() {
        let config = parse("[serving]\nretrain_daily = true\n").expect("valid");
        let problems = Problems::collect(|problems| config.validate(problems));
        assert!(problems.is_empty(), "{problems}");
        assert!(config.serving.policy().daily && !parse("").expect("valid").serving.policy().daily);

        let text = "[serving]\nretrain_daily = true\ndaily_deadline_ms = 1000\ndaily_tickers = [\"NVDA\"]\n\n\
                    [trading_days]\nenabled = false\n";
        let problems = Problems::collect(|problems| parse(text).expect("parses").validate(problems));
        let text = problems.to_string();
        assert_eq!(problems.messages().len(), 3, "{text}");
        assert!(
            text.contains("`serving.daily_deadline_ms` was replaced by `trading_days.deadline_ms`"),
            "{text}"
        );
        assert!(text.contains("`serving.daily_tickers` was replaced by `trading_days.universe`"), "{text}");
        assert!(text.contains("`serving.retrain_daily` needs `trading_days.enabled = true`"), "{text}");
    }

    #[test]
    fn trading_day_settings_are_checked_with_the_holiday_file_line_by_line() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let holidays = dir.path().join("holidays.txt");
        std::fs::write(&holidays, "2025-12-25 Christmas\n2025-13-01\n").expect("written");
        let text = format!(
            "[trading_days]\ncalendar = \"X N\"\nuniverse = [\"\"]\nuniverse_recent_days = 0\ndeadline_ms = 0\nholidays_file = {:?}\n",
            holidays.display().to_string()
        );
        let problems = Problems::collect(|problems| parse(&text).expect("parses").validate(problems));
        let text = problems.to_string();
        for key in ["calendar", "universe", "universe_recent_days", "deadline_ms", "holidays_file"] {
            assert!(text.contains(&format!("`trading_days.{key}`")), "{key} missing from:\n{text}");
        }
        assert!(text.contains("holidays.txt:2: expected a date YYYY-MM-DD"), "{text}");
        assert_eq!(problems.messages().len(), 5, "{text}");
    }
}
