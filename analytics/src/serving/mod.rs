//! The streaming model stage: fed by the feature rows each worker's dataflow produces, it
//! scores the newest rows at once with the current model of their scope and retrains on
//! its own thread when the policy says so; a finished version replaces the old one and
//! re-scores the newest rows. See `docs/model.md` ("In the streaming service").

mod day;
mod policy;
mod series;
mod stage;
mod trainer;
pub mod worker;

pub use policy::RetrainPolicy;
pub use stage::{EpochReport, Load, ModelStage, ModelVersion, StageSettings};
pub use trainer::{Store, Trainer};

#[cfg(test)]
mod tests;
