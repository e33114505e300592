//! The dataflow that maintains feature rows from the input streams.
//!
//! [`feature_graph`] is the incremental feature graph in differential dataflow: bars LEFT OUTER
//! JOIN the seven indicators on `(ticker, timeframe, date)`, with the row number `id` and the
//! `label` (close `horizon_bars` later), kept correct under inserts, corrections and
//! out-of-order dates. Feed it through [`FeatureInputs`] (upsert semantics). The design is
//! described in `docs/feature-graph.md`.
//!
//! ```
//! use pricestream_features::{FeatureInputs, feature_graph};
//! use pricestream_records::{Bar, Timeframe};
//! use std::sync::{Arc, Mutex};
//!
//! let rows = Arc::new(Mutex::new(Vec::new()));
//! let seen = Arc::clone(&rows);
//! timely::execute_directly(move |worker| {
//!     let mut inputs = FeatureInputs::<u64>::new();
//!     let mut probe = timely::dataflow::ProbeHandle::new();
//!     worker.dataflow(|scope| {
//!         let days = inputs.to_collection(scope);
//!         feature_graph(days, 1)
//!             .inspect(move |(row, _, diff)| seen.lock().unwrap().push((row.to_feature_row(), *diff)))
//!             .probe_with(&mut probe);
//!     });
//!     for (day, close) in [(5, 10.0), (6, 11.0)] {
//!         inputs.upsert_bar(&Bar {
//!             ticker: "NVDA".into(),
//!             timeframe: Timeframe::Day,
//!             datetime: chrono::NaiveDate::from_ymd_opt(2014, 1, day).unwrap(),
//!             open: close, high: close, low: close, close,
//!             volume: 1,
//!             task_number: uuid::Uuid::nil(),
//!             adjustment_factor: 1.0,
//!             source: None,
//!         });
//!     }
//!     inputs.advance_to(1);
//!     inputs.flush();
//!     worker.step_while(|| probe.less_than(&1));
//! });
//! // The first day's row has its label (the next close) and row number 1.
//! let rows = rows.lock().unwrap();
//! assert!(rows.iter().any(|(row, diff)| *diff > 0 && row.id == Some(1) && row.label == Some(11.0)));
//! ```

mod block;
mod bundle;
mod inputs;
mod join;
mod label;
mod latest;
mod record;
mod row_id;
mod series_id;
mod slots;
mod upsert;
mod values;

pub use pricestream_records::IndicatorKind;

/// The version of what a feature row holds: raise it with any change of the graph that changes
/// a row (a column, a rule), so that the analytics service rewrites a mart written before.
pub const FEATURE_SCHEMA_VERSION: u32 = 1;
pub use inputs::{BlockCollection, FeatureInputs};
pub use join::feature_graph;
pub use latest::Version;
pub use record::{BarKey, FeatureRecord, SeriesKey};
pub use row_id::row_ids;
pub use slots::IndicatorSlots;
pub use upsert::{Delivered, Delivery, UpsertInput, series_hash, upsert_deliveries};
pub use values::{Close, F64Bits, Indicator};
