//! `pricestream-analytics prune-history`: removes the history's versions that stopped being
//! current before the retention horizon, so every `--as-of` read at or after the horizon gives
//! what it gave before.

use crate::cli::PruneArgs;
use crate::config::AnalyticsConfig;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use pricestream_cassandra::{
    FeatureHistoryTable, HistoryDeletes, HistoryTable, PredictionReader, StoredVersion, VersionKey, connect,
    create_mart_schema, token_ranges,
};
use std::sync::Arc;

/// Pieces of the token ring, and pieces read at once.
const RING_PIECES: usize = 64;
const PARALLEL_READS: usize = 4;

/// Of `versions` (each key's versions together, oldest first), the keys of those superseded at
/// or before `horizon`: every version older than its key's newest one known at the horizon.
pub fn superseded<R>(versions: &[StoredVersion<R>], horizon: DateTime<Utc>) -> Vec<VersionKey> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < versions.len() {
        let key = &versions[start].key;
        let end = versions[start..].iter().position(|v| v.key != *key).map_or(versions.len(), |n| start + n);
        // The newest version known at the horizon stays (it was current then); older ones go.
        if let Some(current) = versions[start..end].iter().rposition(|v| v.known_from <= horizon) {
            out.extend(versions[start..start + current].iter().map(|v| (v.key.clone(), v.known_from)));
        }
        start = end;
    }
    out
}

/// Runs `prune-history`.
pub fn run(config: &AnalyticsConfig, args: &PruneArgs) -> anyhow::Result<()> {
    let days = args.older_than_days.unwrap_or(config.history.retention_days);
    if days == 0 && args.older_than_days.is_none() {
        eprintln!("[history] retention_days is 0: every version is kept, nothing to prune.");
        return Ok(());
    }
    let horizon = Utc::now() - Duration::days(i64::from(days));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let (features, forecasts) = runtime.block_on(async {
        let session = Arc::new(connect(&config.cassandra).await?);
        create_mart_schema(&session, &config.cassandra).await?;
        let keyspace = &config.cassandra.mart_keyspace;
        let in_flight = config.cassandra.max_in_flight_requests;
        let history = FeatureHistoryTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
        let predictions = PredictionReader::prepare(Arc::clone(&session), keyspace).await?;
        let deletes = HistoryDeletes::prepare(session, keyspace, in_flight).await?;
        let pieces = token_ranges(RING_PIECES);
        let bar = ProgressBar::new(2 * pieces.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} pieces of the token ring, {msg} versions removed",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let (mut features, mut forecasts) = (0, 0);
        let mut read =
            stream::iter(pieces.clone()).map(|tokens| history.read_tokens(tokens)).buffered(PARALLEL_READS);
        while let Some(versions) = read.next().await {
            features += deletes.delete(HistoryTable::Features, &superseded(&versions?, horizon)).await?;
            bar.inc(1);
            bar.set_message((features + forecasts).to_string());
        }
        let mut read =
            stream::iter(pieces).map(|tokens| predictions.history_tokens(tokens)).buffered(PARALLEL_READS);
        while let Some(versions) = read.next().await {
            forecasts += deletes.delete(HistoryTable::Predictions, &superseded(&versions?, horizon)).await?;
            bar.inc(1);
            bar.set_message((features + forecasts).to_string());
        }
        bar.finish_and_clear();
        anyhow::Ok((features, forecasts))
    })?;
    eprintln!(
        "Removed {features} row version(s) and {forecasts} forecast version(s) superseded before {}.",
        horizon.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use pricestream_records::Timeframe;

    fn version(day: u32, at: i64) -> StoredVersion<()> {
        let date = NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default();
        StoredVersion {
            key: ("A".into(), Timeframe::Day, date),
            known_from: DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default(),
            row: Some(()),
        }
    }

    #[test]
    fn only_versions_superseded_by_the_horizon_go() {
        // Day 1: versions at 10, 20, 30; day 2: 5 and 50; day 3: only 40.
        let versions =
            [version(1, 10), version(1, 20), version(1, 30), version(2, 5), version(2, 50), version(3, 40)];
        let at = |ms| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        let gone = |horizon| -> Vec<(u32, i64)> {
            superseded(&versions, at(horizon))
                .into_iter()
                .map(|((_, _, date), known)| (chrono::Datelike::day(&date), known.timestamp_millis()))
                .collect()
        };
        assert_eq!(gone(9), [], "nothing superseded yet");
        assert_eq!(gone(20), [(1, 10)], "day 1's version at 20 was current at the horizon");
        assert_eq!(gone(45), [(1, 10), (1, 20)], "day 2's version at 5 was still current at 45");
        assert_eq!(gone(100), [(1, 10), (1, 20), (2, 5)]);
    }
}
