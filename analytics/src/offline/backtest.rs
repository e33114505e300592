//! `pricestream-analytics backtest`: the walk-forward backtest printed as a table, and the chart.

use super::error::ModelCommandError;
use super::{chart, rows, walk};
use crate::cli::BacktestArgs;
use crate::config::AnalyticsConfig;
use pricestream_cassandra::ModelScope;
use pricestream_model::Dataset;
use tracing::info;

/// Runs the backtest of `args`, prints its report on stdout and draws the chart if asked.
pub fn run(config: &AnalyticsConfig, args: &BacktestArgs) -> Result<(), ModelCommandError> {
    if args.chart.is_some() && args.input.global {
        return Err(ModelCommandError::ChartNeedsTicker);
    }
    let (scope, rows) = rows::load(config, &args.input)?;
    if args.chart.is_some() && scope == ModelScope::Global {
        return Err(ModelCommandError::ChartNeedsTicker);
    }
    let dataset = Dataset::from_rows(&rows);
    let plan = config.model.walk_forward();
    let backtest = walk::run(&dataset, &plan, &config.model.params)?;
    println!(
        "{scope}: walk-forward backtest, horizon {} bars, warm-up {} bars, retrained every {} bars",
        plan.horizon_bars, plan.warmup_bars, plan.retrain_every_bars
    );
    println!("{}", backtest.report);
    println!("\nFeature importance of the last block's model (XGBoost's weight, gain and cover):");
    println!("{}", backtest.importance);
    if let Some(path) = &args.chart {
        let title = format!("{scope}: predicted vs actual close, {} bars ahead", plan.horizon_bars);
        chart::draw(path, &title, &backtest.forecasts)
            .map_err(|message| ModelCommandError::Chart { path: path.clone(), message })?;
        info!(path = %path.display(), points = backtest.forecasts.len(), "Wrote the chart.");
        println!("chart: {}", path.display());
    }
    Ok(())
}
