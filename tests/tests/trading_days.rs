//! The trading-day frontier through the real services: 50 tickers, days whose bars arrive
//! whole, late but before the deadline, after the day was declared, and a ticker that never
//! delivers again; a restart in the middle.
//!
//! The oracle is the test's own delivery plan: which tickers it gave a bar for each day, and
//! the documented rules (a day waits for every ticker with a bar in the 2 trading days before
//! it, or 6 s after its first bar). Each day must be declared once, in order, with the counts
//! and missing tickers the plan implies; a bar after its day's declaration is applied and
//! counted as late.

use chrono::Datelike;
use pricestream_tests::{
    Namespace, analytics_config, binary, cassandra, free_port, kafka, metric, run_ok, stop_after,
    stop_gracefully, wait_for, wait_for_ok,
};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TICKERS: usize = 50;
/// History: the 20 weekdays of March 2025 up to Friday the 28th (no exchange holiday).
const HISTORY_START: (u32, u32) = (3, 3);
const HISTORY_DAYS: usize = 20;

fn ticker(i: usize) -> String {
    format!("TD{i:02}")
}

fn date(month: u32, day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, month, day).unwrap_or_default()
}

/// `count` weekdays from `first`: the history, then the new days.
fn weekdays(first: chrono::NaiveDate, count: usize) -> Vec<chrono::NaiveDate> {
    let mut days = Vec::new();
    let mut day = first;
    while days.len() < count {
        if day.weekday().number_from_monday() <= 5 {
            days.push(day);
        }
        day = day.succ_opt().unwrap_or(day);
    }
    days
}

/// Writes ticker `i`'s Yahoo CSV with its bars on `days` into `dir`.
fn write_ticker(dir: &Path, i: usize, days: &[chrono::NaiveDate]) -> anyhow::Result<()> {
    let mut text = String::from("Date,Open,High,Low,Close,Adj Close,Volume\n");
    for (n, day) in days.iter().enumerate() {
        let close = 20.0 + i as f64 + (n as f64 * 0.7).sin();
        text.push_str(&format!(
            "{day},{close:.4},{:.4},{:.4},{close:.4},{close:.4},{}\n",
            close + 0.5,
            close - 0.5,
            1000 + n
        ));
    }
    std::fs::write(dir.join(format!("{}.csv", ticker(i))), text)?;
    Ok(())
}

/// Backfills, in a folder of their own, the tickers `which` with their bars on the weekdays
/// from `first` up to and including the `through`-th.
fn deliver(ns: &Namespace, which: &[usize], first: chrono::NaiveDate, through: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let days = weekdays(first, through + 1);
    for &i in which {
        write_ticker(dir.path(), i, &days)?;
    }
    run_ok("pricestream-extractor", &["backfill", "--input", dir.path().to_str().unwrap_or_default()], ns)?;
    Ok(())
}

/// An event as the test compares it: (day, status, expected, arrived, missing).
type Event = (String, String, u64, u64, Vec<String>);

/// The days declared among `events` (not their forecast markers).
fn declared(events: &[Event]) -> Vec<&Event> {
    events.iter().filter(|event| event.1 != "forecasts_complete").collect()
}

/// The events on the trading-days topic, in order.
fn events(ns: &Namespace) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    for message in kafka::read_topic(&format!("{}trading-days", ns.topic_prefix))? {
        anyhow::ensure!(message.key == "XNYS", "an event keyed {:?}", message.key);
        let event: Value = serde_json::from_slice(&message.payload)?;
        let text = |field: &str| event[field].as_str().unwrap_or_default().to_owned();
        let count = |field: &str| event[field].as_u64().unwrap_or(u64::MAX);
        let missing = event["missing"].as_array().cloned().unwrap_or_default();
        let missing = missing.iter().map(|t| t.as_str().unwrap_or_default().to_owned()).collect();
        events.push((text("day"), text("status"), count("expected"), count("arrived"), missing));
    }
    Ok(events)
}

fn event(day: chrono::NaiveDate, status: &str, expected: u64, arrived: u64, missing: &[usize]) -> Event {
    (day.to_string(), status.to_owned(), expected, arrived, missing.iter().map(|&i| ticker(i)).collect())
}

fn start(ns: &Namespace, config: &Path, port: u16, log: &tempfile::NamedTempFile) -> anyhow::Result<Child> {
    Ok(Command::new(binary("pricestream-analytics")?)
        .args(["--config", config.to_str().unwrap_or_default(), "run", "--workers", "2"])
        .envs(ns.env())
        .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log.reopen()?)
        .spawn()?)
}

#[tokio::test]
async fn days_are_declared_once_in_order_with_their_missing_tickers_across_a_restart() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let config = analytics_config(
        dir.path(),
        "analytics.toml",
        "[trading_days]\nuniverse_recent_days = 2\ndeadline_ms = 6000\n",
    )?;
    let all: Vec<usize> = (0..TICKERS).collect();
    let history = HISTORY_DAYS - 1;
    let (day1, day2, day3) = (history + 1, history + 2, history + 3);
    let first = date(HISTORY_START.0, HISTORY_START.1);
    let days = weekdays(first, day3 + 1);
    let never = 49;
    deliver(&ns, &all, first, history)?;

    let port = free_port()?;
    let log = tempfile::NamedTempFile::new()?;
    let mut service = start(&ns, &config, port, &log)?;
    let wait_events = |count: usize| {
        wait_for(&format!("{count} trading-day events"), Duration::from_secs(60), || {
            events(&ns).is_ok_and(|events| declared(&events).len() >= count)
        })
    };
    let result = async {
        wait_for_ok(port, "/readyz", Duration::from_secs(60))?;
        // The first bars seen end on the 28th: that day is the first declared, and complete.
        wait_events(1)?;
        // Day 1: all but two at once, one of those a moment later (before the deadline); the
        // last never again.
        let early: Vec<usize> = (0..48).collect();
        deliver(&ns, &early, first, day1)?;
        deliver(&ns, &[48], first, day1)?;
        wait_events(2)?;
        // Day 2: TD47 comes only after the day was declared: a late bar.
        let on_time: Vec<usize> = (0..47).chain([48]).collect();
        deliver(&ns, &on_time, first, day2)?;
        wait_events(3)?;
        deliver(&ns, &[47], first, day2)?;
        let late = || metric(port, "pricestream_analytics_trading_day_late_bars_total");
        wait_for("the late bar counted", Duration::from_secs(30), || late() == Some(1.0))?;
        let session = cassandra::session().await?;
        let rows = cassandra::features(&session, &ns.mart_keyspace, &ticker(47)).await?;
        assert_eq!(rows.len(), day2 + 1, "the late bar's row is in the mart");
        let declared =
            metric(port, "pricestream_analytics_trading_day_declare_seconds_count").unwrap_or_default();
        let seconds =
            metric(port, "pricestream_analytics_trading_day_declare_seconds_sum").unwrap_or_default();
        println!("declare latency: {declared} day(s), mean {:.1} ms", 1000.0 * seconds / declared.max(1.0));
        // A restart in the middle: nothing is declared again, and the next day goes on.
        let status = stop_gracefully(&mut service)?;
        assert!(status.success(), "service exited with {status}");
        service = start(&ns, &config, port, &log)?;
        wait_for_ok(port, "/readyz", Duration::from_secs(60))?;
        // Day 3: every ticker but the one that stopped, now out of the universe.
        let active: Vec<usize> = (0..never).collect();
        deliver(&ns, &active, first, day3)?;
        wait_events(4)?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Each day, then the marker of its forecasts: no ticker has a model (200 labels needed),
        // so every ticker that had its bar is listed as without one.
        let marker = |day: chrono::NaiveDate, arrived: &[usize]| {
            event(day, "forecasts_complete", arrived.len() as u64, 0, arrived)
        };
        let but = |left_out: &[usize]| -> Vec<usize> {
            all.iter().copied().filter(|i| !left_out.contains(i)).collect()
        };
        let expected = vec![
            event(days[history], "complete", 50, 50, &[]),
            marker(days[history], &all),
            event(days[day1], "deadline", 50, 49, &[never]),
            marker(days[day1], &but(&[never])),
            event(days[day2], "deadline", 50, 48, &[47, never]),
            marker(days[day2], &but(&[47, never])),
            event(days[day3], "complete", 49, 49, &[]),
            marker(days[day3], &but(&[never])),
        ];
        assert_eq!(events(&ns)?, expected);
        cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
        anyhow::Ok(())
    }
    .await;
    stop_after(&mut service, log.path(), result)
}

/// Versions of the global model stored so far.
async fn global_versions(session: &scylla::client::session::Session, ns: &Namespace) -> anyhow::Result<i64> {
    let cql = format!("SELECT COUNT(*) FROM {}.models WHERE scope = 'global'", ns.mart_keyspace);
    let rows = session.query_unpaged(cql, ()).await?.into_rows_result()?;
    Ok(rows.single_row::<(i64,)>()?.0)
}

/// Waits until the version count has not moved for 3 s; returns it.
async fn settled_versions(session: &scylla::client::session::Session, ns: &Namespace) -> anyhow::Result<i64> {
    let mut last = (global_versions(session, ns).await?, std::time::Instant::now());
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while last.1.elapsed() < Duration::from_secs(3) {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the model versions never settled");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = global_versions(session, ns).await?;
        if now != last.0 {
            last = (now, std::time::Instant::now());
        }
    }
    Ok(last.0)
}

#[tokio::test]
async fn a_daily_global_model_retrains_once_per_declared_day_and_not_on_bars_alone() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("analytics.toml");
    std::fs::write(
        &config,
        "[model]\nscope = \"global\"\nn_estimators = 10\nmax_depth = 3\nthreads = 1\n\n\
         [serving]\nmin_training_rows = 20\nretrain_every_rows = 0\nretrain_daily = true\n\n\
         [trading_days]\nuniverse_recent_days = 2\ndeadline_ms = 600000\n",
    )?;
    // Thirteen weeks of history, up to Friday 28 March 2025: every indicator has its warm-up.
    let (first, history) = (date(12, 30).with_year(2024).unwrap_or_default(), 64);
    assert_eq!(weekdays(first, history + 1)[history], date(3, 28));
    let three = [0, 1, 2];
    deliver(&ns, &three, first, history)?;
    let port = free_port()?;
    let log = tempfile::NamedTempFile::new()?;
    let mut service = start(&ns, &config, port, &log)?;
    let result = async {
        wait_for_ok(port, "/readyz", Duration::from_secs(60))?;
        let session = cassandra::session().await?;
        let count = |n: usize| events(&ns).is_ok_and(|events| declared(&events).len() >= n);
        wait_for("the first day declared", Duration::from_secs(60), || count(1))?;
        let trained = settled_versions(&session, &ns).await?;
        anyhow::ensure!(trained >= 1, "no global model trained");
        // A new day complete: one more version.
        deliver(&ns, &three, first, history + 1)?;
        wait_for("the second day declared", Duration::from_secs(60), || count(2))?;
        assert_eq!(settled_versions(&session, &ns).await?, trained + 1, "one version for the declared day");
        // Bars of a day not declared yet (one ticker is missing, the deadline is far): none.
        deliver(&ns, &three[..2], first, history + 2)?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(settled_versions(&session, &ns).await?, trained + 1, "bars alone do not retrain");
        let events = events(&ns)?;
        assert_eq!(declared(&events).len(), 2);
        // The second day's forecasts come from the model: all three written.
        let second = chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap_or_default();
        let marker = events.iter().find(|e| e.1 == "forecasts_complete" && e.0 == second.to_string());
        assert_eq!(marker, Some(&event(second, "forecasts_complete", 3, 3, &[])), "{events:?}");
        cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
        anyhow::Ok(())
    }
    .await;
    stop_after(&mut service, log.path(), result)
}
