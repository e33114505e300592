//! `pricestream-analytics export`: a stored model version as an XGBoost JSON model file.

use super::error::ModelCommandError;
use super::scope;
use crate::cli::{ExportArgs, ModelInput};
use crate::config::AnalyticsConfig;
use pricestream_cassandra::{ModelTable, connect, create_mart_schema};
use std::sync::Arc;

/// Writes the version of `args` (the newest by default) to `args.out`.
pub fn run(config: &AnalyticsConfig, args: &ExportArgs) -> Result<(), ModelCommandError> {
    let named = ModelInput { ticker: args.ticker.clone(), global: args.global, input: None };
    let scope = scope::resolve(&named, config.model.scope)?;
    let stored = super::runtime()?.block_on(async {
        let session = Arc::new(connect(&config.cassandra).await?);
        create_mart_schema(&session, &config.cassandra).await?;
        let table = ModelTable::prepare(session, &config.cassandra.mart_keyspace).await?;
        match args.version {
            Some(version) => table.load(&scope, version).await,
            None => table.load_latest(&scope).await,
        }
    })?;
    let stored = stored.ok_or_else(|| ModelCommandError::NoModel {
        scope: scope.to_string(),
        version: args.version.map_or_else(|| "newest".to_owned(), |v| v.to_string()),
    })?;
    super::export::write(&args.out, &stored.record.booster)?;
    println!(
        "Wrote model `{scope}` version {} to {} in XGBoost's JSON model format.",
        stored.version,
        args.out.display()
    );
    Ok(())
}

/// Writes `booster` to `path` in XGBoost's JSON model format.
pub fn write(path: &std::path::Path, booster: &pricestream_model::Booster) -> Result<(), ModelCommandError> {
    std::fs::write(path, booster.to_xgboost_json().to_string())
        .map_err(|source| ModelCommandError::Export { path: path.to_owned(), source })
}
