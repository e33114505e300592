//! Reading the warehouse back for `query`: the bars as delivered, the seven indicator tables
//! and the corporate actions, one series at a time or a piece of the token ring at a time.

use super::CassandraError;
use super::requests::read_all;
use super::statements::prepare;
use crate::Result;
use chrono::{DateTime, NaiveDate, Utc};
use pricestream_records::{ActionKind, Bar, CorporateAction, IndicatorKind, Timeframe};
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlDecimal, CqlValue, Row};
use std::sync::Arc;
use uuid::Uuid;

/// A stored bar's columns.
type BarRow = (
    String,
    String,
    DateTime<Utc>,
    CqlDecimal,
    CqlDecimal,
    CqlDecimal,
    CqlDecimal,
    i64,
    Uuid,
    Option<String>,
);
/// A stored corporate action's columns.
type ActionRow = (String, NaiveDate, String, Option<f64>, Option<f64>);

/// One stored indicator value: its table's periods and numbers in the order of
/// [`IndicatorKind::period_names`] and [`IndicatorKind::number_names`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoredIndicator {
    /// The ticker.
    pub ticker: String,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// The bar's date.
    pub date: NaiveDate,
    /// Which indicator (its table).
    pub kind: IndicatorKind,
    /// Its periods.
    pub periods: Vec<Option<i32>>,
    /// Its numbers.
    pub numbers: Vec<Option<f64>>,
}

/// A table's two reads: one series, and the partitions in a token range.
struct Reads {
    table: String,
    series: PreparedStatement,
    tokens: PreparedStatement,
}

impl Reads {
    async fn prepare(session: &Session, table: String, columns: &str, key: &str) -> Result<Self> {
        let keyed = key.split(", ").map(|k| format!("{k} = ?")).collect::<Vec<_>>().join(" AND ");
        let series = prepare(session, format!("SELECT {columns} FROM {table} WHERE {keyed}")).await?;
        let tokens = prepare(
            session,
            format!("SELECT {columns} FROM {table} WHERE token({key}) >= ? AND token({key}) <= ?"),
        )
        .await?;
        Ok(Reads { table, series, tokens })
    }
}

/// Reads the warehouse's bars, indicator values and corporate actions.
pub struct WarehouseReader {
    session: Arc<Session>,
    bars: Reads,
    actions: Reads,
    indicators: Vec<(IndicatorKind, Reads)>,
}

impl WarehouseReader {
    /// Prepares the reads against the tables of `keyspace`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self> {
        let bars = Reads::prepare(
            &session,
            format!("{keyspace}.time_series_history"),
            "ticker, timeframe, datetime, open, high, low, close, volume, task_number, source",
            "ticker, timeframe",
        )
        .await?;
        let actions = Reads::prepare(
            &session,
            format!("{keyspace}.corporate_actions"),
            "ticker, ex_date, kind, ratio, amount",
            "ticker",
        )
        .await?;
        let mut indicators = Vec::new();
        for &kind in IndicatorKind::ALL {
            let values = super::indicators::value_columns(kind).map(|(name, _)| name).collect::<Vec<_>>();
            let columns = format!("ticker, timeframe, datetime, {}", values.join(", "));
            let table = format!("{keyspace}.{}", kind.as_str());
            indicators.push((kind, Reads::prepare(&session, table, &columns, "ticker, timeframe").await?));
        }
        Ok(WarehouseReader { session, bars, actions, indicators })
    }

    /// The bars of one series as delivered, in date order.
    pub async fn bars(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<Bar>> {
        let rows = read_all(&self.session, &self.bars.series, (ticker, timeframe.as_str()), &self.bars.table)
            .await?;
        self.to_bars(rows)
    }

    /// The bars of the series whose token is in `tokens`, series after series.
    pub async fn bars_in(&self, tokens: (i64, i64)) -> Result<Vec<Bar>> {
        let rows = read_all(&self.session, &self.bars.tokens, tokens, &self.bars.table).await?;
        self.to_bars(rows)
    }

    /// The corporate actions of `ticker`, in ex-date order.
    pub async fn actions(&self, ticker: &str) -> Result<Vec<CorporateAction>> {
        let rows = read_all(&self.session, &self.actions.series, (ticker,), &self.actions.table).await?;
        self.to_actions(rows)
    }

    /// The corporate actions of the tickers whose token is in `tokens`.
    pub async fn actions_in(&self, tokens: (i64, i64)) -> Result<Vec<CorporateAction>> {
        let rows = read_all(&self.session, &self.actions.tokens, tokens, &self.actions.table).await?;
        self.to_actions(rows)
    }

    /// Every indicator value of one series, by date and then in the order of
    /// [`IndicatorKind::ALL`].
    pub async fn indicators(&self, ticker: &str, timeframe: Timeframe) -> Result<Vec<StoredIndicator>> {
        self.indicator_rows(|reads| &reads.series, (ticker, timeframe.as_str())).await
    }

    /// Every indicator value of the series whose token is in `tokens`, by series, date and kind.
    pub async fn indicators_in(&self, tokens: (i64, i64)) -> Result<Vec<StoredIndicator>> {
        self.indicator_rows(|reads| &reads.tokens, tokens).await
    }

    /// The rows of the seven tables for one of their reads (`statement`), sorted.
    async fn indicator_rows(
        &self,
        statement: impl Fn(&Reads) -> &PreparedStatement,
        values: impl SerializeRow + Copy,
    ) -> Result<Vec<StoredIndicator>> {
        let mut out = Vec::new();
        for (kind, reads) in &self.indicators {
            let rows: Vec<Row> = read_all(&self.session, statement(reads), values, &reads.table).await?;
            for row in rows {
                out.push(indicator(*kind, row, &reads.table)?);
            }
        }
        out.sort_by(|a, b| {
            (&a.ticker, a.timeframe, a.date, a.kind).cmp(&(&b.ticker, b.timeframe, b.date, b.kind))
        });
        Ok(out)
    }

    fn to_bars(&self, rows: Vec<BarRow>) -> Result<Vec<Bar>> {
        rows.into_iter()
            .map(|(ticker, timeframe, datetime, open, high, low, close, volume, task_number, source)| {
                let timeframe =
                    timeframe.parse().map_err(|e| decode(&self.bars.table, format!("{ticker}: {e}")))?;
                let row = (datetime, open, high, low, close, volume, task_number, source);
                Ok(super::bars::stored_bar(&ticker, timeframe, row))
            })
            .collect()
    }

    fn to_actions(&self, rows: Vec<ActionRow>) -> Result<Vec<CorporateAction>> {
        rows.into_iter()
            .map(|(ticker, ex_date, kind, ratio, amount)| {
                let kind = ActionKind::from_columns(&kind, ratio, amount).ok_or_else(|| {
                    decode(
                        &self.actions.table,
                        format!("{ticker} {ex_date}: kind `{kind}` without its number"),
                    )
                })?;
                Ok(CorporateAction { ticker: ticker.as_str().into(), ex_date, kind, withdrawn: false })
            })
            .collect()
    }
}

fn decode(table: &str, message: String) -> CassandraError {
    CassandraError::Decode { table: table.to_owned(), message }
}

/// An indicator table's row (key, then periods, then numbers) as a [`StoredIndicator`].
fn indicator(kind: IndicatorKind, row: Row, table: &str) -> Result<StoredIndicator> {
    let mut cells = row.columns.into_iter();
    let (ticker, timeframe, date) =
        match (cells.next().flatten(), cells.next().flatten(), cells.next().flatten()) {
            (
                Some(CqlValue::Text(ticker)),
                Some(CqlValue::Text(timeframe)),
                Some(CqlValue::Timestamp(time)),
            ) => {
                let timeframe = timeframe.parse().map_err(|e| decode(table, format!("{ticker}: {e}")))?;
                let date = DateTime::<Utc>::from_timestamp_millis(time.0)
                    .ok_or_else(|| decode(table, format!("{ticker}: datetime {} is out of range", time.0)))?
                    .date_naive();
                (ticker, timeframe, date)
            }
            other => return Err(decode(table, format!("a row without its key: {other:?}"))),
        };
    let mut periods = Vec::with_capacity(kind.period_names().len());
    for name in kind.period_names() {
        periods.push(match cells.next().flatten() {
            None => None,
            Some(CqlValue::Int(period)) => Some(period),
            Some(other) => return Err(decode(table, format!("{ticker} {date}: {name} is {other:?}"))),
        });
    }
    let mut numbers = Vec::with_capacity(kind.number_names().len());
    for name in kind.number_names() {
        numbers.push(match cells.next().flatten() {
            None => None,
            Some(CqlValue::Double(number)) => Some(number),
            Some(other) => return Err(decode(table, format!("{ticker} {date}: {name} is {other:?}"))),
        });
    }
    Ok(StoredIndicator { ticker, timeframe, date, kind, periods, numbers })
}
