//! Whole tables as text, to compare two runs cell for cell.

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::value::Row;
use std::collections::BTreeMap;

/// Every row of `keyspace.features`: primary key (ticker, timeframe, date) -> every
/// column's value as debug text, bit-exact for floats.
pub async fn mart(session: &Session, keyspace: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let cql = format!("SELECT * FROM {keyspace}.features");
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<Row>()?;
    let mut out = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let cells: Vec<String> = row.columns.iter().map(|cell| format!("{cell:?}")).collect();
        let key = cells.iter().take(3).cloned().collect::<Vec<_>>().join("|");
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
