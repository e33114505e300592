//! The forecasting model's commands: `backtest` (walk-forward evaluation against the persistence
//! baseline, with a chart) and `train` (a new model version in `instrument_mart.models`), over
//! the mart in Cassandra or over CSV files.
//!
//! | file | job |
//! |---|---|
//! | `scope.rs` | `--ticker` / `--global` / `model.scope` → the model's scope |
//! | `rows.rs`, `files.rs` | the mart rows: from Cassandra, or computed from CSV files |
//! | `walk.rs`, `progress.rs` | the walk-forward backtest, fold by fold, with a progress bar |
//! | `chart.rs` | the PNG chart |
//! | `backtest.rs`, `train.rs`, `export.rs` | the three commands |

mod backtest;
mod chart;
mod error;
mod export;
mod files;
mod progress;
mod rows;
mod scope;
mod train;
mod walk;

pub use backtest::run as backtest;
pub use error::ModelCommandError;
pub use export::run as export;
pub use train::run as train;

/// A small runtime for the commands' Cassandra reads and writes (training runs outside it).
fn runtime() -> Result<tokio::runtime::Runtime, ModelCommandError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ModelCommandError::Runtime)
}
