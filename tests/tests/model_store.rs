//! `instrument_mart.models` through the library: concurrent trainers of one scope each get their
//! own version (the insert is a lightweight transaction), scopes count versions separately, and a
//! stored model with its backtest metrics, serving gate and challenge reads back as it was written; a mart
//! created before the gate gets its columns added in place.

use anyhow::Context;
use chrono::{NaiveDate, SubsecRound, Utc};
use pricestream_cassandra::{BacktestSummary, ModelRecord, ModelScope, ModelTable};
use pricestream_model::{Booster, BoosterParams, Challenge, FeatureMatrix, Gate, Metrics};
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
            gated: metrics(0.69, Some(52.5)),
            up_percent: 51.0,
        }),
        gate: Gate { weight: 0.375 },
        booster: Booster::fit(&matrix, &ys, &params)?,
        challenge: Some(Challenge {
            incumbent_version: 4,
            challenger: metrics(0.71, Some(50.0)),
            incumbent: metrics(0.69, Some(52.5)),
            baseline: metrics(0.7, None),
            kept_incumbent: true,
        }),
        model_last_date: NaiveDate::from_ymd_opt(2010, 6, 30),
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
    let cql = format!(
        "SELECT gate_weight, gated_rmse FROM {}.models WHERE scope = 'NVDA' LIMIT 1",
        ns.mart_keyspace
    );
    let row = reader.query_unpaged(cql, ()).await?.into_rows_result()?.single_row::<(f64, f64)>()?;
    assert_eq!(row, (0.375, 0.69), "plain CQL sees the gate");
    let cql = format!(
        "SELECT kept_version, challenge FROM {}.models WHERE scope = 'NVDA' LIMIT 1",
        ns.mart_keyspace
    );
    let (kept, challenge) =
        reader.query_unpaged(cql, ()).await?.into_rows_result()?.single_row::<(i32, String)>()?;
    let challenge: serde_json::Value = serde_json::from_str(&challenge)?;
    assert_eq!(
        (kept, &challenge["incumbent"]["rmse"]),
        (4, &serde_json::json!(0.69)),
        "plain CQL sees the challenge"
    );
    cassandra::drop_keyspaces(&reader, &[&ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn a_mart_from_before_the_gate_gets_its_columns_and_old_versions_serve_persistence()
-> anyhow::Result<()> {
    let ns = Namespace::unique();
    let reader = cassandra::session().await?;
    let ks = &ns.mart_keyspace;
    // The tables as the release before the gate created them.
    for cql in [
        format!(
            "CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        format!(
            "CREATE TABLE {ks}.models (scope text, version int, trained_at timestamp, horizon_bars int, \
             hyperparameters text, training_rows bigint, first_date date, last_date date, backtest_rows bigint, \
             model_rmse double, model_mae double, model_mape_percent double, model_direction_percent double, \
             baseline_rmse double, baseline_mae double, baseline_mape_percent double, up_percent double, \
             model_format_version int, model text, PRIMARY KEY ((scope), version)) \
             WITH CLUSTERING ORDER BY (version DESC)"
        ),
        format!(
            "CREATE TABLE {ks}.predictions (ticker text, timeframe text, as_of date, target_date date, \
             horizon_bars int, predicted_close double, model_scope text, model_version int, \
             feature_row_id bigint, PRIMARY KEY ((ticker, timeframe), as_of))"
        ),
    ] {
        reader.query_unpaged(cql, ()).await?;
    }
    let old = record(ModelScope::Ticker("NVDA".into()))?;
    let cql = format!(
        "INSERT INTO {ks}.models (scope, version, trained_at, horizon_bars, hyperparameters, training_rows, \
         model_format_version, model) VALUES ('NVDA', 1, ?, 2, '{{}}', 100, ?, ?)"
    );
    let format = pricestream_model::MODEL_FORMAT_VERSION as i32;
    reader.query_unpaged(cql, (old.trained_at, format, old.booster.to_json())).await?;

    // Twice: the second start finds every column in place.
    for _ in 0..2 {
        pricestream_cassandra::create_mart_schema(&reader, &cassandra::mart_config(ks)).await?;
    }
    let columns = |table: &'static str| {
        let cql = "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?";
        let reader = &reader;
        async move {
            let rows = reader.query_unpaged(cql, (ks.as_str(), table)).await?.into_rows_result()?;
            anyhow::Ok(rows.rows::<(String,)>()?.map(|r| r.map(|(c,)| c)).collect::<Result<Vec<_>, _>>()?)
        }
    };
    let models = columns("models").await?;
    let added = ["gated_rmse", "gated_mae", "gated_mape_percent", "gated_direction_percent", "gate_weight"];
    for column in added.into_iter().chain(["kept_version", "challenge", "model_last_date"]) {
        assert!(models.iter().any(|c| c == column), "models lacks {column}: {models:?}");
    }
    let predictions = columns("predictions").await?;
    for column in ["forecaster", "gate_weight"] {
        assert!(predictions.iter().any(|c| c == column), "predictions lacks {column}: {predictions:?}");
    }
    let session = Arc::new(cassandra::session().await?);
    let table = ModelTable::prepare(session, ks).await?;
    let loaded = table.load_latest(&ModelScope::Ticker("NVDA".into())).await?.context("the old version")?;
    assert_eq!(loaded.record.gate, Gate::PERSISTENCE, "never checked against persistence: serves it");
    cassandra::drop_keyspaces(&reader, &[ks]).await;
    Ok(())
}
