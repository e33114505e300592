//! Forecasts through their two sinks: `instrument_mart.predictions` (written with the library's
//! writer, read back with plain CQL) and the `predictions` topic (published with the library's
//! producer, read back with a plain consumer and checked against the published JSON Schema).

use chrono::NaiveDate;
use pricestream_cassandra::PredictionTable;
use pricestream_kafka::{Publisher, ensure_topics};
use pricestream_records::topics::{PREDICTIONS_RETENTION, Topics};
use pricestream_records::wire;
use pricestream_records::{Forecaster, Prediction, Timeframe};
use pricestream_runtime::config::KafkaConfig;
use pricestream_tests::{Namespace, cassandra, kafka, kafka_brokers};
use std::path::Path;
use std::sync::Arc;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn forecast(as_of: NaiveDate, predicted_close: f64, model_version: i32) -> Prediction {
    Prediction {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        as_of,
        target_date: Prediction::weekdays_after(as_of, 2),
        horizon_bars: 2,
        predicted_close,
        model_scope: "NVDA".into(),
        model_version,
        feature_row_id: 4000,
        forecaster: if model_version == 1 { Forecaster::Persistence } else { Forecaster::Model },
        gate_weight: if model_version == 1 { 0.0 } else { 0.25 },
        adjustment_factor: 1.0,
    }
}

/// One row of `predictions` as read back with plain CQL.
type StoredRow = (NaiveDate, NaiveDate, i32, f64, String, i32, i64, String, f64);

#[tokio::test]
async fn a_prediction_round_trips_through_cassandra_and_a_newer_one_replaces_it() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let session = cassandra::mart_session(&ns.mart_keyspace).await?;
    let table = PredictionTable::prepare(Arc::clone(&session), &ns.mart_keyspace, 8).await?;

    // Monday 2014-12-29 + 2 weekdays = Wednesday 2014-12-31; Friday 2014-12-26 + 2 = Tuesday 12-30.
    let first = forecast(date(2014, 12, 29), 20.125, 1);
    let other_day = forecast(date(2014, 12, 26), 19.5, 1);
    assert_eq!(table.upsert_all(&[first.clone(), other_day]).await?, 2);
    let newer = forecast(date(2014, 12, 29), 20.5, 2);
    assert_eq!(table.upsert_all(std::slice::from_ref(&newer)).await?, 1);

    let reader = cassandra::session().await?;
    let cql = format!(
        "SELECT as_of, target_date, horizon_bars, predicted_close, model_scope, model_version, feature_row_id, \
         forecaster, gate_weight FROM {}.predictions WHERE ticker = 'NVDA' AND timeframe = '1day'",
        ns.mart_keyspace
    );
    let rows: Vec<StoredRow> = reader
        .query_unpaged(cql, ())
        .await?
        .into_rows_result()?
        .rows::<StoredRow>()?
        .collect::<Result<_, _>>()?;
    // Written by hand from the inputs above: version 1 serves persistence, version 2 the
    // model at weight 0.25; the other columns are the same in both rows.
    let stored = |as_of, target, close, version, forecaster: &str, weight| -> StoredRow {
        (as_of, target, 2, close, "NVDA".into(), version, 4000, forecaster.into(), weight)
    };
    assert_eq!(
        rows,
        vec![
            stored(date(2014, 12, 26), date(2014, 12, 30), 19.5, 1, "persistence", 0.0),
            stored(date(2014, 12, 29), date(2014, 12, 31), 20.5, 2, "model", 0.25),
        ]
    );
    cassandra::drop_keyspaces(&reader, &[&ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn a_prediction_goes_on_its_topic_keyed_by_ticker_as_schema_valid_json() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let config = KafkaConfig {
        brokers: kafka_brokers(),
        topic_prefix: ns.topic_prefix.clone(),
        ..KafkaConfig::default()
    };
    let topics = Topics::with_prefix(&ns.topic_prefix);
    assert_eq!(topics.predictions, format!("{}predictions", ns.topic_prefix));
    ensure_topics(&config, &[(&topics.predictions, PREDICTIONS_RETENTION)]).await?;
    let prediction = forecast(date(2014, 12, 29), 20.125, 3);
    let publisher = Publisher::new(&config)?;
    publisher.publish_derived(&topics.predictions, [(prediction.message_key(), &prediction)]).await?;

    let topic = topics.predictions.clone();
    let received = tokio::task::spawn_blocking(move || kafka::read_topic(&topic)).await??;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.key, "NVDA");
    assert!(
        message.headers.contains(&("schema_version".to_owned(), "1".to_owned())),
        "{:?}",
        message.headers
    );
    assert_eq!(wire::decode::<Prediction>(&message.payload)?, prediction);

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/prediction.v1.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| anyhow::anyhow!("{e}"))?;
    let value: serde_json::Value = serde_json::from_slice(&message.payload)?;
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{value} does not match its schema: {errors:?}");
    Ok(())
}
