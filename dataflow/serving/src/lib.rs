//! The streaming model stage: fed by the feature rows each worker's dataflow produces, it
//! scores the newest rows at once with the current model of their scope and retrains on
//! its own thread when the policy says so; a finished version replaces the old one and
//! re-scores the newest rows. See `docs/model.md` ("In the streaming service").
//!
//! The stage does no I/O: the analytics service hands it the rows of the scopes routed to a
//! worker and gives it two callbacks, one that loads a stored model version and one that stores
//! a new one (`dataflow/streaming/src/serving.rs`).
//!
//! ```
//! use pricestream_model::{ModelScope, ScopeSetting};
//! use pricestream_serving::ModelStage;
//!
//! // Which model scores a row: its ticker's own, or the one global model.
//! assert_eq!(ModelStage::scope_of(ScopeSetting::PerTicker, "NVDA"), ModelScope::Ticker("NVDA".into()));
//! assert_eq!(ModelStage::scope_of(ScopeSetting::Global, "NVDA").as_str(), "global");
//! ```

mod holdout;
mod policy;
mod schedule;
mod series;
mod stage;
mod trainer;

pub use policy::RetrainPolicy;
pub use stage::{EpochReport, Load, ModelStage, ModelVersion, StageSettings};
pub use trainer::{Store, Trainer};

#[cfg(test)]
mod tests;
