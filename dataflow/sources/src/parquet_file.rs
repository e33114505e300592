//! Reads bars from a Parquet file through the crate's row API (no Arrow), one bar per row.

use super::SourceError;
use super::rejection::{LineError, Reason, Refusal};
use super::validate::{
    FileBars, check_price, check_volume, parse_date, parse_price, parse_ticker, parse_volume, whole,
};
use chrono::{DateTime, NaiveDate};
use parquet::basic::{LogicalType, TimeUnit};
use parquet::data_type::Decimal;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use parquet::schema::types::Type;
use pricestream_records::Bar;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The rows of one Parquet file, each cut down to the columns a reader asked for; see
/// [`open_parquet`].
pub(crate) struct ParquetRecords {
    rows: RowIter<'static>,
    path: PathBuf,
    /// For each wanted column, its position in a projected row.
    slots: Vec<usize>,
    /// For each wanted column, whether it holds nanosecond timestamps (as plain int64).
    nanos: Vec<bool>,
    row: u64,
    done: bool,
}

/// The cells of one row, in the order of the columns asked for.
pub(crate) struct Cells<'a> {
    fields: Vec<&'a Field>,
    records: &'a ParquetRecords,
}

impl Cells<'_> {
    /// The cell of wanted column `slot` (null when absent).
    pub(crate) fn get(&self, slot: usize) -> &Field {
        self.records.slots.get(slot).and_then(|&i| self.fields.get(i).copied()).unwrap_or(&Field::Null)
    }

    /// Whether wanted column `slot` holds nanosecond timestamps.
    pub(crate) fn is_nanos(&self, slot: usize) -> bool {
        self.records.nanos.get(slot).copied().unwrap_or(false)
    }
}

/// Opens a Parquet file and finds `columns` (field, column name) among its top-level columns,
/// ignoring case and surrounding blanks.
pub(crate) fn open_parquet(
    file: File,
    path: &Path,
    columns: &[(&'static str, &str)],
) -> Result<ParquetRecords, SourceError> {
    let parquet = |source| SourceError::Parquet { path: path.to_owned(), source };
    let reader = SerializedFileReader::new(file).map_err(parquet)?;
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let header = fields.iter().map(|f| f.name()).collect::<Vec<_>>().join(",");
    let mut wanted: Vec<usize> = Vec::new();
    for &(field, column) in columns {
        let found = fields.iter().position(|f| f.name().trim().eq_ignore_ascii_case(column.trim()));
        wanted.push(found.ok_or_else(|| SourceError::MissingColumn {
            path: path.to_owned(),
            field,
            column: column.to_owned(),
            header: header.clone(),
        })?);
    }
    let mut projected = wanted.clone();
    projected.sort_unstable();
    projected.dedup();
    let slots = wanted.iter().filter_map(|i| projected.binary_search(i).ok()).collect();
    let nanos = wanted.iter().map(|&i| fields.get(i).is_some_and(|f| is_nanos(f))).collect();
    let projection = Type::group_type_builder(schema.name())
        .with_fields(projected.iter().filter_map(|&i| fields.get(i).map(Arc::clone)).collect())
        .build()
        .map_err(parquet)?;
    let rows = RowIter::from_file_into(Box::new(reader)).project(Some(projection)).map_err(parquet)?;
    Ok(ParquetRecords { rows, path: path.to_owned(), slots, nanos, row: 0, done: false })
}

/// Rows of one Parquet file as bars; see [`read_parquet`].
pub(crate) struct ParquetRows {
    records: ParquetRecords,
    bars: FileBars,
}

/// Opens a Parquet file and finds the mapped columns among its top-level columns.
pub(crate) fn read_parquet(file: File, bars: FileBars) -> Result<ParquetRows, SourceError> {
    let records = open_parquet(file, &bars.path, &bars.mapping.columns())?;
    Ok(ParquetRows { records, bars })
}

fn is_nanos(field: &Type) -> bool {
    matches!(
        field.get_basic_info().logical_type_ref(),
        Some(LogicalType::Timestamp(t)) if matches!(t.unit, TimeUnit::NANOS)
    )
}

impl ParquetRecords {
    /// The next row turned into an item by `parse` (given the row's number and cells), or the
    /// [`LineError`] refusing it; nothing after a row that cannot be read.
    pub(crate) fn next_parsed<T>(
        &mut self,
        parse: impl FnOnce(u64, &Cells<'_>) -> Result<T, Refusal>,
    ) -> Option<Result<T, LineError>> {
        if self.done {
            return None;
        }
        self.row += 1;
        // The row API panics on some corrupt files and unsupported types; a bad file must
        // not take the extractor down, so a panic ends this file like a read error.
        let next = match catch_unwind(AssertUnwindSafe(|| self.rows.next())) {
            Ok(next) => next,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("the Parquet reader panicked");
                Some(Err(parquet::errors::ParquetError::General(what.to_owned())))
            }
        };
        let (file, number) = (self.path.clone(), self.row);
        let refuse = |refusal, raw: &str| LineError::new(file.clone(), number, refusal, raw.as_bytes());
        match next? {
            Ok(row) => {
                let cells =
                    Cells { fields: row.get_column_iter().map(|(_, field)| field).collect(), records: self };
                Some(parse(number, &cells).map_err(|refusal| refuse(refusal, &render(&row))))
            }
            Err(error) => {
                self.done = true;
                let message = format!("cannot read the file past row {}: {error}", self.row - 1);
                Some(Err(refuse(Refusal::new(Reason::ReadError, message), "")))
            }
        }
    }
}

impl Iterator for ParquetRows {
    type Item = Result<Bar, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bars = &mut self.bars;
        self.records.next_parsed(|row, cells| parse_bar(bars, row, cells))
    }
}

fn parse_bar(bars: &mut FileBars, row: u64, cells: &Cells<'_>) -> Result<Bar, Refusal> {
    let ticker = bars.ticker(|column| match cells.get(6) {
        Field::Str(text) => parse_ticker(column, text),
        other => Err(wrong_type(column, "a string", other)),
    })?;
    let m = &bars.mapping;
    let datetime = date(&m.date, cells.get(0), &m.date_format, cells.is_nanos(0))?;
    let prices = bars.prices(|column, slot| price(column, cells.get(slot)))?;
    let volume = volume(&m.volume, cells.get(5))?;
    bars.bar(ticker, datetime, prices, volume, (row, "row"))
}

/// A cell as the text a CSV file would hold: strings as they are, numbers in their shortest
/// form (read back as the same double), dates as `YYYY-MM-DD`, null as empty.
pub(crate) fn cell_text(field: &Field, nanos: bool) -> String {
    match field {
        Field::Null => String::new(),
        Field::Str(text) => text.clone(),
        Field::Date(_) | Field::TimestampMillis(_) | Field::TimestampMicros(_) => {
            date("", field, "%Y-%m-%d", false).map_or_else(|_| show(field), |day| day.to_string())
        }
        Field::Long(ns) if nanos => DateTime::from_timestamp_nanos(*ns).date_naive().to_string(),
        other => number(other).map_or_else(|| show(other), |value| value.to_string()),
    }
}

fn wrong_type(column: &str, expected: &str, got: &Field) -> Refusal {
    if matches!(got, Field::Null) {
        return Refusal::new(Reason::MissingValue, format!("{column} is missing (null)"));
    }
    Refusal::new(Reason::BadNumber, format!("{column} must be {expected}, got `{}`", show(got)))
}

/// A row as `{name: value, …}`. The row API's own `Display` panics on out-of-range dates.
fn render(row: &Row) -> String {
    let cells: Vec<String> =
        row.get_column_iter().map(|(name, field)| format!("{name}: {}", show(field))).collect();
    format!("{{{}}}", cells.join(", "))
}

/// One value as text, without panicking on any value.
fn show(field: &Field) -> String {
    let day =
        |days: &i32| days.checked_add(UNIX_EPOCH_DAYS_FROM_CE).and_then(NaiveDate::from_num_days_from_ce_opt);
    match field {
        Field::Null => "null".into(),
        Field::Str(text) => format!("{text:?}"),
        Field::Date(days) => day(days).map_or_else(|| format!("Date({days})"), |d| d.to_string()),
        Field::TimestampMillis(ms) => DateTime::from_timestamp_millis(*ms)
            .map_or_else(|| format!("TimestampMillis({ms})"), |t| t.to_string()),
        Field::TimestampMicros(us) => DateTime::from_timestamp_micros(*us)
            .map_or_else(|| format!("TimestampMicros({us})"), |t| t.to_string()),
        other => match number(other) {
            Some(value) => value.to_string(),
            None => format!("{other:?}"),
        },
    }
}

fn date(column: &str, field: &Field, format: &str, nanos: bool) -> Result<NaiveDate, Refusal> {
    let bad = || Refusal::new(Reason::BadDate, format!("{column} `{}` is not a date", show(field)));
    match field {
        Field::Str(text) => parse_date(column, text, format),
        Field::Date(days) => days
            .checked_add(UNIX_EPOCH_DAYS_FROM_CE)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(bad),
        Field::TimestampMillis(ms) => {
            DateTime::from_timestamp_millis(*ms).map(|t| t.date_naive()).ok_or_else(bad)
        }
        Field::TimestampMicros(us) => {
            DateTime::from_timestamp_micros(*us).map(|t| t.date_naive()).ok_or_else(bad)
        }
        Field::Long(ns) if nanos => Ok(DateTime::from_timestamp_nanos(*ns).date_naive()),
        Field::Null => Err(wrong_type(column, "a date", field)),
        _ => Err(bad()),
    }
}

fn number(field: &Field) -> Option<f64> {
    Some(match field {
        Field::Byte(v) => f64::from(*v),
        Field::Short(v) => f64::from(*v),
        Field::Int(v) => f64::from(*v),
        Field::Long(v) => *v as f64,
        Field::UByte(v) => f64::from(*v),
        Field::UShort(v) => f64::from(*v),
        Field::UInt(v) => f64::from(*v),
        Field::ULong(v) => *v as f64,
        Field::Float16(v) => f64::from(*v),
        Field::Float(v) => f64::from(*v),
        Field::Double(v) => *v,
        Field::Decimal(d) => decimal(d)?,
        _ => return None,
    })
}

fn decimal(d: &Decimal) -> Option<f64> {
    let bytes = d.data();
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut wide = [fill; 16];
    wide[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(wide) as f64 / 10f64.powi(d.scale()))
}

fn price(column: &str, field: &Field) -> Result<f64, Refusal> {
    match field {
        Field::Str(text) => parse_price(column, text),
        other => match number(other) {
            Some(value) => check_price(column, value),
            None => Err(wrong_type(column, "a number", other)),
        },
    }
}

fn volume(column: &str, field: &Field) -> Result<i64, Refusal> {
    match field {
        Field::Str(text) => parse_volume(column, text),
        Field::Long(v) => check_volume(column, *v),
        Field::ULong(v) => {
            let v = i64::try_from(*v)
                .map_err(|_| Refusal::new(Reason::BadNumber, format!("{column} {v} is too large")))?;
            check_volume(column, v)
        }
        other => match number(other) {
            Some(value) => match whole(value) {
                Some(v) => check_volume(column, v),
                None => {
                    Err(Refusal::new(Reason::BadNumber, format!("{column} `{value}` is not a whole number")))
                }
            },
            None => Err(wrong_type(column, "a whole number", other)),
        },
    }
}
