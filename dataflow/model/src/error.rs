//! What can go wrong when training, loading or evaluating a model.

use super::cuda::CudaError;
use pricestream_records::Problems;

/// Why a model could not be trained, loaded or backtested.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The hyperparameters failed validation; every problem is listed.
    #[error("invalid model settings:\n{0}")]
    InvalidParams(Problems),
    /// The training data cannot be used as given.
    #[error("cannot train: {0}")]
    BadTrainingData(String),
    /// A row handed to prediction has the wrong number of inputs.
    #[error("a row has {got} inputs but the model was trained on {expected}")]
    WrongRowWidth {
        /// Inputs the model expects.
        expected: usize,
        /// Inputs the row has.
        got: usize,
    },
    /// A saved model is not valid JSON of the expected shape.
    #[error("cannot read the saved model: {0}")]
    Decode(#[source] serde_json::Error),
    /// A saved model was written by a format this build does not read.
    #[error("saved model has format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Version this build writes and reads.
        supported: u32,
    },
    /// A saved model decodes but its trees are inconsistent (a child index out of range, …).
    #[error("saved model is corrupt: {0}")]
    Corrupt(String),
    /// The CUDA backend could not be opened (`device = "cuda"` without a usable GPU) or failed.
    #[error("CUDA backend: {0}")]
    Cuda(#[from] CudaError),
    /// The rows are too few for the requested walk-forward split.
    #[error("cannot backtest: {0}")]
    NotEnoughRows(String),
}
