use crate::config::KafkaConfig;
use rdkafka::ClientConfig;

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
        client.set("sasl.password", password);
    }
    for (key, value) in &config.properties {
        client.set(key, value);
    }
    client
}
