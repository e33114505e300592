use super::address::check_host_port;
use super::{EnvSource, Problems};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How to reach Kafka and name the topics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap brokers, comma-separated `host:port`. Env: `KAFKA_BROKERS`.
    pub brokers: String,
    /// Prefix of every topic name (`<prefix>bars`, …). Env: `PRICESTREAM_TOPIC_PREFIX`.
    pub topic_prefix: String,
    /// Partitions for topics pricestream creates.
    pub topic_partitions: i32,
    /// Replication factor for topics pricestream creates.
    pub topic_replication_factor: i32,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`. Env: `KAFKA_SECURITY_PROTOCOL`.
    pub security_protocol: String,
    /// SASL mechanism when SASL is used (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`).
    pub sasl_mechanism: String,
    /// SASL user. Env: `KAFKA_USERNAME`.
    pub username: Option<String>,
    /// SASL password. Env: `KAFKA_PASSWORD`.
    pub password: Option<String>,
    /// Extra librdkafka client properties, passed through as they are.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            topic_prefix: "pricestream.".into(),
            topic_partitions: 4,
            topic_replication_factor: 1,
            security_protocol: "plaintext".into(),
            sasl_mechanism: "PLAIN".into(),
            username: None,
            password: None,
            properties: BTreeMap::new(),
        }
    }
}

const SECURITY_PROTOCOLS: [&str; 4] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

impl KafkaConfig {
    /// Applies `KAFKA_BROKERS`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_USERNAME`,
    /// `KAFKA_PASSWORD` and `PRICESTREAM_TOPIC_PREFIX`.
    pub fn apply_env(&mut self, env: &dyn EnvSource) {
        env.set("KAFKA_BROKERS", &mut self.brokers);
        env.set("KAFKA_SECURITY_PROTOCOL", &mut self.security_protocol);
        env.set("KAFKA_USERNAME", &mut self.username);
        env.set("KAFKA_PASSWORD", &mut self.password);
        env.set("PRICESTREAM_TOPIC_PREFIX", &mut self.topic_prefix);
    }

    /// Records every problem under `prefix` (e.g. `kafka`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |k: &str| format!("{prefix}.{k}");
        let brokers: Vec<&str> = self.brokers.split(',').map(str::trim).filter(|b| !b.is_empty()).collect();
        problems.check(!brokers.is_empty(), &key("brokers"), "must name at least one broker");
        for broker in brokers {
            check_host_port(problems, &key("brokers"), broker);
        }
        problems.check(
            self.topic_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            &key("topic_prefix"),
            format_args!("may only hold letters, digits, `.`, `_` and `-`, got `{}`", self.topic_prefix),
        );
        problems.at_least(&key("topic_partitions"), self.topic_partitions, 1);
        problems.at_least(&key("topic_replication_factor"), self.topic_replication_factor, 1);
        problems.check(
            SECURITY_PROTOCOLS.contains(&self.security_protocol.as_str()),
            &key("security_protocol"),
            format_args!("must be one of {SECURITY_PROTOCOLS:?}, got `{}`", self.security_protocol),
        );
        problems.check(
            self.username.is_some() == self.password.is_some(),
            &key("username"),
            "and `password` must be given together",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_the_file() {
        let mut config = KafkaConfig::default();
        config.apply_env(&HashMap::from([("KAFKA_BROKERS", "k1:9092,k2:9092")]));
        assert_eq!(config.brokers, "k1:9092,k2:9092");
    }

    #[test]
    fn reports_every_problem() {
        let config = KafkaConfig {
            brokers: "nohost,k:99999".into(),
            topic_partitions: 0,
            security_protocol: "tls".into(),
            username: Some("u".into()),
            ..KafkaConfig::default()
        };
        let problems = Problems::collect(|problems| config.validate("kafka", problems));
        let text = problems.to_string();
        assert_eq!(problems.messages().len(), 5, "{text}");
        assert!(text.contains("`kafka.brokers` entry `nohost` must be host:port"), "{text}");
        assert!(text.contains("`kafka.topic_partitions` must be >= 1, got 0"), "{text}");
    }
}
