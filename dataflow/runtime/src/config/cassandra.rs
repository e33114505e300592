use super::address::check_host_port;
use super::secret::check_credentials;
use super::{EnvSource, Problems, Secret, TlsConfig};
use serde::{Deserialize, Serialize};

/// How to reach Cassandra and which keyspaces to use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CassandraConfig {
    /// Contact points, `host:port`. Env: `CASSANDRA_CONTACT_POINTS` (comma-separated).
    pub contact_points: Vec<String>,
    /// User for password authentication. Env: `CASSANDRA_USERNAME`.
    pub username: Option<String>,
    /// Password for password authentication. Env: `CASSANDRA_PASSWORD`.
    pub password: Option<Secret>,
    /// Client TLS (`[cassandra.tls]`): on when the table is there; the CA, and a client
    /// certificate for clusters that require one.
    pub tls: Option<TlsConfig>,
    /// Datacenter whose nodes are preferred; all nodes are used when unset.
    pub local_datacenter: Option<String>,
    /// Keyspace of the warehouse tables (bars, indicators). Env: `PRICESTREAM_DWH_KEYSPACE`.
    pub dwh_keyspace: String,
    /// Keyspace of the feature mart. Env: `PRICESTREAM_MART_KEYSPACE`.
    pub mart_keyspace: String,
    /// CQL replication map used when pricestream creates a keyspace.
    pub replication: String,
    /// Most statements in flight at once per process.
    pub max_in_flight_requests: usize,
    /// How long one statement may take before it fails.
    pub request_timeout_ms: u64,
}

impl Default for CassandraConfig {
    fn default() -> Self {
        CassandraConfig {
            contact_points: vec!["127.0.0.1:9042".into()],
            username: None,
            password: None,
            tls: None,
            local_datacenter: None,
            dwh_keyspace: "instrument_data".into(),
            mart_keyspace: "instrument_mart".into(),
            replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}".into(),
            max_in_flight_requests: 128,
            request_timeout_ms: 10_000,
        }
    }
}

impl CassandraConfig {
    /// Applies `CASSANDRA_CONTACT_POINTS`, `CASSANDRA_USERNAME`, `CASSANDRA_PASSWORD`,
    /// `PRICESTREAM_DWH_KEYSPACE` and `PRICESTREAM_MART_KEYSPACE`.
    pub fn apply_env(&mut self, env: &dyn EnvSource) {
        if let Some(v) = env.var("CASSANDRA_CONTACT_POINTS") {
            self.contact_points =
                v.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        }
        env.set("CASSANDRA_USERNAME", &mut self.username);
        if let Some(password) = env.var("CASSANDRA_PASSWORD") {
            self.password = Some(password.into());
        }
        env.set("PRICESTREAM_DWH_KEYSPACE", &mut self.dwh_keyspace);
        env.set("PRICESTREAM_MART_KEYSPACE", &mut self.mart_keyspace);
    }

    /// Records every problem under `prefix` (e.g. `cassandra`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |k: &str| format!("{prefix}.{k}");
        problems.check(
            !self.contact_points.is_empty(),
            &key("contact_points"),
            "must name at least one host:port",
        );
        for point in &self.contact_points {
            check_host_port(problems, &key("contact_points"), point);
        }
        for (name, value) in [("dwh_keyspace", &self.dwh_keyspace), ("mart_keyspace", &self.mart_keyspace)] {
            problems.check(
                is_cql_identifier(value),
                &key(name),
                format_args!("must be 1-48 letters, digits or `_`, starting with a letter, got `{value}`"),
            );
        }
        problems.check(
            self.replication.trim_start().starts_with('{') && self.replication.contains("class"),
            &key("replication"),
            format_args!("must be a CQL replication map like {{'class': ...}}, got `{}`", self.replication),
        );
        problems.at_least(&key("max_in_flight_requests"), self.max_in_flight_requests, 1);
        problems.at_least(&key("request_timeout_ms"), self.request_timeout_ms, 1);
        check_credentials(&self.username, &self.password, &key("username"), problems);
        if let Some(tls) = &self.tls {
            // The driver's TLS backend reads unencrypted keys only.
            tls.validate(&key("tls"), false, problems);
        }
    }
}

fn is_cql_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 48
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_contact_points_and_keyspaces() {
        let mut config = CassandraConfig::default();
        config.apply_env(&HashMap::from([
            ("CASSANDRA_CONTACT_POINTS", "c1:9042, c2:9042"),
            ("PRICESTREAM_MART_KEYSPACE", "mart_test"),
        ]));
        assert_eq!(config.contact_points, vec!["c1:9042", "c2:9042"]);
        assert_eq!(config.mart_keyspace, "mart_test");
        assert_eq!(config.dwh_keyspace, "instrument_data");
    }

    #[test]
    fn rejects_bad_keyspace_names() {
        let config = CassandraConfig { dwh_keyspace: "1bad-name".into(), ..CassandraConfig::default() };
        let problems = Problems::collect(|problems| config.validate("cassandra", problems));
        assert_eq!(problems.messages().len(), 1);
        assert!(problems.messages()[0].starts_with("`cassandra.dwh_keyspace`"));
    }
}
