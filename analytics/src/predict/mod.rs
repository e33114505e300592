//! The streaming model stage: fed by the feature rows each worker's dataflow produces, it
//! scores the newest rows at once with the current model of their scope and retrains on
//! its own thread when the policy says so; a finished version replaces the old one and
//! re-scores the newest rows. See `docs/model.md` ("In the streaming service").

mod policy;
mod scope;
mod series;
mod stage;
mod trainer;

pub use policy::RetrainPolicy;
pub use scope::{GLOBAL_SCOPE, Scope};
pub use stage::{EpochReport, Forecast, ModelStage, ModelVersion, StageSettings};
pub use trainer::{Holdout, Store, TrainedModel, Trainer};

#[cfg(test)]
mod tests;
