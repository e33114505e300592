//! `scripts/demo` end to end, as a newcomer runs it, with the binaries this build made: the
//! sample data through the extractor, Kafka, Cassandra and the analytics service, then what it
//! prints at the end. Each newest forecast is checked against the generated CSV files (read
//! without our code): its as-of date is the file's last bar, its target two weekdays on, and a
//! persistence forecast is that bar's close exactly. The backtest verdict must agree with the
//! table it closes, and the chart must be a PNG of the documented size.

use anyhow::{Context, bail};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use pricestream_tests::backtest_report::rmse;
use pricestream_tests::repo_paths::repo_root;
use pricestream_tests::{Namespace, binary, read_csv_naively};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The model's documented default horizon (`[model] horizon_bars`).
const HORIZON_BARS: usize = 2;
/// The chart's documented size (`backtest --help`).
const CHART_SIZE: (u32, u32) = (1200, 600);
/// The demo's sample data: `generate --tickers 5`.
const TICKERS: usize = 5;

/// One row of the forecast table the demo prints, by column name.
type Forecast = BTreeMap<String, String>;

/// The tab-separated forecast table: a header line starting `ticker`, rows until a blank line.
fn forecast_table(stdout: &str) -> anyhow::Result<Vec<Forecast>> {
    let mut lines = stdout.lines().skip_while(|line| !line.starts_with("ticker\tas_of\t"));
    let header: Vec<&str> = lines.next().context("no forecast table printed")?.split('\t').collect();
    Ok(lines
        .take_while(|line| !line.trim().is_empty())
        .map(|line| header.iter().map(|h| h.to_string()).zip(line.split('\t').map(str::to_owned)).collect())
        .collect())
}

/// `n` weekdays after `date` (the documented estimate of a target date not yet traded).
fn weekdays_after(date: NaiveDate, n: usize) -> NaiveDate {
    let mut day = date;
    for _ in 0..n {
        day = day + Days::new(1);
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day = day + Days::new(1);
        }
    }
    day
}

fn field<'a>(row: &'a Forecast, name: &str) -> anyhow::Result<&'a str> {
    row.get(name).map(String::as_str).with_context(|| format!("no `{name}` in {row:?}"))
}

/// Checks one newest forecast against the last bar of the ticker's CSV file.
fn check_forecast(row: &Forecast, csv: &Path) -> anyhow::Result<()> {
    let bars = read_csv_naively(csv)?;
    let (last_date, last) = bars.last_key_value().with_context(|| format!("{} is empty", csv.display()))?;
    let as_of: NaiveDate = field(row, "as_of")?.parse()?;
    assert_eq!(as_of.to_string(), *last_date, "the newest forecast is not made at the last bar: {row:?}");
    let target: NaiveDate = field(row, "target_date")?.parse()?;
    assert_eq!(target, weekdays_after(as_of, HORIZON_BARS), "{row:?}");
    let predicted: f64 = field(row, "predicted_close")?.parse()?;
    let close = last.ohlc[3];
    let gate_weight: f64 = field(row, "gate_weight")?.parse()?;
    match field(row, "forecaster")? {
        "persistence" => {
            assert_eq!(predicted, close, "persistence forecasts today's close: {row:?}");
            assert_eq!(gate_weight, 0.0, "{row:?}");
        }
        "model" => {
            assert!(
                predicted.is_finite() && (predicted / close - 1.0).abs() < 0.5,
                "{row:?} vs close {close}"
            );
            assert!(gate_weight > 0.0 && gate_weight <= 1.0, "{row:?}");
        }
        other => bail!("unknown forecaster {other}: {row:?}"),
    }
    let version: u32 = field(row, "model_version")?.parse()?;
    assert!(version >= 1, "{row:?}");
    Ok(())
}

/// The chart: a PNG by its signature, decoded by the png crate, of the documented size.
fn check_chart(path: &Path) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(path).with_context(|| format!("the chart {} was not written", path.display()))?;
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    let reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info()?;
    assert_eq!((reader.info().width, reader.info().height), CHART_SIZE);
    Ok(())
}

#[test]
fn the_demo_prints_forecasts_a_verdict_and_a_chart() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let bin = binary("pricestream-analytics")?.parent().context("binary without a folder")?.to_path_buf();
    let output = Command::new(repo_root().join("scripts/demo"))
        .envs(ns.env())
        .env_remove("PRICESTREAM_CONFIG")
        .env("DEMO_BINARIES", &bin)
        .env("DEMO_DIR", dir.path())
        .output()?;
    let stdout = String::from_utf8(output.stdout)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "scripts/demo failed ({}):\n{stdout}\n{stderr}", output.status);
    // It used the binaries it was given and the services under test, building and starting nothing.
    assert!(stdout.contains(&format!("Using the binaries in {}", bin.display())), "{stdout}");
    assert!(!stdout.contains("Building"), "{stdout}");

    // Every ticker's newest forecast, in the order of the files.
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("data"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    assert_eq!(files.len(), TICKERS);
    let table = forecast_table(&stdout)?;
    let tickers: Vec<String> =
        table.iter().map(|row| field(row, "ticker").map(str::to_owned)).collect::<Result<_, _>>()?;
    let expected: Vec<String> = files
        .iter()
        .map(|file| file.file_stem().unwrap_or_default().to_string_lossy().to_uppercase())
        .collect();
    assert_eq!(tickers, expected, "{stdout}");
    for (row, file) in table.iter().zip(&files) {
        check_forecast(row, file)?;
    }

    // The verdict closes the printed table and agrees with it.
    let report = stdout.split_once("The backtest of ").context("no backtest printed")?.1;
    let (model, persistence) = (rmse(report, "model")?, rmse(report, "persistence")?);
    let verdict = report.lines().find(|line| line.starts_with("The model")).context("no verdict")?;
    let expected = if model < persistence { "The model beats" } else { "The model does NOT beat" };
    assert!(verdict.starts_with(expected), "{verdict} (model RMSE {model}, persistence {persistence})");

    let chart = stdout
        .lines()
        .find_map(|line| line.strip_prefix("Backtest chart ").and_then(|rest| rest.rsplit_once(": ")))
        .context("no chart path printed")?
        .1;
    let first = tickers.first().context("no ticker")?;
    assert_eq!(Path::new(chart), dir.path().join(format!("{first}-backtest.png")));
    check_chart(Path::new(chart))?;

    // Where everything is: this run's topics and tables.
    for name in [ns.bars_topic(), format!("{}.features", ns.mart_keyspace)] {
        assert!(stdout.contains(&name), "{name} not listed:\n{stdout}");
    }
    Ok(())
}
