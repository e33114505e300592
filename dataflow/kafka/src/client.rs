use crate::kafka_fault;
use pricestream_runtime::config::KafkaConfig;
use pricestream_runtime::fault::{Dependency, Fault, Outages};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use std::sync::Arc;

/// The context of every client: librdkafka's reports of a broker going away (every few hundred
/// milliseconds while it is down) are debug lines, since the services report an outage once
/// ([`pricestream_runtime::fault::Outages`]), to which a reporting context hands them; everything else is
/// logged as librdkafka ranks it.
#[derive(Clone, Default)]
pub struct QuietContext {
    outages: Option<Arc<Outages>>,
}

impl QuietContext {
    /// A context that reports lost brokers to `outages` (a producer whose sends wait inside
    /// librdkafka while the brokers are away sees no failed request of its own).
    pub fn reporting(outages: Arc<Outages>) -> Self {
        QuietContext { outages: Some(outages) }
    }
}

/// librdkafka log facilities that only narrate connection churn.
const CHURN: [&str; 7] = ["FAIL", "REQTMOUT", "BROKERFAIL", "ERROR", "CONNECT", "STATE", "DISCONNECT"];

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        use RDKafkaLogLevel::*;
        match level {
            _ if CHURN.contains(&fac) => tracing::debug!(target: "librdkafka", "{fac} {message}"),
            Emerg | Alert | Critical | Error => tracing::error!(target: "librdkafka", "{fac} {message}"),
            Warning => tracing::warn!(target: "librdkafka", "{fac} {message}"),
            Notice | Info => tracing::info!(target: "librdkafka", "{fac} {message}"),
            Debug => tracing::debug!(target: "librdkafka", "{fac} {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if kafka_fault(&error) == Fault::Transient {
            tracing::debug!(target: "librdkafka", "{error}: {reason}");
            if let Some(outages) = &self.outages {
                outages.failed(Dependency::Kafka, "broker connection", &error);
            }
        } else {
            tracing::error!(target: "librdkafka", "{error}: {reason}");
        }
    }
}

impl ConsumerContext for QuietContext {}

/// librdkafka settings for `config`: brokers, security and the pass-through properties.
pub fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.brokers);
    client.set("security.protocol", &config.security_protocol);
    if config.security_protocol.starts_with("sasl") {
        client.set("sasl.mechanism", &config.sasl_mechanism);
    }
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        client.set("sasl.username", user);
        client.set("sasl.password", password.expose());
    }
    if let Some(tls) = &config.tls {
        let files = [
            ("ssl.ca.location", &tls.ca_file),
            ("ssl.certificate.location", &tls.certificate_file),
            ("ssl.key.location", &tls.key_file),
        ];
        for (property, file) in files {
            if let Some(file) = file {
                client.set(property, file.to_string_lossy());
            }
        }
        if let Some(password) = &tls.key_password {
            client.set("ssl.key.password", password.expose());
        }
        let check = if tls.verify_hostname { "https" } else { "none" };
        client.set("ssl.endpoint.identification.algorithm", check);
    }
    // A restarted broker is found again within 2 s (librdkafka's default backs off to 10 s).
    client.set("reconnect.backoff.max.ms", "2000");
    for (key, value) in &config.properties {
        client.set(key, value);
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::BaseProducer;

    /// librdkafka checks at creation that it was built with what the settings need: TLS and
    /// SCRAM need OpenSSL (rdkafka's `ssl-vendored` feature). Nothing connects here.
    #[test]
    fn tls_and_scram_settings_are_supported_by_the_built_librdkafka() {
        for (protocol, mechanism) in
            [("ssl", "PLAIN"), ("sasl_ssl", "SCRAM-SHA-512"), ("sasl_plaintext", "SCRAM-SHA-256")]
        {
            let config = KafkaConfig {
                brokers: "127.0.0.1:1".into(),
                security_protocol: protocol.into(),
                sasl_mechanism: mechanism.into(),
                username: Some("user".into()),
                password: Some("secret".into()),
                ..KafkaConfig::default()
            };
            let created = client_config(&config).create::<BaseProducer>();
            assert!(created.is_ok(), "{protocol} / {mechanism}: {:?}", created.err());
        }
    }
}
