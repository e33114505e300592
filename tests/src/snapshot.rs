//! Whole tables as text, to compare two runs cell for cell.

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::value::{CqlValue, Row};
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

/// Every row of `keyspace.features` keyed as [`mart`] keys it, its non-null values as
/// `column=value` text by column name (lower-cased, as Cassandra keeps them; doubles bit-exact):
/// the form [`history`] gives a version's changelog message, to compare the two.
pub async fn mart_values(session: &Session, keyspace: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let cql = "SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'features'";
    let mut regular: Vec<String> = session
        .query_unpaged(cql, (keyspace,))
        .await?
        .into_rows_result()?
        .rows::<(String, String)>()?
        .filter_map(|row| row.ok().filter(|(_, kind)| kind == "regular").map(|(name, _)| name))
        .collect();
    regular.sort();
    let names: Vec<String> =
        ["ticker", "timeframe", "datetime"].into_iter().map(str::to_owned).chain(regular).collect();
    let cql = format!("SELECT {} FROM {keyspace}.features", names.join(", "));
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<Row>()?;
    let mut out = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let key = row.columns[..3].iter().map(|cell| format!("{cell:?}")).collect::<Vec<_>>().join("|");
        let mut values = BTreeMap::new();
        for (name, cell) in names.iter().zip(&row.columns) {
            let text = match cell {
                None => continue,
                Some(CqlValue::Text(text)) => text.clone(),
                Some(CqlValue::Int(value)) => value.to_string(),
                Some(CqlValue::BigInt(value)) => value.to_string(),
                Some(CqlValue::Double(value)) => format!("{value:?}"),
                Some(CqlValue::Date(date)) => TryInto::<chrono::NaiveDate>::try_into(*date)?.to_string(),
                Some(other) => anyhow::bail!("column {name}: unexpected {other:?}"),
            };
            values.insert(name.clone(), text);
        }
        out.insert(key, shown(&values));
    }
    Ok(out)
}

/// A changelog message's fields (JSON) in the form of [`mart_values`]: names lower-cased, nulls
/// and the message's own fields (`op`, `schema_version`) left out.
fn message_values(json: &str) -> anyhow::Result<String> {
    let serde_json::Value::Object(fields) = serde_json::from_str(json)? else {
        anyhow::bail!("a version that is not a JSON object: {json}");
    };
    let mut values = BTreeMap::new();
    for (name, value) in fields {
        let text = match value {
            _ if name == "op" || name == "schema_version" => continue,
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => match (number.as_i64(), number.as_f64()) {
                (Some(integer), _) if !number.is_f64() => integer.to_string(),
                (_, Some(float)) => format!("{float:?}"),
                _ => anyhow::bail!("field {name}: {number} is no number we write"),
            },
            other => anyhow::bail!("field {name}: unexpected {other}"),
        };
        values.insert(name.to_lowercase(), text);
    }
    Ok(shown(&values))
}

fn shown(values: &BTreeMap<String, String>) -> String {
    values.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join(",")
}

/// Every version in `keyspace.features_history`, by the key [`mart`] gives its row: oldest
/// first, each with its `known_from` (ms since the Unix epoch) and the row's values as
/// [`mart_values`] shows them (`None` for a deletion).
pub async fn history(
    session: &Session,
    keyspace: &str,
) -> anyhow::Result<BTreeMap<String, Vec<(i64, Option<String>)>>> {
    let cql = format!(
        "SELECT ticker, timeframe, datetime, known_from, row_json, deleted FROM {keyspace}.features_history"
    );
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<Row>()?;
    let mut out: BTreeMap<String, Vec<(i64, Option<String>)>> = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let key = row.columns[..3].iter().map(|cell| format!("{cell:?}")).collect::<Vec<_>>().join("|");
        let Some(CqlValue::Timestamp(known_from)) = &row.columns[3] else {
            anyhow::bail!("{key}: a version without known_from");
        };
        let values = match (&row.columns[4], &row.columns[5]) {
            (_, Some(CqlValue::Boolean(true))) => None,
            (Some(CqlValue::Text(json)), _) => Some(message_values(json)?),
            other => anyhow::bail!("{key}: a version with neither a row nor a deletion: {other:?}"),
        };
        out.entry(key).or_default().push((known_from.0, values));
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
