//! The mart rows a command works on: read from Cassandra, or computed from CSV files.

use super::error::ModelCommandError;
use super::{files, scope};
use crate::cli::ModelInput;
use crate::config::AnalyticsConfig;
use pricestream_cassandra::{MartReader, ModelScope, connect};
use pricestream_records::{FeatureRow, Timeframe};
use std::sync::Arc;
use tracing::info;

/// The scope of the command and its rows: from `--input` files when given (where a per-ticker
/// scope without `--ticker` is the files' one ticker, if they hold only one), else from
/// `instrument_mart.features`.
pub fn load(
    config: &AnalyticsConfig,
    input: &ModelInput,
) -> Result<(ModelScope, Vec<FeatureRow>), ModelCommandError> {
    let (scope, rows) = match &input.input {
        Some(path) => {
            let mut bars = files::read_bars(path)?;
            let scope = match scope::resolve(input, config.model.scope) {
                Err(ModelCommandError::NoScope) if bars.len() == 1 => {
                    ModelScope::Ticker(bars.keys().next().cloned().unwrap_or_default())
                }
                resolved => resolved?,
            };
            if let ModelScope::Ticker(ticker) = &scope {
                let known = known(bars.keys());
                bars.retain(|name, _| name == ticker);
                if bars.is_empty() {
                    return Err(ModelCommandError::NoRows {
                        what: format!("{ticker} in {}", path.display()),
                        known,
                    });
                }
            }
            let rows = files::mart_rows(&bars, config.model.horizon_bars as usize);
            (scope, rows)
        }
        None => {
            let scope = scope::resolve(input, config.model.scope)?;
            let rows = super::runtime()?.block_on(from_mart(config, &scope))?;
            (scope, rows)
        }
    };
    if rows.is_empty() {
        return Err(ModelCommandError::NoRows { what: scope.to_string(), known: String::new() });
    }
    info!(scope = %scope, rows = rows.len(), "Loaded mart rows.");
    Ok((scope, rows))
}

async fn from_mart(
    config: &AnalyticsConfig,
    scope: &ModelScope,
) -> Result<Vec<FeatureRow>, ModelCommandError> {
    let session = Arc::new(connect(&config.cassandra).await?);
    let keyspace = &config.cassandra.mart_keyspace;
    let reader = MartReader::prepare(session, keyspace).await?;
    let series = match scope {
        ModelScope::Ticker(ticker) => vec![(ticker.clone(), Timeframe::Day)],
        ModelScope::Global => reader.series().await?,
    };
    let mut rows = Vec::new();
    for (ticker, timeframe) in &series {
        rows.extend(reader.read_series(ticker, *timeframe).await?);
    }
    if rows.is_empty() && matches!(scope, ModelScope::Ticker(_)) {
        let known = known(reader.series().await?.iter().map(|(ticker, _)| ticker));
        return Err(ModelCommandError::NoRows { what: format!("{scope} in {keyspace}.features"), known });
    }
    Ok(rows)
}

/// "; tickers with rows: A, B" (or nothing when there are none).
fn known<'a>(tickers: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = tickers.map(String::as_str).collect();
    if names.is_empty() { String::new() } else { format!("; tickers with rows: {}", names.join(", ")) }
}
