//! `backfill --symbols` against a market-data API of the Twelve Data shape,
//! served on loopback by the test: the bars reach Kafka and Cassandra, a
//! garbage value is dead-lettered with its request (never the API key), and a
//! 429 is retried. The symbol's splits and dividends are fetched first: stored,
//! published, and the split applied to the (raw) API bars before it.

use pricestream_records::wire;
use pricestream_records::{ActionKind, Bar, CorporateAction, DeadLetter};
use pricestream_tests::{Namespace, binary, cassandra, kafka, loopback_api};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const KEY: &str = "secret-test-key-123";

/// A page of 40 weekdays of bars, newest first as the API sends them; value 10 is garbage.
fn page() -> String {
    let mut values = Vec::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default();
    for i in 0..40 {
        while matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
            day = day.succ_opt().unwrap_or(day);
        }
        let close = 100.0 + i as f64;
        let close_text = if i == 10 { "abc".to_owned() } else { format!("{close}") };
        values.push(format!(
            r#"{{"datetime":"{day}","open":"{}","high":"{}","low":"{}","close":"{close_text}","volume":"{}"}}"#,
            close - 0.5,
            close + 1.0,
            close - 1.0,
            1000 + i
        ));
        day = day.succ_opt().unwrap_or(day);
    }
    values.reverse();
    format!(
        r#"{{"meta":{{"symbol":"TSTA","interval":"1day"}},"values":[{}],"status":"ok"}}"#,
        values.join(",")
    )
}

/// A 2-for-1 split on 2024-02-01 and a dividend, as `/splits` and `/dividends` answer.
const SPLITS: &str = r#"{"meta":{"symbol":"TSTA"},"splits":[{"date":"2024-02-01","description":"2-for-1 split","ratio":0.5,"from_factor":2,"to_factor":1}]}"#;
const DIVIDENDS: &str = r#"{"meta":{"symbol":"TSTA"},"dividends":[{"ex_date":"2024-01-16","amount":0.25}]}"#;

/// Serves `page()` on `/time_series`, answering its first request with 429, and the actions;
/// returns the port, the count of bar requests and the request log.
fn serve() -> anyhow::Result<(u16, Arc<AtomicUsize>, loopback_api::RequestLog)> {
    let count = Arc::new(AtomicUsize::new(0));
    let count_in = Arc::clone(&count);
    let (port, log) = loopback_api::serve(10, move |request| {
        if request.contains("/splits?") {
            ("200 OK", SPLITS.to_owned())
        } else if request.contains("/dividends?") {
            ("200 OK", DIVIDENDS.to_owned())
        } else {
            match count_in.fetch_add(1, Ordering::SeqCst) {
                0 => (
                    "429 Too Many Requests",
                    r#"{"code":429,"message":"slow down","status":"error"}"#.to_owned(),
                ),
                _ => ("200 OK", page()),
            }
        }
    })?;
    Ok((port, count, log))
}

#[tokio::test]
async fn api_bars_flow_to_kafka_and_cassandra_and_garbage_is_dead_lettered() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let (port, requests, log) = serve()?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("api.toml");
    std::fs::write(&config, loopback_api::config(port, "PRICESTREAM_TEST_API_KEY"))?;
    let output = Command::new(binary("pricestream-extractor")?)
        .args(["--config", config.to_str().unwrap_or_default(), "backfill", "--symbols", "TSTA"])
        .envs(ns.env())
        .env("PRICESTREAM_TEST_API_KEY", KEY)
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(KEY), "the API key leaked into the logs");
    assert_eq!(requests.load(Ordering::SeqCst), 2, "one 429, then the page");
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(log.len(), 4, "splits, dividends, then the bars twice: {log:?}");
    assert!(
        log.iter().all(|line| line.contains("symbol=TSTA") && line.contains(&format!("apikey={KEY}"))),
        "{log:?}"
    );

    let session = cassandra::session().await?;
    let stored = cassandra::bars(&session, &ns.dwh_keyspace, "TSTA").await?;
    assert_eq!(stored.len(), 39);
    // The split halves every price before it (the API's are raw); the dividend is stored, not
    // applied (the default adjustment is splits).
    let mut bars = std::collections::BTreeMap::new();
    for message in kafka::read_topic(&ns.bars_topic())? {
        let bar: Bar = wire::decode(&message.payload)?;
        bars.insert(bar.datetime, bar.adjustment_factor);
    }
    assert_eq!(bars.len(), 39);
    let split = chrono::NaiveDate::from_ymd_opt(2024, 2, 1).unwrap_or_default();
    for (day, factor) in &bars {
        assert_eq!(*factor, if *day < split { 0.5 } else { 1.0 }, "{day}");
    }
    let actions: Vec<CorporateAction> = kafka::read_topic(&format!("{}corporate-actions", ns.topic_prefix))?
        .iter()
        .map(|m| wire::decode(&m.payload))
        .collect::<Result<_, _>>()?;
    let kinds: Vec<ActionKind> = actions.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ActionKind::Split { ratio: 2.0 }, ActionKind::CashDividend { amount: 0.25 }]);
    let cql = format!("SELECT COUNT(*) FROM {}.corporate_actions WHERE ticker = 'TSTA'", ns.dwh_keyspace);
    let stored_actions = session.query_unpaged(cql, &[]).await?.into_rows_result()?.single_row::<(i64,)>()?.0;
    assert_eq!(stored_actions, 2);

    let letters = kafka::read_topic(&ns.dead_letter_topic())?;
    assert_eq!(letters.len(), 1);
    let letter: DeadLetter = wire::decode(&letters[0].payload)?;
    assert_eq!(letter.line, None);
    assert!(letter.source.contains("symbol=TSTA") && !letter.source.contains(KEY), "{letter:?}");
    assert!(letter.raw.contains("\"close\":\"abc\""), "{letter:?}");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
