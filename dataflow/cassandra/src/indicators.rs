use super::CassandraError;
use super::batch::{BatchLimits, SeriesKey, group_by_partition, write_partitions};
use super::cells::{Bound, set};
use super::statements::{insert_cql, prepare};
use crate::Result;
use chrono::NaiveTime;
use pricestream_records::{IndicatorKind, IndicatorRecord, IndicatorRow, IndicatorValue};
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use std::collections::HashMap;
use std::sync::Arc;

/// The value columns of `kind`'s table after the shared key columns, in bind order: its periods
/// (`int`), then its numbers (`double`), under their wire names.
pub(super) fn value_columns(kind: IndicatorKind) -> impl Iterator<Item = (&'static str, &'static str)> {
    let periods = kind.period_names().iter().map(|name| (*name, "int"));
    periods.chain(kind.number_names().iter().map(|name| (*name, "double")))
}

/// The table a value is stored in: its kind's tag, the seed's table names.
pub fn table_of(value: &IndicatorValue) -> &'static str {
    value.kind().as_str()
}

/// The bound values of one row: the key columns, then the value's periods and numbers.
fn bound<'a>(row: &IndicatorRow<'a>) -> Vec<Bound<'a>> {
    let (periods, numbers) = (row.value.periods(), row.value.numbers());
    let mut values = Vec::with_capacity(4 + periods.len() + numbers.len());
    values.push(Bound::Text(row.ticker));
    values.push(Bound::Text(row.timeframe.as_str()));
    values.push(Bound::Timestamp(row.datetime.and_time(NaiveTime::MIN).and_utc()));
    values.push(Bound::Uuid(row.task_number));
    values.extend(periods.iter().map(|&period| Bound::Int(set(period))));
    values.extend(numbers.iter().map(|&number| Bound::Double(set(number))));
    values
}

/// Writes indicator values to the indicator tables, one per kind: one prepared
/// statement per table, rows of one partition in unlogged batches.
pub struct IndicatorTables {
    session: Arc<Session>,
    keyspace: String,
    inserts: HashMap<&'static str, PreparedStatement>,
    /// One partition delete per table: a series' values, all of them.
    deletes: HashMap<&'static str, PreparedStatement>,
    limits: BatchLimits,
}

impl IndicatorTables {
    /// Prepares an insert and a series delete per indicator table against `keyspace`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str, limits: BatchLimits) -> Result<Self> {
        let (mut inserts, mut deletes) = (HashMap::new(), HashMap::new());
        for &kind in IndicatorKind::ALL {
            let table = kind.as_str();
            let columns: Vec<&str> = value_columns(kind).map(|(name, _)| name).collect();
            let cql = insert_cql(
                &format!("{keyspace}.{table}"),
                &format!("ticker, timeframe, datetime, task_number, {}", columns.join(", ")),
            );
            let prepared = prepare(&session, cql).await?;
            inserts.insert(table, prepared);
            let cql = format!("DELETE FROM {keyspace}.{table} WHERE ticker = ? AND timeframe = ?");
            deletes.insert(table, prepare(&session, cql).await?);
        }
        Ok(IndicatorTables { session, keyspace: keyspace.to_owned(), inserts, deletes, limits })
    }

    /// Deletes every value of one series from the seven tables (before they are sent again,
    /// computed with other settings: a longer period leaves dates without a value).
    pub async fn delete_series(&self, ticker: &str, timeframe: &str) -> Result<()> {
        for (table, delete) in &self.deletes {
            self.session.execute_unpaged(delete, (ticker, timeframe)).await.map_err(|source| {
                CassandraError::Write {
                    table: format!("{}.{table}", self.keyspace),
                    key: format!("{ticker}/{timeframe}"),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Upserts every value into its table; returns how many were written.
    pub async fn write_all(&self, records: &[IndicatorRecord]) -> Result<usize> {
        self.write_rows(records.iter().map(IndicatorRecord::row)).await
    }

    /// Upserts indicator rows, as [`IndicatorTables::write_all`] does records.
    pub async fn write_rows<'a>(&self, rows: impl IntoIterator<Item = IndicatorRow<'a>>) -> Result<usize> {
        let mut by_table: HashMap<IndicatorKind, Vec<(SeriesKey<'a>, Vec<Bound<'a>>)>> = HashMap::new();
        for row in rows {
            let partition = SeriesKey { ticker: row.ticker, timeframe: row.timeframe };
            by_table.entry(row.value.kind()).or_default().push((partition, bound(&row)));
        }
        let mut written = 0;
        for (kind, rows) in by_table {
            written += self.write(kind.as_str(), rows).await?;
        }
        Ok(written)
    }

    async fn write<T: SerializeRow>(
        &self,
        table: &'static str,
        rows: Vec<(SeriesKey<'_>, T)>,
    ) -> Result<usize> {
        let Some(insert) = self.inserts.get(table) else { return Ok(0) };
        if rows.is_empty() {
            return Ok(0);
        }
        let name = format!("{}.{table}", self.keyspace);
        write_partitions(&self.session, insert, &name, group_by_partition(rows), self.limits).await
    }
}
