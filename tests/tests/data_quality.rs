//! The data-quality ledger through the real extractor, Kafka and Cassandra: a generated series
//! with two missing weekdays, an unexplained 2-for-1 drop, a stale run and two bars without
//! volume gives each finding once, with its check and day; running the same file again sends
//! none again; a split recorded later explains the drop and resolves that finding alone. The
//! expected findings are the ones the test planted.

use chrono::{Datelike, NaiveDate, Weekday};
use pricestream_records::wire;
use pricestream_records::{QualityCheck, QualityFinding};
use pricestream_tests::{Namespace, cassandra, kafka, run_ok};
use std::collections::BTreeMap;

/// The weekdays of the series, from 2 January 2024.
fn weekdays(count: usize) -> Vec<NaiveDate> {
    let start = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default();
    start.iter_days().filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).take(count).collect()
}

const GAPS: [usize; 2] = [10, 30];
const STALE: std::ops::Range<usize> = 20..26;
const DROP: usize = 40;
const ZERO_VOLUME: [usize; 2] = [5, 50];

/// The Yahoo CSV with everything planted, and the days of the series.
fn series() -> (String, Vec<NaiveDate>) {
    let days = weekdays(60);
    let mut text = "Date,Open,High,Low,Close,Adj Close,Volume\n".to_owned();
    for (i, day) in days.iter().enumerate().filter(|(i, _)| !GAPS.contains(i)) {
        // Gentle moves around 100, halved from the drop on; flat in the stale run.
        let mut close = 100.0 + (i as f64 * 0.7).sin();
        if STALE.contains(&i) {
            close = 97.0;
        }
        if i >= DROP {
            close /= 2.0;
        }
        let close = (close * 100.0).round() / 100.0;
        let (high, low) = (close + 0.5, close - 0.5);
        let volume = if ZERO_VOLUME.contains(&i) { 0 } else { 1_000 + i };
        text += &format!("{day},{close},{high},{low},{close},{close},{volume}\n");
    }
    (text, days)
}

fn findings(ns: &Namespace, from: usize) -> anyhow::Result<Vec<QualityFinding>> {
    let topic = format!("{}data-quality", ns.topic_prefix);
    let messages = kafka::read_topic(&topic)?;
    messages[from.min(messages.len())..].iter().map(|m| Ok(wire::decode(&m.payload)?)).collect()
}

#[tokio::test]
async fn each_planted_problem_is_found_once_and_a_later_split_resolves_the_jump() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let (text, days) = series();
    std::fs::create_dir(dir.path().join("lake"))?;
    std::fs::write(dir.path().join("lake/dqt-2024.csv"), text)?;
    let config = dir.path().join("extractor.toml");
    std::fs::write(&config, "[adjustment]\nprices = \"raw\"\n")?;
    let config = config.to_str().unwrap_or_default();
    let lake = dir.path().join("lake");
    let backfill = |extra: &[&str]| -> anyhow::Result<String> {
        let mut args = vec!["--config", config, "backfill", "--no-progress"];
        args.extend(extra);
        Ok(String::from_utf8_lossy(&run_ok("pricestream-extractor", &args, &ns)?.stdout).into_owned())
    };
    let summary = backfill(&["--input", lake.to_str().unwrap_or_default()])?;
    let counted = summary.lines().find_map(|l| l.trim().strip_prefix("data-quality findings"));
    assert_eq!(counted.and_then(|rest| rest.split_whitespace().next()), Some("6"), "{summary}");

    let mut want: BTreeMap<(NaiveDate, QualityCheck), bool> = BTreeMap::new();
    for gap in GAPS {
        want.insert((days[gap], QualityCheck::CalendarGap), false);
    }
    want.insert((days[STALE.start], QualityCheck::StaleBars), false);
    want.insert((days[DROP], QualityCheck::SplitLikeJump), false);
    for zero in ZERO_VOLUME {
        want.insert((days[zero], QualityCheck::ZeroVolume), false);
    }
    let first = findings(&ns, 0)?;
    let got: BTreeMap<(NaiveDate, QualityCheck), bool> =
        first.iter().map(|f| ((f.date, f.check), f.resolved)).collect();
    assert_eq!(first.len(), got.len(), "each finding once: {first:?}");
    assert_eq!(got, want);
    assert!(first.iter().all(|f| f.ticker.as_str() == "DQT"));

    // The same file again: nothing new (the ledger is read back with the series).
    backfill(&["--input", lake.to_str().unwrap_or_default()])?;
    assert!(findings(&ns, first.len())?.is_empty());

    // The drop was a 2-for-1 split: recorded now, it resolves the jump and nothing else.
    let split = dir.path().join("split.csv");
    std::fs::write(&split, format!("ticker,ex_date,kind,ratio,amount\nDQT,{},split,2,\n", days[DROP]))?;
    backfill(&["--actions", split.to_str().unwrap_or_default()])?;
    let later = findings(&ns, first.len())?;
    let resolved: Vec<(NaiveDate, QualityCheck, bool)> =
        later.iter().map(|f| (f.date, f.check, f.resolved)).collect();
    assert_eq!(resolved, [(days[DROP], QualityCheck::SplitLikeJump, true)]);

    let session = cassandra::session().await?;
    let cql =
        format!("SELECT date, check, resolved FROM {}.data_quality WHERE ticker = 'DQT'", ns.dwh_keyspace);
    let rows = session.query_unpaged(cql, &[]).await?.into_rows_result()?;
    let mut stored = BTreeMap::new();
    for row in rows.rows::<(NaiveDate, String, bool)>()? {
        let (date, check, resolved) = row?;
        stored.insert((date, check), resolved);
    }
    let mut expected: BTreeMap<(NaiveDate, String), bool> =
        want.keys().map(|(date, check)| ((*date, check.as_str().to_owned()), false)).collect();
    expected.insert((days[DROP], "split_like_jump".to_owned()), true);
    assert_eq!(stored, expected);
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
