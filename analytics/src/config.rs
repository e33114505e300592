pub use pricestream_model::ScopeSetting;
use pricestream_model::{BoosterParams, WalkForward};
use pricestream_runtime::config::{
    CassandraConfig, EnvSource, HttpSettings, KafkaConfig, Problems, Validate,
};
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

/// The model stage of `run` (`[serving]`): every new or changed feature row whose label is
/// not known yet is scored at once and published to the `predictions` topic and table; models
/// are (re)trained on their own thread by this policy and stored in `models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServingSettings {
    /// Score and retrain inside `run`.
    pub enabled: bool,
    /// Train a scope's first model at its this-many-th label.
    pub min_training_rows: usize,
    /// A new version every this many labels of the scope, counted in the order they became
    /// known (one per ticker and trading day for per-ticker models); 0 = never retrain. A
    /// first start on a long history trains every one (docs/model.md).
    pub retrain_every_rows: usize,
    /// Share of the newest labelled rows held out to evaluate each new version against the
    /// persistence baseline (stored with the model) before it is fitted on every row; 0 = none.
    pub holdout_fraction: f64,
    /// Retrain a scope when the mean absolute error of its last `error_window` forecasts
    /// (once their labels arrive) exceeds its model's holdout MAE by this fraction; 0 = off.
    pub retrain_on_degradation: f64,
    /// How many of a scope's latest labelled forecasts the degradation check averages.
    pub error_window: usize,
    /// Retrain each scope once per trading day: when every ticker of the scope has its bar
    /// for the newest date, or `daily_deadline_ms` after the first of them arrived.
    pub retrain_daily: bool,
    /// How long a trading day waits for the scope's missing tickers (`retrain_daily`).
    pub daily_deadline_ms: u64,
    /// The tickers a global model's trading day waits for (`retrain_daily`), whether the
    /// service has met them yet or not; empty = every ticker the scope has met. Per-ticker
    /// models wait for their own ticker either way.
    pub daily_tickers: Vec<String>,
}

impl Default for ServingSettings {
    fn default() -> Self {
        ServingSettings {
            enabled: true,
            min_training_rows: 200,
            retrain_every_rows: 20,
            holdout_fraction: 0.2,
            retrain_on_degradation: 0.5,
            error_window: 20,
            retrain_daily: false,
            daily_deadline_ms: 600_000,
            daily_tickers: Vec::new(),
        }
    }
}

impl ServingSettings {
    /// The retraining policy these settings describe.
    pub fn policy(&self) -> pricestream_serving::RetrainPolicy {
        pricestream_serving::RetrainPolicy {
            min_training_rows: self.min_training_rows,
            retrain_every_rows: self.retrain_every_rows,
            holdout_fraction: self.holdout_fraction,
            retrain_on_degradation: self.retrain_on_degradation,
            error_window: self.error_window,
            daily: self.retrain_daily.then(|| std::time::Duration::from_millis(self.daily_deadline_ms)),
            daily_tickers: self.daily_tickers.iter().cloned().collect(),
        }
    }

    /// Reports every problem of `daily_tickers`.
    fn validate_daily_tickers(&self, problems: &mut Problems) {
        let tickers = &self.daily_tickers;
        problems.check(
            tickers.is_empty() || self.retrain_daily,
            "serving.daily_tickers",
            format_args!("is only used with `serving.retrain_daily = true`, got {tickers:?} without it"),
        );
        for ticker in tickers {
            problems.check(
                !ticker.is_empty() && !ticker.contains(char::is_whitespace),
                "serving.daily_tickers",
                format_args!("must hold ticker symbols (non-empty, no spaces), got {ticker:?}"),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        let twice: Vec<&String> = tickers.iter().filter(|ticker| !seen.insert(*ticker)).collect();
        problems.check(
            twice.is_empty(),
            "serving.daily_tickers",
            format_args!("must name each ticker once, got {twice:?} more than once"),
        );
    }
}

/// The feature rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureSettings {
    /// The label of a row is the close this many bars later (the model's target).
    pub horizon_bars: u32,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings { horizon_bars: 2 }
    }
}

/// The forecasting model (`[model]`). The hyperparameters sit directly in the section under
/// XGBoost's names and aliases (`n_estimators`, `max_depth`, `learning_rate`/`eta`, `lambda`,
/// `gamma`, `min_child_weight`, `max_bin`, `subsample`, `colsample_bytree`, `seed`,
/// `base_score`, `threads`; see `docs/model.md`), beside the keys below.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct ModelSettings {
    /// `per_ticker` or `global`: what `train` and `backtest` use when given neither `--ticker`
    /// nor `--global`.
    pub scope: ScopeSetting,
    /// How many bars ahead the model forecasts. Must equal `features.horizon_bars`: the mart's
    /// label is the close that many bars later.
    pub horizon_bars: u32,
    /// Backtest: dates before the first prediction (the first training window).
    pub warmup_bars: usize,
    /// Backtest: dates per test block; the model is retrained before each block.
    pub retrain_every_bars: usize,
    /// The serving gate (backtest and `run`): the gated forecast must beat persistence's RMSE
    /// by this fraction on the rows its weight is learned from, or persistence is served.
    pub gate_margin: f64,
    /// The hyperparameters (XGBoost's names, in this same section).
    #[serde(flatten)]
    pub params: BoosterParams,
}

/// The keys of `[model]` that are not hyperparameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnModelKeys {
    #[serde(default)]
    scope: ScopeSetting,
    #[serde(default = "default_model_horizon_bars")]
    horizon_bars: u32,
    #[serde(default = "default_warmup_bars")]
    warmup_bars: usize,
    #[serde(default = "default_retrain_every_bars")]
    retrain_every_bars: usize,
    #[serde(default = "pricestream_model::default_gate_margin")]
    gate_margin: f64,
}

const OWN_MODEL_KEYS: [&str; 5] =
    ["scope", "horizon_bars", "warmup_bars", "retrain_every_bars", "gate_margin"];

fn default_model_horizon_bars() -> u32 {
    2
}
fn default_warmup_bars() -> usize {
    WalkForward::default().warmup_bars
}
fn default_retrain_every_bars() -> usize {
    WalkForward::default().retrain_every_bars
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            scope: ScopeSetting::default(),
            horizon_bars: default_model_horizon_bars(),
            warmup_bars: default_warmup_bars(),
            retrain_every_bars: default_retrain_every_bars(),
            gate_margin: pricestream_model::default_gate_margin(),
            params: BoosterParams::default(),
        }
    }
}

impl TryFrom<toml::Table> for ModelSettings {
    type Error = String;

    /// Splits the section: the model's own keys, and the hyperparameters (which refuse unknown
    /// keys, so a typo is reported rather than ignored).
    fn try_from(mut table: toml::Table) -> Result<Self, String> {
        let mut own = toml::Table::new();
        for key in OWN_MODEL_KEYS {
            if let Some(value) = table.remove(key) {
                own.insert(key.to_owned(), value);
            }
        }
        let own: OwnModelKeys = toml::Value::Table(own).try_into().map_err(|e| format!("[model]: {e}"))?;
        let params: BoosterParams = toml::Value::Table(table).try_into().map_err(|e| {
            format!("[model]: {e} (besides the hyperparameters: {})", OWN_MODEL_KEYS.join(", "))
        })?;
        Ok(ModelSettings {
            scope: own.scope,
            horizon_bars: own.horizon_bars,
            warmup_bars: own.warmup_bars,
            retrain_every_bars: own.retrain_every_bars,
            gate_margin: own.gate_margin,
            params,
        })
    }
}

impl ModelSettings {
    /// The walk-forward split of the backtest.
    pub fn walk_forward(&self) -> WalkForward {
        WalkForward {
            warmup_bars: self.warmup_bars,
            retrain_every_bars: self.retrain_every_bars,
            horizon_bars: self.horizon_bars as usize,
            gate_margin: self.gate_margin,
        }
    }
}

/// Consuming the input topics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerSettings {
    /// Consumer group under which offsets are committed. Env: `PRICESTREAM_GROUP_ID`.
    pub group_id: String,
    /// Most records one worker takes into one epoch.
    pub epoch_max_records: usize,
    /// Longest one epoch waits for its first record, and longest it stays open after it (a
    /// pause in the input closes it sooner).
    pub epoch_max_wait_ms: u64,
    /// Input messages larger than this are refused (dead-lettered) unread: a bar or an
    /// indicator value is a few hundred bytes.
    pub max_message_bytes: usize,
    /// An idle service commits its offsets again after this long, so that Kafka never expires
    /// them (`offsets.retention.minutes`, 7 days by default, counts from the last commit).
    pub commit_refresh_ms: u64,
    /// How often the input topics' partition counts are checked, so that partitions added while
    /// the service runs are read.
    pub partition_check_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            group_id: "pricestream-analytics".into(),
            epoch_max_records: 5_000,
            epoch_max_wait_ms: 200,
            max_message_bytes: 16 * 1024,
            commit_refresh_ms: 3_600_000,
            partition_check_ms: 30_000,
        }
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
        self.serving.validate_daily_tickers(problems);
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
    fn daily_tickers_become_the_policy_and_bad_lists_are_refused_by_key() {
        let config =
            parse("[serving]\nretrain_daily = true\ndaily_tickers = [\"NVDA\", \"ORCL\"]\n").expect("valid");
        let problems = Problems::collect(|problems| config.validate(problems));
        assert!(problems.is_empty(), "{problems}");
        let policy = config.serving.policy();
        assert_eq!(policy.daily_tickers.iter().map(String::as_str).collect::<Vec<_>>(), ["NVDA", "ORCL"]);
        assert!(parse("").expect("valid").serving.policy().daily_tickers.is_empty(), "default: empty");

        let config =
            parse("[serving]\ndaily_tickers = [\"NVDA\", \"\", \"NV DA\", \"NVDA\"]\n").expect("parses");
        let problems = Problems::collect(|problems| config.validate(problems));
        let text = problems.to_string();
        assert_eq!(problems.messages().len(), 4, "{text}");
        assert!(
            text.contains("`serving.daily_tickers` is only used with `serving.retrain_daily = true`"),
            "{text}"
        );
        let symbols = problems.messages().iter().filter(|m| m.contains("must hold ticker symbols")).count();
        assert_eq!(symbols, 2, "the empty one and the one with a space: {text}");
        assert!(text.contains("more than once") && text.contains("[\"NVDA\"]"), "{text}");
    }
}
