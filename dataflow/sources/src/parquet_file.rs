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
use std::sync::Arc;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Rows of one Parquet file as bars; see [`read_parquet`].
pub(crate) struct ParquetRows {
    rows: RowIter<'static>,
    bars: FileBars,
    /// For each mapped field (date, open, high, low, close, volume, ticker), its position in a projected row.
    slots: Vec<usize>,
    date_is_nanos: bool,
    row: u64,
    done: bool,
}

/// Opens a Parquet file and finds the mapped columns among its top-level columns.
pub(crate) fn read_parquet(file: File, bars: FileBars) -> Result<ParquetRows, SourceError> {
    let (path, mapping) = (bars.path.as_path(), &bars.mapping);
    let parquet = |source| SourceError::Parquet { path: path.to_owned(), source };
    let reader = SerializedFileReader::new(file).map_err(parquet)?;
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let header = fields.iter().map(|f| f.name()).collect::<Vec<_>>().join(",");
    let mut wanted: Vec<usize> = Vec::new();
    for (field, column) in mapping.columns() {
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
    let date_is_nanos = wanted.first().and_then(|&i| fields.get(i)).is_some_and(|f| is_nanos(f));
    let projection = Type::group_type_builder(schema.name())
        .with_fields(projected.iter().filter_map(|&i| fields.get(i).map(Arc::clone)).collect())
        .build()
        .map_err(parquet)?;
    let rows = RowIter::from_file_into(Box::new(reader)).project(Some(projection)).map_err(parquet)?;
    Ok(ParquetRows { rows, bars, slots, date_is_nanos, row: 0, done: false })
}

fn is_nanos(field: &Type) -> bool {
    matches!(
        field.get_basic_info().logical_type_ref(),
        Some(LogicalType::Timestamp(t)) if matches!(t.unit, TimeUnit::NANOS)
    )
}

impl Iterator for ParquetRows {
    type Item = Result<Bar, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
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
        let (file, number) = (self.bars.path.clone(), self.row);
        let refuse = |refusal, raw: &str| LineError::new(file.clone(), number, refusal, raw.as_bytes());
        match next? {
            Ok(row) => Some(self.parse_row(&row).map_err(|refusal| refuse(refusal, &render(&row)))),
            Err(error) => {
                self.done = true;
                let message = format!("cannot read the file past row {}: {error}", self.row - 1);
                Some(Err(refuse(Refusal::new(Reason::ReadError, message), "")))
            }
        }
    }
}

impl ParquetRows {
    fn parse_row(&mut self, row: &Row) -> Result<Bar, Refusal> {
        let cells: Vec<&Field> = row.get_column_iter().map(|(_, field)| field).collect();
        let cell =
            |slot: usize| self.slots.get(slot).and_then(|&i| cells.get(i).copied()).unwrap_or(&Field::Null);
        let ticker = self.bars.ticker(|column| match cell(6) {
            Field::Str(text) => parse_ticker(column, text),
            other => Err(wrong_type(column, "a string", other)),
        })?;
        let m = &self.bars.mapping;
        let datetime = date(&m.date, cell(0), &m.date_format, self.date_is_nanos)?;
        let prices = self.bars.prices(|column, slot| price(column, cell(slot)))?;
        let volume = volume(&m.volume, cell(5))?;
        self.bars.bar(ticker, datetime, prices, volume, (self.row, "row"))
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
