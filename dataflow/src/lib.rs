//! The shared core of pricestream: the records that flow through the system,
//! their wire format, the Kafka topics and Cassandra tables they live in, the
//! connection configuration both binaries share, and the dataflow that turns
//! bars into feature rows.
//!
//! ```
//! use pricestream_dataflow::records::{Bar, Timeframe};
//! use pricestream_dataflow::wire;
//!
//! let bar = Bar {
//!     ticker: "NVDA".into(),
//!     timeframe: Timeframe::Day,
//!     datetime: chrono::NaiveDate::from_ymd_opt(1999, 1, 22).unwrap(),
//!     open: 1.75, high: 1.953125, low: 1.552083, close: 1.640625,
//!     volume: 67_867_200,
//!     task_number: uuid::Uuid::nil(),
//! };
//! bar.validate().unwrap();
//! let bytes = wire::encode(&bar);
//! let back: Bar = wire::decode(&bytes).unwrap();
//! assert_eq!(back, bar);
//! ```

pub mod allocator;
pub mod cassandra;
pub mod config;
pub mod fault;
pub mod features;
pub mod indicators;
pub mod kafka;
pub mod model;
pub mod records;
pub mod telemetry;
pub mod topics;
pub mod wire;
