//! `features_history`: every version of every mart row, with the time pricestream knew it.
//!
//! A version is the changelog message that announced it, as one JSON cell (`row_json`), or,
//! for a row that went away, its key with `deleted = true`. One cell instead of the mart's 31
//! keeps the history's share of Cassandra's write work small: the cost of a write grows with
//! its cells. It is keyed `((ticker, timeframe, year), dateTime, known_from)`: one partition
//! per series and calendar year of the bar, so a ticker's 20 years are 20 partitions; a
//! version's `known_from` is valid until the next version's of the same row.

use super::CassandraError;
use super::batch::{BatchLimits, group_by_partition, write_partitions};
use super::cells::{Bound, Cell};
use super::statements::{insert_cql, newest_version_cql, prepare};
use crate::Result;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use pricestream_records::{FeatureChange, FeatureRow, Timeframe, wire};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, MaybeUnset, Row};
use std::sync::Arc;

/// The columns, in bind order.
const COLUMNS: [(&str, &str); 7] = [
    ("ticker", "text"),
    ("timeframe", "text"),
    ("dateTime", "date"),
    ("year", "int"),
    ("known_from", "timestamp"),
    ("row_json", "text"),
    ("deleted", "boolean"),
];

/// The `CREATE TABLE` of `keyspace.features_history`.
pub(crate) fn features_history_table(keyspace: &str) -> String {
    let columns: Vec<String> = COLUMNS.iter().map(|(name, typ)| format!("    {name} {typ},")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {keyspace}.features_history (\n{}\n    \
         PRIMARY KEY ((ticker, timeframe, year), dateTime, known_from)\n) \
         WITH CLUSTERING ORDER BY (dateTime ASC, known_from ASC)",
        columns.join("\n")
    )
}

fn column_list() -> String {
    COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
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
    fn decode(&self, row: Row) -> Result<StoredFeatureVersion> {
        let [ticker, timeframe, date, _year, known_from, row_json, deleted]: [Option<CqlValue>; 7] =
            row.columns.try_into().map_err(|columns: Vec<_>| {
                self.decode_error(format!("{} columns, expected {}", columns.len(), COLUMNS.len()))
            })?;
        let key = match (ticker, timeframe, date) {
            (Some(CqlValue::Text(ticker)), Some(CqlValue::Text(timeframe)), Some(CqlValue::Date(date))) => {
                let timeframe =
                    timeframe.parse().map_err(|e| self.decode_error(format!("timeframe: {e}")))?;
                let date = TryInto::<NaiveDate>::try_into(date)
                    .map_err(|e| self.decode_error(format!("dateTime: {e}")))?;
                (ticker, timeframe, date)
            }
            _ => return Err(self.decode_error("a version without its key")),
        };
        let known_from = match known_from {
            Some(CqlValue::Timestamp(time)) => DateTime::<Utc>::from_timestamp_millis(time.0)
                .ok_or_else(|| self.decode_error(format!("column known_from: {} is out of range", time.0)))?,
            other => {
                return Err(
                    self.decode_error(format!("column known_from: expected a timestamp, got {other:?}"))
                );
            }
        };
        let at = || format!("{}/{}/{} known from {known_from}", key.0, key.1, key.2);
        let row = match (deleted, row_json) {
            (Some(CqlValue::Boolean(true)), _) => None,
            (_, Some(CqlValue::Text(json))) => match wire::decode::<FeatureChange>(json.as_bytes()) {
                Ok(FeatureChange::Upsert(row)) => Some(*row),
                Ok(FeatureChange::Delete(_)) => {
                    return Err(self.decode_error(format!("{}: row_json holds a deletion", at())));
                }
                Err(e) => return Err(self.decode_error(format!("{}: row_json: {e}", at()))),
            },
            _ => {
                return Err(self.decode_error(format!(
                    "{}: a version with neither row_json nor deleted (a table made by a release \
                     before 8 December 2026, which stored typed columns: drop features_history \
                     and let the service create it again)",
                    at()
                )));
            }
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

/// The bound values of `version`'s insert: its key, year and time, and the changelog message
/// of a row, or `deleted` for a row that went away.
fn bind<'a>(version: &'a FeatureVersion<'_>, known_from: DateTime<Utc>) -> Vec<Bound<'a>> {
    let (ticker, timeframe, date) = version.key();
    let year: Cell<i32> = MaybeUnset::Set(Some(date.year()));
    let json = match version {
        FeatureVersion::Row(row) => {
            let message = wire::encode(&FeatureChange::Upsert(Box::new((*row).clone())));
            // JSON is UTF-8.
            Some(String::from_utf8(message).unwrap_or_default())
        }
        FeatureVersion::Deleted { .. } => None,
    };
    vec![
        Bound::Text(ticker),
        Bound::Text(timeframe.as_str()),
        Bound::Date(date),
        Bound::Int(year),
        Bound::Timestamp(known_from),
        Bound::OwnedText(json),
        Bound::Bool(matches!(version, FeatureVersion::Deleted { .. })),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_binds_its_key_year_time_and_changelog_message_or_deletion() {
        let row = FeatureRow {
            ticker: "NVDA".into(),
            date_time: NaiveDate::from_ymd_opt(2014, 3, 4).unwrap_or_default(),
            close: 1.5,
            ..FeatureRow::default()
        };
        let known_from = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000).unwrap_or_default();
        let deleted =
            FeatureVersion::Deleted { ticker: "NVDA", timeframe: Timeframe::Day, date: row.date_time };
        for version in [FeatureVersion::Row(&row), deleted] {
            let values = bind(&version, known_from);
            assert_eq!(values.len(), COLUMNS.len());
            let shown: Vec<String> = values[3..5].iter().map(|v| format!("{v:?}")).collect();
            assert_eq!(
                shown,
                [
                    format!("{:?}", Bound::Int(MaybeUnset::Set(Some(2014)))),
                    format!("{:?}", Bound::Timestamp(known_from))
                ]
            );
            match (&version, &values[5], &values[6]) {
                (FeatureVersion::Row(row), Bound::OwnedText(Some(json)), Bound::Bool(false)) => {
                    let change: FeatureChange = wire::decode(json.as_bytes()).expect("a changelog message");
                    assert_eq!(change, FeatureChange::Upsert(Box::new((*row).clone())));
                }
                (FeatureVersion::Deleted { .. }, Bound::OwnedText(None), Bound::Bool(true)) => {}
                other => panic!("unexpected binding {other:?}"),
            }
        }
        assert!(
            features_history_table("mart")
                .contains("PRIMARY KEY ((ticker, timeframe, year), dateTime, known_from)")
        );
    }
}
