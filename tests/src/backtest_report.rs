//! Reading the report `pricestream-analytics backtest` prints, as a user reads it.

use anyhow::Context;

/// The numbers of one row of the printed metrics table (the row whose first cell starts with
/// `name`): RMSE, MAE, MAPE and direction, `None` where a cell is not a number (`n/a`).
pub fn table_row(stdout: &str, name: &str) -> anyhow::Result<Vec<Option<f64>>> {
    let line = stdout
        .lines()
        .find(|line| line.trim_start_matches('|').trim_start().starts_with(name))
        .with_context(|| format!("no `{name}` row in:\n{stdout}"))?;
    Ok(line
        .split('|')
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .skip(1)
        .map(|cell| cell.trim_end_matches('%').trim().parse().ok())
        .collect())
}

/// The RMSE of one row of the printed metrics table.
pub fn rmse(stdout: &str, name: &str) -> anyhow::Result<f64> {
    table_row(stdout, name)?
        .first()
        .copied()
        .flatten()
        .with_context(|| format!("no RMSE in the `{name}` row"))
}
