//! Configuration shared by the binaries: how to reach Kafka and Cassandra,
//! loading a TOML file, environment overrides and whole-config validation.

mod address;
mod cassandra;
mod env;
mod global_args;
mod http;
mod kafka;
mod load;
mod secret;
mod tls;

pub use cassandra::CassandraConfig;
pub use env::{EnvSource, ProcessEnv};
pub use global_args::GlobalArgs;
pub use http::HttpSettings;
pub use kafka::KafkaConfig;
pub use load::{ConfigError, Validate, load};
pub use pricestream_records::Problems;
pub use secret::Secret;
pub use tls::TlsConfig;
