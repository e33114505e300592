//! Progress on the terminal for trainings that take a while (hidden when stderr is not one).

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A bar over the walk-forward folds.
pub fn folds(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} folds, {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("Backtesting");
    bar
}

/// A spinner for one training.
pub fn training(rows: usize) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("Training on {rows} rows"));
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
