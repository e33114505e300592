//! Whole tables as text, to compare two runs cell for cell.

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::value::Row;
use std::collections::BTreeMap;

/// Every row of `keyspace.features`: primary key (ticker, timeframe, date) -> every
/// column's value as debug text, bit-exact for floats.
pub async fn mart(session: &Session, keyspace: &str) -> anyhow::Result<BTreeMap<String, String>> {
    table(session, &format!("SELECT * FROM {keyspace}.features"), 3).await
}

/// Every row of `keyspace.predictions` the same way, keyed by ticker, timeframe and as-of date.
pub async fn predictions(session: &Session, keyspace: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let columns = "ticker, timeframe, as_of, target_date, horizon_bars, predicted_close, model_scope, \
        model_version, feature_row_id, forecaster, gate_weight";
    table(session, &format!("SELECT {columns} FROM {keyspace}.predictions"), 3).await
}

/// Every stored model version, keyed by scope and version: what it was trained on, its holdout
/// errors, its gate and the model itself (not when it was trained).
pub async fn models(session: &Session, keyspace: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let columns = "scope, version, horizon_bars, hyperparameters, training_rows, first_date, last_date, \
        backtest_rows, model_rmse, baseline_rmse, gated_rmse, gate_weight, model";
    table(session, &format!("SELECT {columns} FROM {keyspace}.models"), 2).await
}

/// Every version in `keyspace.features_history`, by the key [`mart`] gives its row: oldest
/// first, each with its `known_from` (ms since the Unix epoch) and the row's cells as [`mart`]
/// shows them (`None` for a deletion).
pub async fn history(
    session: &Session,
    keyspace: &str,
) -> anyhow::Result<BTreeMap<String, Vec<(i64, Option<String>)>>> {
    // `SELECT *` of the mart lists the key, then the other columns by name: the same here.
    let cql = "SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'features'";
    let mut regular: Vec<String> = session
        .query_unpaged(cql, (keyspace,))
        .await?
        .into_rows_result()?
        .rows::<(String, String)>()?
        .filter_map(|row| row.ok().filter(|(_, kind)| kind == "regular").map(|(name, _)| name))
        .collect();
    regular.sort();
    let columns = format!("ticker, timeframe, datetime, {}, known_from, deleted", regular.join(", "));
    let cql = format!("SELECT {columns} FROM {keyspace}.features_history");
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<Row>()?;
    let mut out: BTreeMap<String, Vec<(i64, Option<String>)>> = BTreeMap::new();
    while let Some(mut row) = rows.try_next().await? {
        let deleted = matches!(row.columns.pop(), Some(Some(scylla::value::CqlValue::Boolean(true))));
        let Some(Some(scylla::value::CqlValue::Timestamp(known_from))) = row.columns.pop() else {
            anyhow::bail!("a version without known_from");
        };
        let cells: Vec<String> = row.columns.iter().map(|cell| format!("{cell:?}")).collect();
        let key = cells[..3].join("|");
        out.entry(key).or_default().push((known_from.0, (!deleted).then(|| cells.join(","))));
    }
    for versions in out.values_mut() {
        versions.sort_by_key(|(known_from, _)| *known_from);
    }
    Ok(out)
}

/// The rows of `cql`, the first `key_columns` cells joined as the key.
async fn table(session: &Session, cql: &str, key_columns: usize) -> anyhow::Result<BTreeMap<String, String>> {
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<Row>()?;
    let mut out = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let cells: Vec<String> = row.columns.iter().map(|cell| format!("{cell:?}")).collect();
        let key = cells.iter().take(key_columns).cloned().collect::<Vec<_>>().join("|");
        out.insert(key, cells.join(","));
    }
    Ok(out)
}

/// The keys of the rows where `got` and `want` differ, with both versions (at most `limit`).
pub fn differences(
    got: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for key in got.keys().chain(want.keys().filter(|k| !got.contains_key(*k))) {
        if got.get(key) != want.get(key) {
            out.push(format!("{key}:\n  got  {:?}\n  want {:?}", got.get(key), want.get(key)));
        }
        if out.len() >= limit {
            break;
        }
    }
    out
}

/// Where the predictions and stored model versions of mart keyspace `got` differ from those of
/// `want` (at most three of each), and how many rows each of `want`'s has.
pub async fn model_differences(
    session: &Session,
    got: &str,
    want: &str,
) -> anyhow::Result<(Vec<String>, usize, usize)> {
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    for (what, got, want) in [
        ("models", models(session, got).await?, models(session, want).await?),
        ("predictions", predictions(session, got).await?, predictions(session, want).await?),
    ] {
        sizes.push(want.len());
        let differences = differences(&got, &want, 3);
        if !differences.is_empty() {
            out.push(format!("{what}: {} rows, want {}:\n{}", got.len(), want.len(), differences.join("\n")));
        }
    }
    Ok((out, sizes[0], sizes[1]))
}
