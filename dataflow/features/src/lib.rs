//! The dataflow that maintains feature rows from the input streams.
//!
//! [`feature_graph`] is the incremental feature graph in differential dataflow: bars LEFT OUTER
//! JOIN the seven indicators on `(ticker, timeframe, date)`, with the row number `id` and the
//! `label` (close `horizon_bars` later), kept correct under inserts, corrections and
//! out-of-order dates. Feed it through [`FeatureInputs`] (upsert semantics). The design is
//! described in `docs/feature-graph.md`.

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
pub use inputs::{EntryCollection, FeatureInputs};
pub use join::feature_graph;
pub use latest::Version;
pub use record::{BarKey, FeatureRecord, SeriesKey};
pub use row_id::row_ids;
pub use upsert::{Delivered, Delivery, UpsertInput, series_hash, upsert_deliveries};
pub use values::{F64Bits, Indicator};
