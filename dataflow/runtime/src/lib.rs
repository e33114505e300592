//! What both services need to run: configuration files with environment overrides and
//! whole-config validation, the record of dependency outages and the retries that wait them
//! out, logging, the `/metrics` and health endpoints, the allocator, and how a binary starts and
//! ends.
//!
//! ```
//! use pricestream_runtime::config::{KafkaConfig, Problems};
//!
//! let kafka = KafkaConfig { brokers: "localhost".into(), ..KafkaConfig::default() };
//! let problems = Problems::collect(|problems| kafka.validate("kafka", problems));
//! // Every problem of a config is listed, with the key it is about.
//! assert!(problems.to_string().contains("kafka.brokers"));
//! ```

pub mod allocator;
pub mod config;
pub mod fault;
pub mod process;
pub mod telemetry;
