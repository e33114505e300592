use pricestream_dataflow::config::{
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
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            kafka: KafkaConfig::default(),
            cassandra: CassandraConfig::default(),
            consumer: ConsumerSettings::default(),
            features: FeatureSettings::default(),
            http: HttpSettings::on("127.0.0.1:9898"),
        }
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

/// Consuming the input topics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerSettings {
    /// Consumer group under which offsets are committed. Env: `PRICESTREAM_GROUP_ID`.
    pub group_id: String,
    /// Most records one worker takes into one epoch.
    pub epoch_max_records: usize,
    /// Longest one epoch waits for records before it is processed.
    pub epoch_max_wait_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            group_id: "pricestream-analytics".into(),
            epoch_max_records: 5_000,
            epoch_max_wait_ms: 200,
        }
    }
}

impl Validate for AnalyticsConfig {
    fn apply_env(&mut self, env: &dyn EnvSource) {
        self.kafka.apply_env(env);
        self.cassandra.apply_env(env);
        if let Some(v) = env.var("PRICESTREAM_GROUP_ID") {
            self.consumer.group_id = v;
        }
        self.http.apply_env(env);
    }

    fn validate(&self, problems: &mut Problems) {
        self.kafka.validate("kafka", problems);
        self.cassandra.validate("cassandra", problems);
        problems.check(!self.consumer.group_id.is_empty(), "consumer.group_id", "must not be empty");
        problems.check(
            self.consumer.epoch_max_records >= 1,
            "consumer.epoch_max_records",
            format_args!("must be >= 1, got {}", self.consumer.epoch_max_records),
        );
        problems.check(
            self.consumer.epoch_max_wait_ms >= 1,
            "consumer.epoch_max_wait_ms",
            format_args!("must be >= 1, got {}", self.consumer.epoch_max_wait_ms),
        );
        self.http.validate("http", problems);
        problems.check(
            self.features.horizon_bars >= 1,
            "features.horizon_bars",
            format_args!("must be >= 1, got {}", self.features.horizon_bars),
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
        let mut problems = Problems::default();
        config.validate(&mut problems);
        assert_eq!(config.consumer.group_id, "g1");
        assert_eq!(problems.messages().len(), 2, "{problems}");
        assert!(problems.to_string().contains("`http.listen_addr` must be ip:port, got `localhost`"));
    }
}
