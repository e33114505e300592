//! Every record type, encoded as it goes on Kafka, validates against the JSON
//! Schema published for it in docs/schemas — so the documented contract and
//! the code cannot drift apart.

use chrono::{NaiveDate, Utc};
use pricestream_records::wire;
use pricestream_records::{
    ActionKind, Bar, CorporateAction, DeadLetter, IndicatorRecord, IndicatorValue, QualityCheck,
    QualityFinding, Timeframe,
};
use serde_json::Value;
use std::path::Path;

fn validator(name: &str) -> anyhow::Result<jsonschema::Validator> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas").join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    jsonschema::validator_for(&schema).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn assert_valid(validator: &jsonschema::Validator, bytes: &[u8]) -> anyhow::Result<()> {
    let instance: Value = serde_json::from_slice(bytes)?;
    let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
    anyhow::ensure!(errors.is_empty(), "{instance} does not match its schema: {errors:?}");
    Ok(())
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default()
}

#[test]
fn bars_match_their_schema() -> anyhow::Result<()> {
    let schema = validator("bar.v1.schema.json")?;
    let bar = Bar {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        datetime: day(),
        open: 20.1,
        high: 20.5,
        low: 19.9,
        close: 20.05,
        volume: 4_000_000,
        task_number: uuid::Uuid::new_v4(),
        adjustment_factor: 1.0,
        source: None,
    };
    assert_valid(&schema, &wire::encode(&bar))?;
    for source in pricestream_records::BarSource::ALL {
        assert_valid(&schema, &wire::encode(&Bar { source: Some(source), ..bar.clone() }))?;
    }
    // The schema must be able to fail: a bar without a close is refused.
    let mut broken: Value = serde_json::from_slice(&wire::encode(&bar))?;
    broken.as_object_mut().map(|o| o.remove("close"));
    assert!(!schema.is_valid(&broken));
    Ok(())
}

#[test]
fn every_indicator_matches_its_schema() -> anyhow::Result<()> {
    let schema = validator("indicator.v1.schema.json")?;
    let values = [
        IndicatorValue::Ema { ema_time_period: 20, ema: 1.5 },
        IndicatorValue::Sma { time_period: 20, sma: 1.5 },
        IndicatorValue::Rsi { time_period: 14, rsi: 55.0 },
        IndicatorValue::Macd {
            fast_period: 12,
            slow_period: 26,
            signal_period: 9,
            macd: 0.2,
            macd_signal: 0.1,
            macd_hist: 0.1,
        },
        IndicatorValue::Stoch {
            fast_k_period: 5,
            slow_k_period: 3,
            slow_d_period: 3,
            slow_k: 80.0,
            slow_d: 75.0,
        },
        IndicatorValue::Bbands {
            time_period: 20,
            sd: 2.0,
            sd_down: 2.0,
            lower_band: 1.0,
            middle_band: 1.5,
            upper_band: 2.0,
        },
        IndicatorValue::Willr { time_period: 14, willr: -20.0 },
    ];
    for value in values {
        let record = IndicatorRecord {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            datetime: day(),
            task_number: uuid::Uuid::new_v4(),
            value,
        };
        assert_valid(&schema, &wire::encode(&record))?;
    }
    let wrong = serde_json::json!({"schema_version":1,"ticker":"X","timeframe":"1day","datetime":"2014-12-31",
        "task_number":"00000000-0000-0000-0000-000000000000","indicator":"rsi","timePeriod":14});
    assert!(!schema.is_valid(&wrong), "an rsi without its value must be refused");
    Ok(())
}

#[test]
fn dead_letters_match_their_schema() -> anyhow::Result<()> {
    let schema = validator("dead-letter.v1.schema.json")?;
    let letter = DeadLetter {
        source: "data/nvda.csv".into(),
        line: Some(812),
        topic: None,
        partition: None,
        offset: None,
        reason: "bad_number".into(),
        message: "High `abc` is not a number".into(),
        raw: "2003-03-05,1.2,abc,1.1,1.15,1.1,100".into(),
        task_number: uuid::Uuid::new_v4(),
        detected_at: Utc::now(),
    };
    assert_valid(&schema, &wire::encode(&letter))
}

#[test]
fn feature_changes_match_their_schema() -> anyhow::Result<()> {
    use pricestream_records::{FeatureChange, FeatureRow};
    let schema = validator("feature-change.v1.schema.json")?;
    let row = FeatureRow {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        date_time: day(),
        id: Some(4000),
        ema_time_period: Some(20),
        ema: Some(20.2),
        close: 20.05,
        label: None,
        ..FeatureRow::default()
    };
    let upsert = FeatureChange::Upsert(Box::new(row));
    assert_valid(&schema, &wire::encode(&upsert))?;
    assert_valid(&schema, &wire::encode(&FeatureChange::Delete(upsert.key())))?;
    // A missing indicator column must be an explicit null, and a delete must not carry values.
    let mut broken: Value = serde_json::from_slice(&wire::encode(&upsert))?;
    broken.as_object_mut().map(|o| o.remove("rsi"));
    assert!(!schema.is_valid(&broken));
    let mut broken: Value = serde_json::from_slice(&wire::encode(&FeatureChange::Delete(upsert.key())))?;
    broken.as_object_mut().map(|o| o.insert("close".into(), 1.0.into()));
    assert!(!schema.is_valid(&broken));
    Ok(())
}

#[test]
fn predictions_match_their_schema() -> anyhow::Result<()> {
    use pricestream_records::{Forecaster, Prediction};
    let schema = validator("prediction.v1.schema.json")?;
    let prediction = Prediction {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        as_of: day(),
        target_date: NaiveDate::from_ymd_opt(2015, 1, 2).unwrap_or_default(),
        horizon_bars: 2,
        predicted_close: 20.31,
        model_scope: "global".into(),
        model_version: 7,
        feature_row_id: 4012,
        forecaster: Forecaster::Persistence,
        gate_weight: 0.0,
        adjustment_factor: 1.0,
    };
    assert_valid(&schema, &wire::encode(&prediction))?;
    // The schema must be able to fail: no forecast, a version 0, a date that is not one.
    for (field, value) in [
        ("predicted_close", Value::Null),
        ("model_version", 0.into()),
        ("target_date", "soon".into()),
        ("horizon_bars", 0.into()),
        ("forecaster", "oracle".into()),
        ("gate_weight", 1.5.into()),
    ] {
        let mut broken: Value = serde_json::from_slice(&wire::encode(&prediction))?;
        broken.as_object_mut().map(|o| o.insert(field.into(), value));
        assert!(!schema.is_valid(&broken), "{field} broken but accepted: {broken}");
    }
    let mut extra: Value = serde_json::from_slice(&wire::encode(&prediction))?;
    extra.as_object_mut().map(|o| o.insert("confidence".into(), 0.9.into()));
    assert!(!schema.is_valid(&extra), "an unknown field must be refused");
    Ok(())
}

#[test]
fn data_quality_findings_match_their_schema() -> anyhow::Result<()> {
    let schema = validator("data-quality.v1.schema.json")?;
    for check in QualityCheck::ALL {
        let finding = QualityFinding {
            ticker: "NVDA".into(),
            date: day(),
            check,
            detail: "seen".into(),
            resolved: check == QualityCheck::ZeroVolume,
        };
        let bytes = wire::encode(&finding);
        assert_valid(&schema, &bytes)?;
        let json: Value = serde_json::from_slice(&bytes)?;
        assert_eq!(json["check"], check.as_str());
    }
    let mut broken: Value = serde_json::from_slice(&wire::encode(&QualityFinding {
        ticker: "NVDA".into(),
        date: day(),
        check: QualityCheck::StaleBars,
        detail: String::new(),
        resolved: false,
    }))?;
    broken.as_object_mut().map(|o| o.insert("check".into(), "gap".into()));
    assert!(!schema.is_valid(&broken));
    Ok(())
}

#[test]
fn corporate_actions_match_their_schema() -> anyhow::Result<()> {
    let schema = validator("corporate-action.v1.schema.json")?;
    let split = CorporateAction {
        ticker: "NVDA".into(),
        ex_date: day(),
        kind: ActionKind::Split { ratio: 10.0 },
        withdrawn: false,
    };
    let dividend = CorporateAction { kind: ActionKind::CashDividend { amount: 0.04 }, ..split.clone() };
    let withdrawal = CorporateAction { withdrawn: true, ..split.clone() };
    for action in [&split, &dividend, &withdrawal] {
        assert_valid(&schema, &wire::encode(action))?;
    }
    assert!(!String::from_utf8(wire::encode(&split))?.contains("withdrawn"), "present only when true");
    // The schema must be able to fail: a split with an amount, or without its ratio.
    let mut broken: Value = serde_json::from_slice(&wire::encode(&split))?;
    broken.as_object_mut().map(|o| o.insert("amount".into(), 1.0.into()));
    assert!(!schema.is_valid(&broken));
    broken.as_object_mut().map(|o| o.remove("ratio"));
    assert!(!schema.is_valid(&broken));
    Ok(())
}

#[test]
fn trading_days_match_their_schema() -> anyhow::Result<()> {
    use pricestream_trading_days::{DayEvent, DayStatus};
    let schema = validator("trading-day.v1.schema.json")?;
    for (status, missing) in [(DayStatus::Complete, vec![]), (DayStatus::Deadline, vec!["ORCL".to_string()])]
    {
        let event = DayEvent {
            calendar: "XNYS".into(),
            day: day(),
            status,
            expected: 2,
            arrived: 2 - missing.len(),
            missing,
            declared_at: Utc::now(),
        };
        assert_valid(&schema, &wire::encode(&event))?;
    }
    let mut broken: Value = serde_json::from_slice(&wire::encode(&DayEvent {
        calendar: "XNYS".into(),
        day: day(),
        status: DayStatus::Complete,
        expected: 1,
        arrived: 1,
        missing: vec![],
        declared_at: Utc::now(),
    }))?;
    broken.as_object_mut().map(|o| o.insert("status".into(), "late".into()));
    assert!(!schema.is_valid(&broken));
    Ok(())
}
