//! `features_history`: every version of every mart row, with the time pricestream knew it.
//!
//! A version is written whole (every value of the row, nothing cleared: a new row leaves no
//! tombstones) or, for a row that went away, as its key with `deleted = true`. It is keyed
//! `((ticker, timeframe, year), dateTime, known_from)`: one partition per series and calendar
//! year of the bar, so a ticker's 20 years are 20 partitions; a version's `known_from` is
//! valid until the next version's of the same row.

use super::CassandraError;
use super::batch::{BatchLimits, group_by_partition, write_partitions};
use super::cells::{Bound, Cell};
use super::mart_row::{self, Replaces};
use super::statements::{insert_cql, newest_version_cql, prepare};
use crate::Result;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use pricestream_records::{FeatureRow, Timeframe};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, MaybeUnset, Row};
use std::sync::Arc;

/// The columns after the mart's, in bind order.
const VERSION_COLUMNS: [(&str, &str); 3] =
    [("year", "int"), ("known_from", "timestamp"), ("deleted", "boolean")];

/// The `CREATE TABLE` of `keyspace.features_history`.
pub(crate) fn features_history_table(keyspace: &str) -> String {
    let columns: Vec<String> = mart_row::columns()
        .into_iter()
        .map(|(name, typ)| (name, typ.to_owned()))
        .chain(VERSION_COLUMNS.iter().map(|(name, typ)| (name.to_string(), typ.to_string())))
        .map(|(name, typ)| format!("    {name} {typ},"))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {keyspace}.features_history (\n{}\n    \
         PRIMARY KEY ((ticker, timeframe, year), dateTime, known_from)\n) \
         WITH CLUSTERING ORDER BY (dateTime ASC, known_from ASC)",
        columns.join("\n")
    )
}

fn column_list() -> String {
    let versions = VERSION_COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
    format!("{}, {versions}", mart_row::column_list())
}

/// One version of a mart row: the row as it became, or the key of a row that went away.
#[derive(Clone, Debug, PartialEq)]
pub enum FeatureVersion<'a> {
    /// The row, new or changed.
    Row(&'a FeatureRow),
    /// The row of this key went away.
    Deleted {
        /// Its ticker.
        ticker: &'a str,
        /// Its timeframe.
        timeframe: Timeframe,
        /// Its bar's date.
        date: NaiveDate,
    },
}

impl FeatureVersion<'_> {
    /// The row's key.
    pub fn key(&self) -> (&str, Timeframe, NaiveDate) {
        match self {
            FeatureVersion::Row(row) => (&row.ticker, row.timeframe, row.date_time),
            FeatureVersion::Deleted { ticker, timeframe, date } => (ticker, *timeframe, *date),
        }
    }

    /// Whether `stored` is this version's content (any `known_from`).
    pub fn is(&self, stored: &StoredFeatureVersion) -> bool {
        match (self, &stored.row) {
            (FeatureVersion::Row(row), Some(stored)) => *row == stored,
            (FeatureVersion::Deleted { .. }, None) => true,
            _ => false,
        }
    }
}

/// A version as stored, of a mart row or a forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredVersion<R> {
    /// The ticker, timeframe and date of the row (a forecast's as-of date).
    pub key: (String, Timeframe, NaiveDate),
    /// When pricestream knew it.
    pub known_from: DateTime<Utc>,
    /// The row; `None` when the row went away.
    pub row: Option<R>,
}

/// A version of a mart row as stored.
pub type StoredFeatureVersion = StoredVersion<FeatureRow>;

/// A history partition: a series and a calendar year (shown as `NVDA/1day/2014`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct YearKey<'a> {
    ticker: &'a str,
    timeframe: Timeframe,
    year: i32,
}

impl std::fmt::Display for YearKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.ticker, self.timeframe, self.year)
    }
}

/// Reads and writes `features_history`.
pub struct FeatureHistoryTable {
    session: Arc<Session>,
    insert: PreparedStatement,
    newest: PreparedStatement,
    year: PreparedStatement,
    range: PreparedStatement,
    partitions: PreparedStatement,
    table: String,
    limits: BatchLimits,
}

impl FeatureHistoryTable {
    /// Prepares the statements against `keyspace.features_history`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, max_in_flight: usize) -> Result<Self> {
        let table = format!("{keyspace}.features_history");
        let columns = column_list();
        let insert = prepare(&session, insert_cql(&table, &columns)).await?;
        let newest = prepare(&session, newest_version_cql(&table, &columns, "dateTime")).await?;
        let year = prepare(
            &session,
            format!("SELECT {columns} FROM {table} WHERE ticker = ? AND timeframe = ? AND year = ?"),
        )
        .await?;
        let range = prepare(
            &session,
            format!(
                "SELECT {columns} FROM {table} \
                 WHERE token(ticker, timeframe, year) >= ? AND token(ticker, timeframe, year) <= ?"
            ),
        )
        .await?;
        let partitions =
            prepare(&session, format!("SELECT DISTINCT ticker, timeframe, year FROM {table}")).await?;
        // Versions per batch: the mart's rows per batch.
        let limits = BatchLimits { rows: super::features::BATCH_ROWS, in_flight: max_in_flight.max(1) };
        Ok(FeatureHistoryTable { session, insert, newest, year, range, partitions, table, limits })
    }

    /// Writes `versions`, each known from `known_from`; returns how many. Writing a version
    /// again (same key and `known_from`) leaves the table as it was.
    pub async fn write(&self, versions: &[FeatureVersion<'_>], known_from: DateTime<Utc>) -> Result<usize> {
        let partitions = group_by_partition(versions.iter().map(|version| {
            let (ticker, timeframe, date) = version.key();
            (YearKey { ticker, timeframe, year: date.year() }, bind(version, known_from))
        }));
        write_partitions(&self.session, &self.insert, &self.table, partitions, self.limits).await
    }

    /// The newest stored version of each key of `versions`, where there is one, in their order.
    pub async fn newest(&self, versions: &[FeatureVersion<'_>]) -> Result<Vec<Option<StoredFeatureVersion>>> {
        stream::iter(versions.iter().map(FeatureVersion::key))
            .map(|(ticker, timeframe, date)| async move {
                let values = (ticker, timeframe.as_str(), date.year(), date);
                let result = self
                    .session
                    .execute_unpaged(&self.newest, values)
                    .await
                    .map_err(|e| self.read_error(e))?;
                let rows = result.into_rows_result().map_err(|e| self.decode_error(e))?;
                let row: Option<Row> = rows.maybe_first_row().map_err(|e| self.decode_error(e))?;
                row.map(|row| self.decode(row)).transpose()
            })
            .buffered(self.limits.in_flight)
            .try_collect()
            .await
    }

    /// Every version of the series' rows dated in `year`, by date and then `known_from`.
    pub async fn read_year(
        &self,
        ticker: &str,
        timeframe: Timeframe,
        year: i32,
    ) -> Result<Vec<StoredFeatureVersion>> {
        self.all(&self.year, (ticker, timeframe.as_str(), year)).await
    }

    /// Every version in the partitions whose token is in `tokens` (see [`crate::token_ranges`]):
    /// partition after partition, each by date and then `known_from`.
    pub async fn read_tokens(&self, tokens: (i64, i64)) -> Result<Vec<StoredFeatureVersion>> {
        self.all(&self.range, tokens).await
    }

    /// Every (ticker, timeframe, year) the history has versions in.
    pub async fn partitions(&self) -> Result<Vec<(String, Timeframe, i32)>> {
        super::requests::year_partitions(&self.session, &self.partitions, &self.table).await
    }

    /// The versions `statement` returns for `values`, read page by page.
    async fn all(
        &self,
        statement: &PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Vec<StoredFeatureVersion>> {
        let rows: Vec<Row> = super::requests::read_all(&self.session, statement, values, &self.table).await?;
        rows.into_iter().map(|row| self.decode(row)).collect()
    }

    /// A stored version from its columns ([`column_list`]).
    fn decode(&self, mut row: Row) -> Result<StoredFeatureVersion> {
        let mut versions = row.columns.split_off(row.columns.len().saturating_sub(VERSION_COLUMNS.len()));
        let deleted = match versions.pop().flatten() {
            Some(CqlValue::Boolean(deleted)) => deleted,
            other => {
                return Err(self.decode_error(format!("column deleted: expected a boolean, got {other:?}")));
            }
        };
        let known_from = match versions.pop().flatten() {
            Some(CqlValue::Timestamp(time)) => DateTime::<Utc>::from_timestamp_millis(time.0)
                .ok_or_else(|| self.decode_error(format!("column known_from: {} is out of range", time.0)))?,
            other => {
                return Err(
                    self.decode_error(format!("column known_from: expected a timestamp, got {other:?}"))
                );
            }
        };
        let key = |columns: &[Option<CqlValue>]| -> Option<(String, Timeframe, NaiveDate)> {
            match columns {
                [
                    Some(CqlValue::Text(ticker)),
                    Some(CqlValue::Text(timeframe)),
                    Some(CqlValue::Date(date)),
                    ..,
                ] => Some((
                    ticker.clone(),
                    timeframe.parse().ok()?,
                    TryInto::<NaiveDate>::try_into(*date).ok()?,
                )),
                _ => None,
            }
        };
        let key = key(&row.columns).ok_or_else(|| self.decode_error("a version without its key"))?;
        let row = match deleted {
            true => None,
            false => Some(mart_row::read(row).map_err(|e| self.decode_error(e))?),
        };
        Ok(StoredFeatureVersion { key, known_from, row })
    }

    fn read_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Read { table: self.table.clone(), message: message.to_string() }
    }

    fn decode_error(&self, message: impl ToString) -> CassandraError {
        CassandraError::Decode { table: self.table.clone(), message: message.to_string() }
    }
}

/// The bound values of `version`'s insert: every value of a row (a missing one not written),
/// or only the key of a deleted row.
fn bind<'a>(version: &FeatureVersion<'a>, known_from: DateTime<Utc>) -> Vec<Bound<'a>> {
    let (_, _, date) = version.key();
    let mut values = match version {
        FeatureVersion::Row(row) => mart_row::bind(row, &Replaces::Nothing),
        FeatureVersion::Deleted { ticker, timeframe, date } => {
            let unset = |typ: &str| match typ {
                "int" => Bound::Int(MaybeUnset::Unset),
                "bigint" => Bound::BigInt(MaybeUnset::Unset),
                _ => Bound::Double(MaybeUnset::Unset),
            };
            let mut values = vec![Bound::Text(ticker), Bound::Text(timeframe.as_str()), Bound::Date(*date)];
            values.extend(mart_row::columns().iter().skip(3).map(|(_, typ)| unset(typ)));
            values
        }
    };
    let year: Cell<i32> = MaybeUnset::Set(Some(date.year()));
    values.push(Bound::Int(year));
    values.push(Bound::Timestamp(known_from));
    values.push(Bound::Bool(matches!(version, FeatureVersion::Deleted { .. })));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_binds_every_mart_column_then_its_year_time_and_deletion() {
        let row = FeatureRow {
            ticker: "NVDA".into(),
            date_time: NaiveDate::from_ymd_opt(2014, 3, 4).unwrap_or_default(),
            close: 1.5,
            ..FeatureRow::default()
        };
        let known_from = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000).unwrap_or_default();
        let columns = column_list().split(", ").count();
        let deleted =
            FeatureVersion::Deleted { ticker: "NVDA", timeframe: Timeframe::Day, date: row.date_time };
        for version in [FeatureVersion::Row(&row), deleted] {
            let values = bind(&version, known_from);
            assert_eq!(values.len(), columns);
            let tail: Vec<String> = values[columns - 3..].iter().map(|v| format!("{v:?}")).collect();
            let flag = matches!(version, FeatureVersion::Deleted { .. });
            assert_eq!(
                tail,
                [
                    format!("{:?}", Bound::Int(MaybeUnset::Set(Some(2014)))),
                    format!("{:?}", Bound::Timestamp(known_from)),
                    format!("Bool({flag})")
                ]
            );
        }
        assert!(
            features_history_table("mart")
                .contains("PRIMARY KEY ((ticker, timeframe, year), dateTime, known_from)")
        );
    }
}
