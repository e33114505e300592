//! Reading back what the binaries wrote to Cassandra.

use crate::{Ohlcv, cassandra_contact_points};
use chrono::{DateTime, NaiveDate, Utc};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::value::CqlDecimal;
use std::collections::BTreeMap;

/// A session to the cluster under test.
pub async fn session() -> anyhow::Result<Session> {
    Ok(SessionBuilder::new().known_nodes(cassandra_contact_points()).build().await?)
}

/// The services' Cassandra settings for the cluster under test, with `mart_keyspace`.
pub fn mart_config(mart_keyspace: &str) -> pricestream_runtime::config::CassandraConfig {
    pricestream_runtime::config::CassandraConfig {
        contact_points: cassandra_contact_points(),
        mart_keyspace: mart_keyspace.to_owned(),
        ..Default::default()
    }
}

/// A session through the library's own connect, with `mart_keyspace` and its tables created
/// as the services create them.
pub async fn mart_session(mart_keyspace: &str) -> anyhow::Result<std::sync::Arc<Session>> {
    let config = mart_config(mart_keyspace);
    let session = std::sync::Arc::new(pricestream_cassandra::connect(&config).await?);
    pricestream_cassandra::create_mart_schema(&session, &config).await?;
    Ok(session)
}

fn decimal(value: &CqlDecimal) -> anyhow::Result<f64> {
    let (bytes, scale) = value.as_signed_be_bytes_slice_and_exponent();
    let mut padded = if bytes.first().is_some_and(|b| b & 0x80 != 0) { [0xff; 16] } else { [0; 16] };
    anyhow::ensure!(bytes.len() <= 16, "decimal too large");
    padded[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(format!("{}e{}", i128::from_be_bytes(padded), -scale).parse()?)
}

/// `time_series_history` rows of one ticker: date -> (bar, task_number).
pub async fn bars(
    session: &Session,
    keyspace: &str,
    ticker: &str,
) -> anyhow::Result<BTreeMap<NaiveDate, (Ohlcv, uuid::Uuid)>> {
    let cql = format!(
        "SELECT datetime, open, high, low, close, volume, task_number FROM {keyspace}.time_series_history \
         WHERE ticker = ? AND timeframe = '1day'"
    );
    let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
    let mut out = BTreeMap::new();
    for row in
        rows.rows::<(DateTime<Utc>, CqlDecimal, CqlDecimal, CqlDecimal, CqlDecimal, i64, uuid::Uuid)>()?
    {
        let (datetime, open, high, low, close, volume, task) = row?;
        let ohlc = [decimal(&open)?, decimal(&high)?, decimal(&low)?, decimal(&close)?];
        out.insert(datetime.date_naive(), (Ohlcv { ohlc, volume }, task));
    }
    Ok(out)
}

/// Asserts that the warehouse `keyspace` holds every bar of the lake `folder` (`days` per
/// ticker) as in its file, and one value per bar past TA-Lib's lookback in each indicator
/// table, nothing more. Returns the (ticker, date) of every bar.
pub async fn assert_warehouse_holds_lake(
    session: &Session,
    keyspace: &str,
    folder: &std::path::Path,
    days: usize,
) -> anyhow::Result<std::collections::BTreeSet<(String, String)>> {
    let mut bars_seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let ticker = path.file_stem().unwrap_or_default().to_string_lossy().to_ascii_uppercase();
        let input = crate::read_csv_naively(&path)?;
        let stored = bars(session, keyspace, &ticker).await?;
        assert_eq!(stored.len(), days, "{ticker}: bars stored");
        for (date, bar) in &input {
            assert_eq!(stored.get(&date.parse()?).map(|(bar, _)| *bar), Some(*bar), "{ticker} {date}");
            bars_seen.insert((ticker.clone(), date.clone()));
        }
        for (table, lookback) in crate::talib::DEFAULT_LOOKBACKS {
            let count = count_rows(session, keyspace, table, &ticker).await?;
            assert_eq!(count, (days - lookback) as i64, "{ticker} {table}");
        }
    }
    Ok(bars_seen)
}

/// One feature row as read back: date, id, close, ema, sma, label.
pub type MartRow = (NaiveDate, Option<i64>, f64, Option<f64>, Option<f64>, Option<f64>);

/// `features` rows of one ticker, in date order.
pub async fn features(session: &Session, keyspace: &str, ticker: &str) -> anyhow::Result<Vec<MartRow>> {
    let cql = format!(
        "SELECT dateTime, id, close, ema, sma, label FROM {keyspace}.features WHERE ticker = ? AND timeframe = '1day'"
    );
    let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
    Ok(rows.rows::<MartRow>()?.collect::<Result<_, _>>()?)
}

/// Drops the keyspaces a test created.
pub async fn drop_keyspaces(session: &Session, keyspaces: &[&str]) {
    for keyspace in keyspaces {
        let _ = session.query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), &[]).await;
    }
}

/// `sma` table rows of one ticker: date -> (timePeriod, sma).
pub async fn sma(
    session: &Session,
    keyspace: &str,
    ticker: &str,
) -> anyhow::Result<BTreeMap<NaiveDate, (i32, f64)>> {
    let cql = format!(
        "SELECT datetime, timePeriod, sma FROM {keyspace}.sma WHERE ticker = ? AND timeframe = '1day'"
    );
    let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
    let mut out = BTreeMap::new();
    for row in rows.rows::<(DateTime<Utc>, i32, f64)>()? {
        let (datetime, period, sma) = row?;
        out.insert(datetime.date_naive(), (period, sma));
    }
    Ok(out)
}

/// Number of rows of one ticker in `table`.
pub async fn count_rows(session: &Session, keyspace: &str, table: &str, ticker: &str) -> anyhow::Result<i64> {
    let cql = format!("SELECT COUNT(*) FROM {keyspace}.{table} WHERE ticker = ? AND timeframe = '1day'");
    let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
    Ok(rows.single_row::<(i64,)>()?.0)
}

/// The (ticker, date) of every row of `keyspace.features`.
pub async fn mart_keys(
    session: &Session,
    keyspace: &str,
) -> anyhow::Result<std::collections::BTreeSet<(String, NaiveDate)>> {
    use futures::TryStreamExt;
    let cql = format!("SELECT ticker, datetime FROM {keyspace}.features");
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<(String, NaiveDate)>()?;
    let mut keys = std::collections::BTreeSet::new();
    while let Some(key) = rows.try_next().await? {
        keys.insert(key);
    }
    Ok(keys)
}

/// For every row of `keyspace.features`, keyed by (ticker, date): the indicator kinds
/// (`ema`, `sma`, `rsi`, `macd`, `stoch`, `bbands`, `willr`) whose value is not null.
pub async fn mart_indicators(
    session: &Session,
    keyspace: &str,
) -> anyhow::Result<BTreeMap<(String, NaiveDate), Vec<&'static str>>> {
    use futures::TryStreamExt;
    type Cells = (
        String,
        NaiveDate,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );
    let cql = format!(
        "SELECT ticker, datetime, ema, sma, rsi, macd, slowk, middleband, willr FROM {keyspace}.features"
    );
    let mut rows = session.query_iter(cql, ()).await?.rows_stream::<Cells>()?;
    let mut out = BTreeMap::new();
    while let Some((ticker, date, ema, sma, rsi, macd, stoch, bbands, willr)) = rows.try_next().await? {
        let kinds = [
            ("ema", ema),
            ("sma", sma),
            ("rsi", rsi),
            ("macd", macd),
            ("stoch", stoch),
            ("bbands", bbands),
            ("willr", willr),
        ];
        out.insert((ticker, date), kinds.iter().filter(|(_, v)| v.is_some()).map(|(k, _)| *k).collect());
    }
    Ok(out)
}

/// Every value of the seven indicator tables of one ticker's daily series, by date and
/// indicator, its numbers in the order of [`crate::talib::fields`] (the oracle's).
pub async fn indicator_values(
    session: &Session,
    keyspace: &str,
    ticker: &str,
) -> anyhow::Result<BTreeMap<(NaiveDate, &'static str), Vec<f64>>> {
    use pricestream_records::{IndicatorKind, IndicatorValue};
    use scylla::value::{CqlValue, Row};
    let mut out = BTreeMap::new();
    for kind in IndicatorKind::ALL {
        let (periods, numbers) = (kind.period_names(), kind.number_names());
        let columns = periods.iter().chain(numbers).copied().collect::<Vec<_>>().join(", ");
        let table = kind.as_str();
        let cql = format!(
            "SELECT datetime, {columns} FROM {keyspace}.{table} WHERE ticker = ? AND timeframe = '1day'"
        );
        let rows = session.query_unpaged(cql, (ticker,)).await?.into_rows_result()?;
        for row in rows.rows::<Row>()? {
            let cells = row?.columns;
            let Some(Some(CqlValue::Timestamp(at))) = cells.first() else {
                anyhow::bail!("{table}: a row without its datetime");
            };
            let day = DateTime::from_timestamp_millis(at.0).unwrap_or_default().date_naive();
            let cell = |at: usize| cells.get(at).cloned().flatten();
            let period: Vec<i32> = (1..=periods.len()).filter_map(|at| cell(at)?.as_int()).collect();
            let number: Vec<f64> =
                (1 + periods.len()..cells.len()).filter_map(|at| cell(at)?.as_double()).collect();
            let value = IndicatorValue::from_fields(*kind, &period, &number)
                .ok_or_else(|| anyhow::anyhow!("{table} at {day}: a null or missing column"))?;
            let (name, fields) = crate::talib::fields(&value);
            out.insert((day, name), fields);
        }
    }
    Ok(out)
}
