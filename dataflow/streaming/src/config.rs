//! The sections of the analytics config that shape the streaming job: `[consumer]`,
//! `[features]`, `[model]` and `[serving]`. The service's config file holds them beside its
//! connection and cluster sections, and validates them all at once.

pub use pricestream_model::ScopeSetting;
use pricestream_model::{BoosterParams, WalkForward};
use pricestream_runtime::config::{KafkaConfig, Problems};
use serde::{Deserialize, Serialize};

/// What the streaming job reads from the service's config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobConfig {
    /// Where the input and output topics are.
    pub kafka: KafkaConfig,
    /// `[consumer]`: the group, epochs and refused messages.
    pub consumer: ConsumerSettings,
    /// `[features]`: the label horizon.
    pub features: FeatureSettings,
    /// `[model]`: the scope, the gate and the hyperparameters.
    pub model: ModelSettings,
    /// `[serving]`: scoring and retraining inside `run`.
    pub serving: ServingSettings,
    /// `[trading_days]`: the trading-day frontier.
    pub trading_days: crate::trading_days::TradingDaySettings,
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
    /// Retrain each scope once per trading day: a per-ticker scope at each new label date, a
    /// global scope when the trading-day frontier declares a day (`[trading_days]`).
    pub retrain_daily: bool,
    /// Replaced by `trading_days.deadline_ms`; refused with that advice when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_deadline_ms: Option<u64>,
    /// Replaced by `trading_days.universe`; refused with that advice when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_tickers: Option<Vec<String>>,
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
            daily_deadline_ms: None,
            daily_tickers: None,
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
            daily: self.retrain_daily,
        }
    }

    /// Reports the daily policy's problems: the keys the trading-day frontier replaced, and a
    /// daily policy without the frontier that drives it.
    pub fn validate_daily(&self, trading_days_enabled: bool, problems: &mut Problems) {
        problems.check(
            self.daily_deadline_ms.is_none(),
            "serving.daily_deadline_ms",
            "was replaced by `trading_days.deadline_ms`: the trading-day frontier now decides when a day is complete",
        );
        problems.check(
            self.daily_tickers.is_none(),
            "serving.daily_tickers",
            "was replaced by `trading_days.universe`: the trading-day frontier now decides whose bars a day waits for",
        );
        problems.check(
            !self.retrain_daily || trading_days_enabled,
            "serving.retrain_daily",
            "needs `trading_days.enabled = true`: the days it retrains on are the ones the frontier declares",
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
