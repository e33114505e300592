//! The data-quality ledger through the real extractor, Kafka and Cassandra: a generated series
//! with two missing weekdays, an unexplained 2-for-1 drop, a stale run and two bars without
//! volume gives each finding once, with its check and day; running the same file again sends
//! none again; a split recorded later explains the drop and resolves that finding alone. A
//! market-data API (on loopback) that disagrees with the lake file about one day gives one
//! finding, and a corrected file resolves it. The expected findings are the ones the test
//! planted.

use chrono::{Datelike, NaiveDate, Weekday};
use pricestream_records::wire;
use pricestream_records::{QualityCheck, QualityFinding};
use pricestream_tests::{Namespace, binary, cassandra, kafka, loopback_api, run_ok};
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

/// Bars of `days` as (date, [open, high, low, close] as text, volume): gentle moves around 50.
fn clean_bars(days: &[NaiveDate]) -> Vec<(NaiveDate, [String; 4], usize)> {
    let price = |p: f64| format!("{}", (p * 100.0).round() / 100.0);
    let bar = |(i, day): (usize, &NaiveDate)| {
        let close = 50.0 + (i as f64 * 0.9).sin();
        (*day, [close - 0.1, close + 0.4, close - 0.4, close].map(price), 2_000 + i)
    };
    days.iter().enumerate().map(bar).collect()
}

fn yahoo_csv(bars: &[(NaiveDate, [String; 4], usize)]) -> String {
    let mut text = "Date,Open,High,Low,Close,Adj Close,Volume\n".to_owned();
    for (day, [open, high, low, close], volume) in bars {
        text += &format!("{day},{open},{high},{low},{close},{close},{volume}\n");
    }
    text
}

/// The API's `time_series` answer for `bars`, newest first.
fn api_page(ticker: &str, bars: &[(NaiveDate, [String; 4], usize)]) -> String {
    let values: Vec<String> = bars
        .iter()
        .rev()
        .map(|(day, [open, high, low, close], volume)| {
            format!(
                r#"{{"datetime":"{day}","open":"{open}","high":"{high}","low":"{low}","close":"{close}","volume":"{volume}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"meta":{{"symbol":"{ticker}","interval":"1day"}},"values":[{}],"status":"ok"}}"#,
        values.join(",")
    )
}

/// Scales every price of a bar by `by` (so it stays a valid bar).
fn scaled(bar: &(NaiveDate, [String; 4], usize), by: f64) -> (NaiveDate, [String; 4], usize) {
    let prices = bar.1.clone().map(|p| format!("{}", p.parse::<f64>().unwrap_or_default() * by));
    (bar.0, prices, bar.2)
}

#[tokio::test]
async fn a_file_and_the_api_that_disagree_about_a_day_give_one_finding_until_they_agree() -> anyhow::Result<()>
{
    const DISAGREE: usize = 12;
    const WITHIN_TOLERANCE: usize = 20;
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let days = weekdays(30);
    let file_bars = clean_bars(&days);
    // The API: 3 % higher on one day, 0.05 % (inside the default 0.1 %) on another.
    let mut api_bars = file_bars.clone();
    api_bars[DISAGREE] = scaled(&file_bars[DISAGREE], 1.03);
    api_bars[WITHIN_TOLERANCE] = scaled(&file_bars[WITHIN_TOLERANCE], 1.0005);
    let page = api_page("DQS", &api_bars);
    let (port, log) = loopback_api::serve(20, move |request| match request {
        r if r.contains("/splits?") => ("200 OK", r#"{"meta":{"symbol":"DQS"},"splits":[]}"#.to_owned()),
        r if r.contains("/dividends?") => {
            ("200 OK", r#"{"meta":{"symbol":"DQS"},"dividends":[]}"#.to_owned())
        }
        _ => ("200 OK", page.clone()),
    })?;
    let config = dir.path().join("extractor.toml");
    std::fs::write(
        &config,
        loopback_api::config(port, "PRICESTREAM_TEST_API_KEY") + "[adjustment]\nprices = \"raw\"\n",
    )?;
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake)?;
    std::fs::write(lake.join("dqs.csv"), yahoo_csv(&file_bars))?;
    let config = config.to_str().unwrap_or_default().to_owned();
    let backfill = |source: &[&str]| -> anyhow::Result<()> {
        let mut args = vec!["--config", &config, "backfill", "--no-progress"];
        args.extend(source);
        let output = std::process::Command::new(binary("pricestream-extractor")?)
            .args(&args)
            .envs(ns.env())
            .env("PRICESTREAM_TEST_API_KEY", "test-key")
            .output()?;
        anyhow::ensure!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        Ok(())
    };
    let lake_arg = ["--input", lake.to_str().unwrap_or_default()];
    backfill(&lake_arg)?;
    assert!(findings(&ns, 0)?.is_empty(), "a clean series has no finding");

    backfill(&["--symbols", "DQS"])?;
    let found = findings(&ns, 0)?;
    let listed: Vec<(NaiveDate, QualityCheck, bool)> =
        found.iter().map(|f| (f.date, f.check, f.resolved)).collect();
    assert_eq!(listed, [(days[DISAGREE], QualityCheck::SourceDisagreement, false)]);
    let detail = &found[0].detail;
    let close = &file_bars[DISAGREE].1[3];
    assert!(detail.starts_with("file: ") && detail.contains(&format!("close {close};")), "{detail}");
    assert!(log.lock().map(|l| l.len()).unwrap_or_default() >= 3, "the API was asked");

    // The API's bars of the two days it changed are the stored ones now, recorded as the API's.
    let session = cassandra::session().await?;
    let cql = format!(
        "SELECT datetime, source FROM {}.time_series_history WHERE ticker = 'DQS' AND timeframe = '1day'",
        ns.dwh_keyspace
    );
    let rows = session.query_unpaged(cql, &[]).await?.into_rows_result()?;
    let mut sources = BTreeMap::new();
    for row in rows.rows::<(chrono::DateTime<chrono::Utc>, Option<String>)>()? {
        let (at, source) = row?;
        sources.insert(at.date_naive(), source.unwrap_or_default());
    }
    let want: BTreeMap<NaiveDate, String> = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            (*day, if [DISAGREE, WITHIN_TOLERANCE].contains(&i) { "api" } else { "file" }.to_owned())
        })
        .collect();
    assert_eq!(sources, want);

    // Asked again (a new process, the ledger read back): nothing new.
    backfill(&["--symbols", "DQS"])?;
    assert_eq!(findings(&ns, 0)?.len(), 1);

    // The file corrected to what the API says: the disagreement is resolved.
    let mut corrected = file_bars.clone();
    corrected[DISAGREE] = api_bars[DISAGREE].clone();
    std::fs::write(lake.join("dqs.csv"), yahoo_csv(&corrected))?;
    backfill(&lake_arg)?;
    let later: Vec<(NaiveDate, QualityCheck, bool)> =
        findings(&ns, 1)?.iter().map(|f| (f.date, f.check, f.resolved)).collect();
    assert_eq!(later, [(days[DISAGREE], QualityCheck::SourceDisagreement, true)]);
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
