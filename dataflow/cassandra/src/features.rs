use super::CassandraError;
use super::batch::{group_by_partition, write_partitions};
use super::statements::{insert_cql, prepare};
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt, stream};
use pricestream_records::{FeatureRow, Timeframe};
use scylla::SerializeRow;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use std::sync::Arc;

/// Writes feature rows to the mart's `features` table.
pub struct FeatureTable {
    session: Arc<Session>,
    upsert: PreparedStatement,
    delete: PreparedStatement,
    table: String,
    max_in_flight: usize,
}

/// What an upserted row replaces in the table, so that a missing value is written as null only
/// where a value goes away. Every null written is a tombstone that reads of the partition step
/// over until compaction: rewriting the early rows of a series (indicators still in their
/// lookback) with nulls a few times made a full read of the mart fail with
/// `READ_TOO_MANY_TOMBSTONES`.
#[derive(Clone, Debug, PartialEq)]
pub enum Replaces {
    /// No row: the key is new, or its row was deleted. Missing values are not written.
    Nothing,
    /// This version of the row: a missing value is written as null where it had a value.
    Row(Box<FeatureRow>),
    /// Whatever the table holds (a rewrite of the whole mart): every missing value is null.
    Unknown,
}

/// One optional cell: a value, a null (the value goes away), or nothing written.
type Cell<T> = MaybeUnset<Option<T>>;

/// The cell of a value that is `new` now and was `old` (`None`: not known, `Some(None)`: null).
fn cell<T>(new: Option<T>, old: Option<Option<&T>>) -> Cell<T> {
    match (new, old) {
        (Some(value), _) => MaybeUnset::Set(Some(value)),
        // Nothing there to clear.
        (None, Some(None)) => MaybeUnset::Unset,
        (None, _) => MaybeUnset::Set(None),
    }
}

/// The bound values of one upsert.
#[derive(SerializeRow)]
struct FeatureValues<'a> {
    ticker: &'a str,
    timeframe: &'a str,
    datetime: NaiveDate,
    id: Cell<i64>,
    ematimeperiod: Cell<i32>,
    ema: Cell<f64>,
    fastkperiod: Cell<i32>,
    slowkperiod: Cell<i32>,
    slowdperiod: Cell<i32>,
    slowd: Cell<f64>,
    slowk: Cell<f64>,
    bbtimeperiod: Cell<i32>,
    bbsd: Cell<f64>,
    lowerband: Cell<f64>,
    middleband: Cell<f64>,
    upperband: Cell<f64>,
    signalperiod: Cell<i32>,
    fastperiod: Cell<i32>,
    slowperiod: Cell<i32>,
    macd: Cell<f64>,
    macdhist: Cell<f64>,
    macdsignal: Cell<f64>,
    rsitimeperiod: Cell<i32>,
    rsi: Cell<f64>,
    smatimeperiod: Cell<i32>,
    sma: Cell<f64>,
    willrtimeperiod: Cell<i32>,
    willr: Cell<f64>,
    close: f64,
    label: Cell<f64>,
}

impl<'a> FeatureValues<'a> {
    fn new(row: &'a FeatureRow, replaces: &Replaces) -> Self {
        let old: Option<&FeatureRow> = match replaces {
            Replaces::Row(old) => Some(old),
            Replaces::Nothing | Replaces::Unknown => None,
        };
        let nothing = matches!(replaces, Replaces::Nothing);
        // The old value of a column: `Some(None)` where nothing is stored.
        macro_rules! was {
            ($field:ident) => {
                if nothing { Some(None) } else { old.map(|old| old.$field.as_ref()) }
            };
        }
        FeatureValues {
            ticker: &row.ticker,
            timeframe: row.timeframe.as_str(),
            datetime: row.date_time,
            id: cell(row.id, was!(id)),
            ematimeperiod: cell(row.ema_time_period, was!(ema_time_period)),
            ema: cell(row.ema, was!(ema)),
            fastkperiod: cell(row.fast_k_period, was!(fast_k_period)),
            slowkperiod: cell(row.slow_k_period, was!(slow_k_period)),
            slowdperiod: cell(row.slow_d_period, was!(slow_d_period)),
            slowd: cell(row.slow_d, was!(slow_d)),
            slowk: cell(row.slow_k, was!(slow_k)),
            bbtimeperiod: cell(row.bb_time_period, was!(bb_time_period)),
            bbsd: cell(row.bb_sd, was!(bb_sd)),
            lowerband: cell(row.lower_band, was!(lower_band)),
            middleband: cell(row.middle_band, was!(middle_band)),
            upperband: cell(row.upper_band, was!(upper_band)),
            signalperiod: cell(row.signal_period, was!(signal_period)),
            fastperiod: cell(row.fast_period, was!(fast_period)),
            slowperiod: cell(row.slow_period, was!(slow_period)),
            macd: cell(row.macd, was!(macd)),
            macdhist: cell(row.macd_hist, was!(macd_hist)),
            macdsignal: cell(row.macd_signal, was!(macd_signal)),
            rsitimeperiod: cell(row.rsi_time_period, was!(rsi_time_period)),
            rsi: cell(row.rsi, was!(rsi)),
            smatimeperiod: cell(row.sma_time_period, was!(sma_time_period)),
            sma: cell(row.sma, was!(sma)),
            willrtimeperiod: cell(row.willr_time_period, was!(willr_time_period)),
            willr: cell(row.willr, was!(willr)),
            close: row.close,
            label: cell(row.label, was!(label)),
        }
    }
}

/// Rows per batch: about 5 KiB, Cassandra's `batch_size_warn_threshold`.
const BATCH_ROWS: usize = 16;

const COLUMNS: &str = "ticker, timeframe, datetime, id, ematimeperiod, ema, fastkperiod, slowkperiod, \
    slowdperiod, slowd, slowk, bbtimeperiod, bbsd, lowerband, middleband, upperband, signalperiod, \
    fastperiod, slowperiod, macd, macdhist, macdsignal, rsitimeperiod, rsi, smatimeperiod, sma, \
    willrtimeperiod, willr, close, label";

impl FeatureTable {
    /// Prepares the upsert against `keyspace.features`.
    pub async fn prepare(
        session: Arc<Session>,
        keyspace: &str,
        max_in_flight: usize,
    ) -> Result<Self, CassandraError> {
        let table = format!("{keyspace}.features");
        let upsert = prepare(&session, insert_cql(&table, COLUMNS)).await?;
        let cql = format!("DELETE FROM {table} WHERE ticker = ? AND timeframe = ? AND datetime = ?");
        let delete = prepare(&session, cql).await?;
        Ok(FeatureTable { session, upsert, delete, table, max_in_flight })
    }

    /// Upserts every row, each with what it replaces: the rows of one ticker in unlogged
    /// single-partition batches (a new day's row and the label it completes, horizon_bars
    /// back, are one round trip).
    pub async fn upsert_all(&self, rows: &[(FeatureRow, Replaces)]) -> Result<usize, CassandraError> {
        let partitions = group_by_partition(rows.iter().map(|(row, replaces)| {
            (format!("{}/{}", row.ticker, row.timeframe), FeatureValues::new(row, replaces))
        }));
        write_partitions(&self.session, &self.upsert, &self.table, partitions, BATCH_ROWS, self.max_in_flight)
            .await
    }

    /// Deletes the rows of `keys` (ticker, timeframe, date): rows whose bar was retracted.
    pub async fn delete_all(&self, keys: &[(String, Timeframe, NaiveDate)]) -> Result<usize, CassandraError> {
        stream::iter(keys)
            .map(|(ticker, timeframe, date)| async move {
                self.session
                    .execute_unpaged(&self.delete, (ticker.as_str(), timeframe.as_str(), *date))
                    .await
                    .map_err(|source| CassandraError::Write {
                        table: self.table.clone(),
                        key: format!("{ticker}/{timeframe}/{date}"),
                        source,
                    })
            })
            .buffer_unordered(self.max_in_flight)
            .try_fold(0, |deleted, _| async move { Ok(deleted + 1) })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown<T: std::fmt::Debug>(cell: &Cell<T>) -> String {
        format!("{cell:?}")
    }

    #[test]
    fn a_missing_value_is_null_only_where_a_value_goes_away() {
        assert_eq!(shown(&cell(Some(1.5), None)), "Set(Some(1.5))");
        assert_eq!(shown(&cell::<f64>(None, Some(None))), "Unset", "nothing stored: nothing written");
        assert_eq!(shown(&cell(None, Some(Some(&2.0)))), "Set(None)", "a value goes away: null");
        assert_eq!(shown(&cell::<f64>(None, None)), "Set(None)", "not known: null");
        let old =
            FeatureRow { ticker: "T".into(), ema: Some(1.0), label: Some(3.0), ..FeatureRow::default() };
        let new = FeatureRow { ticker: "T".into(), ema: Some(1.5), ..FeatureRow::default() };
        let values = FeatureValues::new(&new, &Replaces::Row(Box::new(old)));
        let cells = |v: &FeatureValues<'_>| [shown(&v.ema), shown(&v.label), shown(&v.rsi)];
        assert_eq!(cells(&values), ["Set(Some(1.5))", "Set(None)", "Unset"]);
        let values = FeatureValues::new(&new, &Replaces::Nothing);
        assert_eq!(cells(&values), ["Set(Some(1.5))", "Unset", "Unset"]);
        let values = FeatureValues::new(&new, &Replaces::Unknown);
        assert_eq!(cells(&values), ["Set(Some(1.5))", "Set(None)", "Set(None)"]);
    }
}
