//! Writing a query's rows: Parquet (typed columns), CSV (a header, empty for null) or JSON
//! lines (one object per row, null for a missing value), to a file or standard output.

use super::table::{Batch, Column, Values};
use chrono::{DateTime, NaiveDate, Utc};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Apache Parquet, Snappy-compressed: dates as DATE, `knownFrom` as TIMESTAMP(MILLIS, UTC),
    /// periods as INT32, `id` as INT64, values as DOUBLE, text as STRING.
    Parquet,
    /// Comma-separated values with a header; a missing value is empty.
    Csv,
    /// JSON lines: one object per row, named as on the topic; a missing value is null.
    Json,
}

impl Format {
    /// The format a file name's extension names (`.parquet`, `.csv`, `.json`, `.jsonl`).
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "json" | "jsonl" | "ndjson" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Why the rows could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file, or `standard output`.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The Parquet encoder failed.
    #[error("cannot write Parquet to {path}: {source}")]
    Parquet {
        /// The file.
        path: String,
        /// The error.
        source: parquet::errors::ParquetError,
    },
}

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 16;

/// Where rows go.
pub struct Output {
    target: String,
    sink: Sink,
    rows: u64,
}

enum Sink {
    Parquet { file: Option<File>, writer: Option<SerializedFileWriter<File>>, pending: Batch },
    Csv { out: csv::Writer<Box<dyn Write>>, header: bool },
    Json(BufWriter<Box<dyn Write>>),
}

impl Output {
    /// Opens `path` (standard output when `None`; not for Parquet) for rows in `format`.
    pub fn open(path: Option<&PathBuf>, format: Format) -> Result<Output, OutputError> {
        let target = path.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
        let io = |source| OutputError::Io { path: target.clone(), source };
        let writer = || -> Result<Box<dyn Write>, OutputError> {
            Ok(match path {
                Some(path) => Box::new(File::create(path).map_err(io)?),
                None => Box::new(std::io::stdout().lock()),
            })
        };
        let sink = match format {
            Format::Parquet => {
                let path = path.ok_or_else(|| {
                    io(std::io::Error::other("Parquet needs a file: give --out FILE.parquet"))
                })?;
                Sink::Parquet {
                    file: Some(File::create(path).map_err(io)?),
                    writer: None,
                    pending: Batch::default(),
                }
            }
            Format::Csv => Sink::Csv { out: csv::Writer::from_writer(writer()?), header: false },
            Format::Json => Sink::Json(BufWriter::new(writer()?)),
        };
        Ok(Output { target, sink, rows: 0 })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes `batch`'s rows.
    pub fn write(&mut self, batch: Batch) -> Result<(), OutputError> {
        self.rows += batch.rows as u64;
        let target = &self.target;
        let io = |source| OutputError::Io { path: target.clone(), source };
        match &mut self.sink {
            Sink::Parquet { file, writer, pending } => {
                pending.append(batch);
                if pending.rows >= ROW_GROUP_ROWS {
                    write_row_group(target, file, writer, pending.take())?;
                }
            }
            Sink::Csv { out, header } => {
                if !*header {
                    out.write_record(batch.columns.iter().map(|c| c.name.as_str()))
                        .map_err(|e| io(e.into()))?;
                    *header = true;
                }
                for row in 0..batch.rows {
                    out.write_record(batch.columns.iter().map(|c| text(&c.values, row)))
                        .map_err(|e| io(e.into()))?;
                }
            }
            Sink::Json(out) => {
                for row in 0..batch.rows {
                    let object: serde_json::Map<String, serde_json::Value> =
                        batch.columns.iter().map(|c| (c.name.clone(), json(&c.values, row))).collect();
                    serde_json::to_writer(&mut *out, &object).map_err(|e| io(e.into()))?;
                    out.write_all(b"\n").map_err(io)?;
                }
            }
        }
        Ok(())
    }

    /// Writes what is buffered and closes the file. `empty` gives the columns of a query that
    /// found no row (a Parquet file then still has its schema).
    pub fn finish(mut self, empty: Batch) -> Result<u64, OutputError> {
        let target = self.target.clone();
        let io = |source| OutputError::Io { path: target.clone(), source };
        match &mut self.sink {
            Sink::Parquet { file, writer, pending } => {
                let last = if pending.columns.is_empty() { empty } else { pending.take() };
                if last.rows > 0 || writer.is_none() {
                    write_row_group(&target, file, writer, last)?;
                }
                if let Some(writer) = writer.take() {
                    writer.close().map_err(|source| OutputError::Parquet { path: target.clone(), source })?;
                }
            }
            Sink::Csv { out, header } => {
                if !*header {
                    out.write_record(empty.columns.iter().map(|c| c.name.as_str()))
                        .map_err(|e| io(e.into()))?;
                }
                out.flush().map_err(io)?;
            }
            Sink::Json(out) => out.flush().map_err(io)?,
        }
        Ok(self.rows)
    }
}

/// The Parquet schema of `columns`.
fn schema(columns: &[Column]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|c| {
            let repetition = if c.required { "REQUIRED" } else { "OPTIONAL" };
            let typ = match c.values {
                Values::Text(_) => "BYTE_ARRAY",
                Values::Date(_) | Values::Int32(_) => "INT32",
                Values::Int64(_) | Values::Timestamp(_) => "INT64",
                Values::Double(_) => "DOUBLE",
            };
            let logical = match c.values {
                Values::Text(_) => " (STRING)",
                Values::Date(_) => " (DATE)",
                Values::Timestamp(_) => " (TIMESTAMP(MILLIS,true))",
                _ => "",
            };
            format!("  {repetition} {typ} {}{logical};", c.name)
        })
        .collect();
    format!("message rows {{\n{}\n}}", fields.join("\n"))
}

/// Writes `batch` as one row group, creating the writer (with the batch's schema) first.
fn write_row_group(
    target: &str,
    file: &mut Option<File>,
    writer: &mut Option<SerializedFileWriter<File>>,
    batch: Batch,
) -> Result<(), OutputError> {
    let failed = |source| OutputError::Parquet { path: target.to_owned(), source };
    if writer.is_none() {
        let schema =
            Arc::new(parquet::schema::parser::parse_message_type(&schema(&batch.columns)).map_err(failed)?);
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let Some(file) = file.take() else { return Ok(()) };
        *writer = Some(SerializedFileWriter::new(file, schema, Arc::new(properties)).map_err(failed)?);
    }
    let Some(writer) = writer.as_mut() else { return Ok(()) };
    let mut group = writer.next_row_group().map_err(failed)?;
    let mut columns = batch.columns.into_iter();
    while let Some(mut column) = group.next_column().map_err(failed)? {
        let Some(Column { values, required, .. }) = columns.next() else { break };
        let levels = |present: Vec<bool>| present.into_iter().map(i16::from).collect::<Vec<i16>>();
        match values {
            Values::Text(v) => {
                let def = (!required).then(|| levels(v.iter().map(Option::is_some).collect()));
                let present: Vec<ByteArray> =
                    v.into_iter().flatten().map(|s| ByteArray::from(s.into_bytes())).collect();
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&present, def.as_deref(), None)
                    .map_err(failed)?;
            }
            Values::Date(v) => {
                let days: Vec<i32> = v.iter().map(|d| days_since_epoch(*d)).collect();
                column.typed::<Int32Type>().write_batch(&days, None, None).map_err(failed)?;
            }
            Values::Int32(v) => {
                let def = (!required).then(|| levels(v.iter().map(Option::is_some).collect()));
                let present: Vec<i32> = v.into_iter().flatten().collect();
                column.typed::<Int32Type>().write_batch(&present, def.as_deref(), None).map_err(failed)?;
            }
            Values::Int64(v) | Values::Timestamp(v) => {
                let def = (!required).then(|| levels(v.iter().map(Option::is_some).collect()));
                let present: Vec<i64> = v.into_iter().flatten().collect();
                column.typed::<Int64Type>().write_batch(&present, def.as_deref(), None).map_err(failed)?;
            }
            Values::Double(v) => {
                let def = (!required).then(|| levels(v.iter().map(Option::is_some).collect()));
                let present: Vec<f64> = v.into_iter().flatten().collect();
                column.typed::<DoubleType>().write_batch(&present, def.as_deref(), None).map_err(failed)?;
            }
        }
        column.close().map_err(failed)?;
    }
    group.close().map_err(failed)?;
    Ok(())
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

fn instant(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The CSV text of `values[row]`: empty for a missing value; floats in their shortest exact form.
fn text(values: &Values, row: usize) -> String {
    match values {
        Values::Text(v) => v[row].clone().unwrap_or_default(),
        Values::Date(v) => v[row].to_string(),
        Values::Int32(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
        Values::Int64(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
        Values::Double(v) => v[row].map(|x| format!("{x:?}")).unwrap_or_default(),
        Values::Timestamp(v) => v[row].map(instant).unwrap_or_default(),
    }
}

/// The JSON value of `values[row]`.
fn json(values: &Values, row: usize) -> serde_json::Value {
    use serde_json::Value;
    match values {
        Values::Text(v) => v[row].as_deref().map_or(Value::Null, Value::from),
        Values::Date(v) => Value::from(v[row].to_string()),
        Values::Int32(v) => v[row].map_or(Value::Null, Value::from),
        Values::Int64(v) => v[row].map_or(Value::Null, Value::from),
        Values::Double(v) => v[row].map_or(Value::Null, Value::from),
        Values::Timestamp(v) => v[row].map_or(Value::Null, |ms| Value::from(instant(ms))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        let column = |name: &str, required, values| Column { name: name.into(), required, values };
        Batch {
            columns: vec![
                column("ticker", true, Values::Text(vec![Some("A".into()), Some("B".into())])),
                column(
                    "dateTime",
                    true,
                    Values::Date(vec![NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default(); 2]),
                ),
                column("emaTimePeriod", false, Values::Int32(vec![Some(20), None])),
                column("ema", false, Values::Double(vec![Some(0.1), None])),
                column("knownFrom", false, Values::Timestamp(vec![Some(1_700_000_000_123), None])),
            ],
            rows: 2,
        }
    }

    #[test]
    fn csv_and_json_name_every_column_and_leave_missing_values_empty_or_null() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (name, format) in [("rows.csv", Format::Csv), ("rows.json", Format::Json)] {
            let path = dir.path().join(name);
            assert_eq!(Format::of_path(&path), Some(format));
            let mut out = Output::open(Some(&path), format).expect("opens");
            out.write(batch()).expect("writes");
            assert_eq!(out.finish(Batch::default()).expect("finishes"), 2);
            let written = std::fs::read_to_string(&path).expect("reads");
            let expected = match format {
                Format::Csv => {
                    "ticker,dateTime,emaTimePeriod,ema,knownFrom\n\
                    A,2024-01-02,20,0.1,2023-11-14T22:13:20.123Z\nB,2024-01-02,,,\n"
                }
                _ => {
                    "{\"dateTime\":\"2024-01-02\",\"ema\":0.1,\"emaTimePeriod\":20,\"knownFrom\":\"2023-11-14T22:13:20.123Z\",\"ticker\":\"A\"}\n\
                    {\"dateTime\":\"2024-01-02\",\"ema\":null,\"emaTimePeriod\":null,\"knownFrom\":null,\"ticker\":\"B\"}\n"
                }
            };
            assert_eq!(written, expected, "{name}");
        }
    }

    #[test]
    fn parquet_has_typed_optional_columns() {
        let text = schema(&batch().columns);
        assert!(text.contains("REQUIRED INT32 dateTime (DATE);"), "{text}");
        assert!(text.contains("OPTIONAL INT64 knownFrom (TIMESTAMP(MILLIS,true));"), "{text}");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("rows.parquet");
        let mut out = Output::open(Some(&path), Format::Parquet).expect("opens");
        out.write(batch()).expect("writes");
        assert_eq!(out.finish(Batch::default()).expect("finishes"), 2);
        let reader = parquet::file::reader::SerializedFileReader::new(File::open(&path).expect("opens"))
            .expect("a Parquet file");
        use parquet::file::reader::FileReader;
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        assert_eq!(reader.metadata().file_metadata().schema_descr().num_columns(), 5);
    }
}
