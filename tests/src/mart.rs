//! The feature mart as read back from Cassandra, and the seed's `combineDatasets` table computed
//! independently by `tests/oracle/seed_join.py` (pandas + TA-Lib), in one shape so they compare
//! cell by cell.

use crate::repo_paths::{INSTALL_HINT, oracle_command};
use crate::talib::same;
use anyhow::{Context, bail};
use chrono::NaiveDate;
use scylla::client::session::Session;
use scylla::value::{CqlValue, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The columns of a feature row after `dateTime`: the seed's, in its order, then `id` and `label`.
pub const FEATURE_COLUMNS: [&str; 27] = [
    "emaTimePeriod",
    "ema",
    "fastKPeriod",
    "slowKPeriod",
    "slowDPeriod",
    "slowD",
    "slowK",
    "bbTimePeriod",
    "bbSd",
    "lowerBand",
    "middleBand",
    "upperBand",
    "signalPeriod",
    "fastPeriod",
    "slowPeriod",
    "macd",
    "macdHist",
    "macdSignal",
    "rsiTimePeriod",
    "rsi",
    "smaTimePeriod",
    "sma",
    "willrTimePeriod",
    "willr",
    "close",
    "id",
    "label",
];

/// One row's cells in [`FEATURE_COLUMNS`] order; `None` is null. Periods and `id` are integers
/// carried as `f64`, which holds them exactly.
pub type Features = [Option<f64>; 27];

/// A series' feature table: `dateTime` -> cells.
pub type FeatureTable = BTreeMap<NaiveDate, Features>;

/// The CQL type each column must have in the mart: `int` periods, `bigint` id, `double` values.
fn is_integer_column(name: &str) -> bool {
    name.ends_with("Period")
}

/// The seed's feature table of a Yahoo CSV, default indicator periods, the close `horizon_bars`
/// rows later as label.
pub fn seed_join(csv: &Path, horizon_bars: u32) -> anyhow::Result<FeatureTable> {
    let output = oracle_command("seed_join.py")
        .arg("--input")
        .arg(csv)
        .args(["--horizon-bars", &horizon_bars.to_string()])
        .output()
        .with_context(|| format!("cannot run the seed-join oracle; install Python 3 and {INSTALL_HINT}"))?;
    if !output.status.success() {
        bail!("seed-join oracle failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let text = String::from_utf8(output.stdout)?;
    let mut lines = text.lines();
    let header = lines.next().context("seed-join oracle wrote nothing")?;
    let want = format!("dateTime,{}", FEATURE_COLUMNS.join(","));
    if header != want {
        bail!("seed-join oracle header is `{header}`, expected `{want}`");
    }
    let mut table = FeatureTable::new();
    for (number, line) in lines.enumerate() {
        let context = || format!("seed-join oracle line {}: {line}", number + 2);
        let mut fields = line.split(',');
        let date: NaiveDate = fields.next().unwrap_or_default().parse().with_context(context)?;
        let cells: Vec<Option<f64>> = fields
            .map(|f| if f.is_empty() { Ok(None) } else { f.parse().map(Some) })
            .collect::<Result<_, _>>()
            .with_context(context)?;
        let cells: Features = cells
            .try_into()
            .map_err(|c: Vec<_>| anyhow::anyhow!("{} cells", c.len()))
            .with_context(context)?;
        if table.insert(date, cells).is_some() {
            bail!("{}: date {date} twice", context());
        }
    }
    Ok(table)
}

/// A cell of the mart as `f64`, checking its CQL type.
fn cell(column: &str, value: Option<CqlValue>) -> anyhow::Result<Option<f64>> {
    Ok(match (value, column) {
        (None, _) => None,
        (Some(CqlValue::Int(v)), c) if is_integer_column(c) => Some(f64::from(v)),
        // Row numbers stay far below 2^53, so the cast is exact.
        (Some(CqlValue::BigInt(v)), "id") => Some(v as f64),
        (Some(CqlValue::Double(v)), c) if !is_integer_column(c) && c != "id" => Some(v),
        (Some(other), c) => bail!("column {c} holds {other:?}, not the type the mart declares"),
    })
}

/// Every row of `keyspace.features` for `ticker` (`1day`), every column.
pub async fn features(session: &Session, keyspace: &str, ticker: &str) -> anyhow::Result<FeatureTable> {
    let cql = format!(
        "SELECT dateTime, {} FROM {keyspace}.features WHERE ticker = ? AND timeframe = '1day'",
        FEATURE_COLUMNS.join(", ")
    );
    let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
    let mut table = FeatureTable::new();
    for row in rows.rows::<Row>()? {
        let mut columns = row?.columns.into_iter();
        let date = match columns.next().flatten() {
            Some(CqlValue::Date(date)) => date.try_into()?,
            other => bail!("dateTime holds {other:?}"),
        };
        let mut cells: Features = [None; 27];
        for (slot, (column, value)) in cells.iter_mut().zip(FEATURE_COLUMNS.iter().zip(columns)) {
            *slot = cell(column, value).with_context(|| format!("{ticker} {date}"))?;
        }
        table.insert(date, cells);
    }
    Ok(table)
}

/// `WRITETIME(close)` of every mart row of `ticker` (`1day`), in microseconds.
pub async fn close_writetimes(
    session: &Session,
    keyspace: &str,
    ticker: &str,
) -> anyhow::Result<BTreeMap<NaiveDate, i64>> {
    let cql = format!(
        "SELECT dateTime, WRITETIME(close) FROM {keyspace}.features WHERE ticker = ? AND timeframe = '1day'"
    );
    let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
    Ok(rows.rows::<(NaiveDate, i64)>()?.collect::<Result<_, _>>()?)
}

/// Both null, or both values and [`same`].
pub fn same_cell(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same(a, b),
        _ => false,
    }
}

fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "null".into(), |v| format!("{v:?}"))
}

/// Every difference between two tables, one line each: a date only one side has, or a
/// `date column: got vs want` cell.
pub fn differences(got: &FeatureTable, want: &FeatureTable) -> Vec<String> {
    let mut out = Vec::new();
    for date in got.keys().chain(want.keys()).collect::<BTreeSet<_>>() {
        match (got.get(date), want.get(date)) {
            (Some(_), None) => out.push(format!("{date}: a row that should not exist")),
            (None, Some(_)) => out.push(format!("{date}: row missing")),
            (Some(g), Some(w)) => {
                for ((column, g), w) in FEATURE_COLUMNS.iter().zip(g).zip(w) {
                    if !same_cell(*g, *w) {
                        out.push(format!("{date} {column}: {} vs {}", show(*g), show(*w)));
                    }
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// The dates whose row differs in any column (or exists on one side only).
pub fn changed_dates(before: &FeatureTable, after: &FeatureTable) -> BTreeSet<NaiveDate> {
    let dates: BTreeSet<&NaiveDate> = before.keys().chain(after.keys()).collect();
    dates
        .into_iter()
        .filter(|date| match (before.get(date), after.get(date)) {
            (Some(b), Some(a)) => b.iter().zip(a).any(|(b, a)| !same_cell(*b, *a)),
            _ => true,
        })
        .copied()
        .collect()
}
