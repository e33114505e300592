use super::address::check_host_port;
use super::secret::check_credentials;
use super::{EnvSource, Problems, Secret, TlsConfig};
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
    pub password: Option<Secret>,
    /// TLS settings (`[kafka.tls]`) for `ssl` and `sasl_ssl`: the CA, and the client
    /// certificate for brokers that require one. Env: `KAFKA_TLS_KEY_PASSWORD`.
    pub tls: Option<TlsConfig>,
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
            tls: None,
            properties: BTreeMap::new(),
        }
    }
}

const SECURITY_PROTOCOLS: [&str; 4] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

impl KafkaConfig {
    /// Applies `KAFKA_BROKERS`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_USERNAME`,
    /// `KAFKA_PASSWORD`, `KAFKA_TLS_KEY_PASSWORD` and `PRICESTREAM_TOPIC_PREFIX`.
    pub fn apply_env(&mut self, env: &dyn EnvSource) {
        env.set("KAFKA_BROKERS", &mut self.brokers);
        env.set("KAFKA_SECURITY_PROTOCOL", &mut self.security_protocol);
        env.set("KAFKA_USERNAME", &mut self.username);
        if let Some(password) = env.var("KAFKA_PASSWORD") {
            self.password = Some(password.into());
        }
        if let Some(password) = env.var("KAFKA_TLS_KEY_PASSWORD") {
            self.tls.get_or_insert_with(TlsConfig::default).key_password = Some(password.into());
        }
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
        check_credentials(&self.username, &self.password, &key("username"), problems);
        if let Some(tls) = &self.tls {
            tls.validate(&key("tls"), true, problems);
            problems.check(
                self.security_protocol.ends_with("ssl"),
                &key("tls"),
                format_args!(
                    "is set but `security_protocol` is `{}`: use `ssl` or `sasl_ssl`",
                    self.security_protocol
                ),
            );
        }
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
