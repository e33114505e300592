//! Corporate actions from a file in the lake, through the real extractor, Kafka and Cassandra:
//! each valid action is published on its topic and stored in its table, a bad record goes to
//! the dead-letter topic with its line and reason, and sending the file again changes no row.
//! The expected values are written by hand from the file below.

use chrono::NaiveDate;
use pricestream_cassandra::{CorporateActionTable, connect};
use pricestream_records::{ActionKind, CorporateAction};
use pricestream_tests::{Lake, cassandra, kafka, run_ok};
use serde_json::{Value, json};
use std::sync::Arc;

const ACTIONS: &str = "ticker,ex_date,kind,ratio,amount\n\
    NVDA,2024-06-10,split,10,\n\
    orcl,2024-07-11,cash_dividend,,0.4\n\
    NVDA,2024-06-12,split,-2,\n";

/// One row of `corporate_actions` as read back with plain CQL.
type StoredRow = (String, NaiveDate, String, Option<f64>, Option<f64>);

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

#[tokio::test]
async fn actions_from_a_file_reach_their_topic_and_table_and_a_bad_one_is_dead_lettered() -> anyhow::Result<()>
{
    let lake = Lake::generate(1, 30, Some(5))?;
    let file = lake.dir.path().join("actions.csv");
    std::fs::write(&file, ACTIONS)?;
    let file_arg = file.to_str().unwrap_or_default();
    let args = ["backfill", "--input", lake.data_arg(), "--actions", file_arg, "--no-progress"];
    for _ in 0..2 {
        let out = run_ok("pricestream-extractor", &args, &lake.ns)?;
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(printed.contains("corporate actions             2  (2 written)"), "{printed}");
    }

    let expected = [
        json!({"schema_version": 1, "ticker": "NVDA", "exDate": "2024-06-10", "kind": "split", "ratio": 10.0}),
        json!({"schema_version": 1, "ticker": "ORCL", "exDate": "2024-07-11", "kind": "cash_dividend", "amount": 0.4}),
    ];
    let topic = format!("{}corporate-actions", lake.ns.topic_prefix);
    let read = topic.clone();
    let received = tokio::task::spawn_blocking(move || kafka::read_topic(&read)).await??;
    // Both runs published both actions; a consumer keeps the last per (ticker, exDate, kind).
    let mut values = Vec::new();
    for message in &received {
        let value: Value = serde_json::from_slice(&message.payload)?;
        assert_eq!(Some(message.key.as_str()), value["ticker"].as_str(), "keyed by ticker: {value}");
        values.push(value);
    }
    assert_eq!(values.len(), 4, "{values:?}");
    for action in &expected {
        assert_eq!(values.iter().filter(|v| *v == action).count(), 2, "{action} twice in {values:?}");
    }

    let letters = format!("{}dead-letter", lake.ns.topic_prefix);
    let letters = tokio::task::spawn_blocking(move || kafka::read_topic(&letters)).await??;
    assert_eq!(letters.len(), 2, "one refused record per run");
    for letter in &letters {
        let letter: Value = serde_json::from_slice(&letter.payload)?;
        assert_eq!((&letter["reason"], &letter["line"]), (&json!("bad_action"), &json!(4)), "{letter}");
        assert!(letter["source"].as_str().is_some_and(|s| s.ends_with("actions.csv")), "{letter}");
        assert!(letter["message"].as_str().is_some_and(|m| m.contains("-2")), "{letter}");
    }

    let reader = cassandra::session().await?;
    let cql = format!(
        "SELECT ticker, ex_date, kind, ratio, amount FROM {}.corporate_actions",
        lake.ns.dwh_keyspace
    );
    let mut rows: Vec<StoredRow> = reader
        .query_unpaged(cql, ())
        .await?
        .into_rows_result()?
        .rows::<StoredRow>()?
        .collect::<Result<_, _>>()?;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        rows,
        [
            ("NVDA".to_owned(), date(2024, 6, 10), "split".to_owned(), Some(10.0), None),
            ("ORCL".to_owned(), date(2024, 7, 11), "cash_dividend".to_owned(), None, Some(0.4)),
        ],
        "one row per action however often it is sent"
    );

    // The library reads back what the extractor stored.
    let config = cassandra::mart_config("unused");
    let session = Arc::new(connect(&config).await?);
    let table = CorporateActionTable::prepare(session, &lake.ns.dwh_keyspace, 4).await?;
    let orcl = CorporateAction {
        ticker: "ORCL".into(),
        ex_date: date(2024, 7, 11),
        kind: ActionKind::CashDividend { amount: 0.4 },
        withdrawn: false,
    };
    assert_eq!(table.read("ORCL").await?, [orcl]);
    cassandra::drop_keyspaces(&reader, &[&lake.ns.dwh_keyspace]).await;
    Ok(())
}
