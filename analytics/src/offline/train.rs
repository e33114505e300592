//! `pricestream-analytics train`: a model on every labelled row, stored as a new version.

use super::error::ModelCommandError;
use super::{progress, rows, walk};
use crate::cli::TrainArgs;
use crate::config::AnalyticsConfig;
use pricestream_cassandra::{
    BacktestSummary, ModelRecord, ModelScope, ModelTable, connect, create_mart_schema,
};
use pricestream_model::{Booster, Dataset, FEATURE_NAMES, Gate, ModelError};
use std::sync::Arc;
use tracing::{info, warn};

/// Trains the model of `args`' scope and stores it; prints the version it got.
pub fn run(config: &AnalyticsConfig, args: &TrainArgs) -> Result<(), ModelCommandError> {
    let (scope, rows) = rows::load(config, &args.input)?;
    let dataset = Dataset::from_rows(&rows);
    let backtest = if args.skip_backtest {
        None
    } else {
        match walk::run(&dataset, &config.model.walk_forward(), &config.model.params) {
            Ok(backtest) => {
                println!("{}", backtest.report);
                Some((BacktestSummary::from(&backtest.report), backtest.gate))
            }
            Err(ModelError::NotEnoughRows(why)) => {
                warn!(%scope, reason = %why, "Storing the model without a backtest.");
                None
            }
            Err(error) => return Err(error.into()),
        }
    };
    let record = fit(&scope, &dataset, config, backtest)?;
    if let Some(path) = &args.xgboost_out {
        super::export::write(path, &record.booster)?;
        println!("Wrote the model in XGBoost's JSON format to {}.", path.display());
    }
    let version = super::runtime()?.block_on(store(config, &record))?;
    println!(
        "Stored model `{scope}` version {version} in {}.models ({} training rows, {} to {}).",
        config.cassandra.mart_keyspace,
        record.training_rows,
        record.first_date.map(|d| d.to_string()).unwrap_or_default(),
        record.last_date.map(|d| d.to_string()).unwrap_or_default(),
    );
    println!("{}", serving_line(&record.gate, record.backtest.is_some()));
    println!("\nFeature importance (XGBoost's weight, gain and cover; also in the models table):");
    println!("{}", record.booster.importance());
    Ok(())
}

/// Trains on every labelled row of `dataset`.
fn fit(
    scope: &ModelScope,
    dataset: &Dataset,
    config: &AnalyticsConfig,
    backtest: Option<(BacktestSummary, Gate)>,
) -> Result<ModelRecord, ModelCommandError> {
    let spinner = progress::training(dataset.len());
    let booster = Booster::fit(&dataset.matrix, &dataset.targets, &config.model.params)?;
    spinner.finish_and_clear();
    info!(%scope, rows = dataset.len(), trees = booster.forest().n_trees(), "Trained the model.");
    Ok(ModelRecord {
        scope: scope.clone(),
        trained_at: chrono::Utc::now(),
        horizon_bars: config.model.horizon_bars,
        training_rows: dataset.len() as i64,
        first_date: dataset.dates.first().copied(),
        last_date: dataset.dates.last().copied(),
        gate: backtest.as_ref().map_or(Gate::PERSISTENCE, |(_, gate)| *gate),
        backtest: backtest.map(|(summary, _)| summary),
        booster: booster.with_feature_names(&FEATURE_NAMES),
        // A command-line training is stored as it is: nothing challenges it.
        challenge: None,
        model_last_date: dataset.dates.last().copied(),
    })
}

/// What the stored version will serve, in words.
fn serving_line(gate: &Gate, backtested: bool) -> String {
    if !backtested {
        "It serves persistence (today's close): without a backtest nothing shows it does better.".to_owned()
    } else if gate.is_persistence() {
        "It serves persistence (today's close): on the backtest it did not beat persistence by the \
         gate margin."
            .to_owned()
    } else {
        format!(
            "It serves today's close plus {:.2} × its predicted change (gate weight learned on the backtest).",
            gate.weight
        )
    }
}

async fn store(config: &AnalyticsConfig, record: &ModelRecord) -> Result<i32, ModelCommandError> {
    let session = Arc::new(connect(&config.cassandra).await?);
    create_mart_schema(&session, &config.cassandra).await?;
    let table = ModelTable::prepare(session, &config.cassandra.mart_keyspace).await?;
    Ok(table.save(record).await?)
}
