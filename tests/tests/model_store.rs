//! `instrument_mart.models` through the library: concurrent trainers of one scope each get their
//! own version (the insert is a lightweight transaction), scopes count versions separately, and a
//! stored model with its backtest metrics reads back as it was written.

use anyhow::Context;
use chrono::{NaiveDate, SubsecRound, Utc};
use pricestream_cassandra::{BacktestSummary, ModelRecord, ModelScope, ModelTable};
use pricestream_model::{Booster, BoosterParams, FeatureMatrix, Metrics};
use pricestream_tests::{Namespace, cassandra};
use std::collections::BTreeSet;
use std::sync::Arc;

fn record(scope: ModelScope) -> anyhow::Result<ModelRecord> {
    let xs: Vec<f32> = (0..100).map(|i| i as f32).collect();
    let ys: Vec<f32> = xs.iter().map(|x| x * 0.5).collect();
    let matrix = FeatureMatrix::from_values(1, xs).context("one input per row")?;
    let params = BoosterParams { n_estimators: 3, threads: 1, ..BoosterParams::default() };
    let metrics = |rmse: f64, direction| Metrics {
        rows: 40,
        rmse,
        mae: rmse / 2.0,
        mape_percent: 1.25,
        directional_accuracy_percent: direction,
    };
    Ok(ModelRecord {
        scope,
        // Cassandra timestamps keep milliseconds.
        trained_at: Utc::now().trunc_subsecs(3),
        horizon_bars: 2,
        training_rows: 100,
        first_date: NaiveDate::from_ymd_opt(2001, 2, 3),
        last_date: NaiveDate::from_ymd_opt(2011, 12, 30),
        backtest: Some(BacktestSummary {
            model: metrics(0.75, Some(49.5)),
            baseline: metrics(0.7, None),
            up_percent: 51.0,
        }),
        booster: Booster::fit(&matrix, &ys, &params)?,
    })
}

#[tokio::test]
async fn concurrent_saves_get_distinct_versions_and_read_back_unchanged() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let session = cassandra::mart_session(&ns.mart_keyspace).await?;
    let table = Arc::new(ModelTable::prepare(Arc::clone(&session), &ns.mart_keyspace).await?);

    let nvda = ModelScope::Ticker("NVDA".into());
    let saved = record(nvda.clone())?;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (table, saved) = (Arc::clone(&table), saved.clone());
            tokio::spawn(async move { table.save(&saved).await })
        })
        .collect();
    let mut versions = BTreeSet::new();
    for task in tasks {
        versions.insert(task.await??);
    }
    assert_eq!(versions, BTreeSet::from([1, 2, 3, 4]));
    assert_eq!(table.save(&record(ModelScope::Global)?).await?, 1, "scopes count separately");

    let latest = table.load_latest(&nvda).await?.context("stored")?;
    assert_eq!(latest.version, 4);
    assert_eq!(latest.record, saved);
    let params: serde_json::Value = serde_json::from_str(&latest.hyperparameters)?;
    assert_eq!(params["n_estimators"], 3);
    assert!(table.load_latest(&ModelScope::Ticker("ORCL".into())).await?.is_none());

    let reader = cassandra::session().await?;
    cassandra::drop_keyspaces(&reader, &[&ns.mart_keyspace]).await;
    Ok(())
}
