//! gzip and Parquet files read through the same entry point as plain CSV.

use super::{HEADER, read_all, split, write};
use crate::{CsvMapping, FileFormat, Reason, SourceError, open_file};
use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use parquet::basic::Compression as Codec;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text).expect("compress");
    encoder.finish().expect("finish")
}

#[test]
fn reads_gzip_csv_transparently() {
    let text = format!("{HEADER}2024-01-02,10,11,9,10.5,10.5,100\n2024-01-03,x,11,9,10.5,10.5,100\n");
    let (_dir, path) = write("aapl.csv.gz", &gzip(text.as_bytes()));
    let (bars, errors) = split(read_all(&path, &FileFormat::Yahoo));
    assert_eq!((bars.len(), bars[0].ticker.as_str()), (1, "AAPL"));
    assert_eq!((errors[0].line, errors[0].reason), (3, Reason::BadNumber));
}

#[test]
fn a_truncated_gzip_file_ends_with_a_read_error() {
    let mut text = HEADER.to_owned();
    for day in 1..=28 {
        text.push_str(&format!("2023-02-{day:02},10,11,9,10.5,10.5,100\n"));
    }
    let packed = gzip(text.as_bytes());
    let (_dir, path) = write("aapl.csv.gz", &packed[..packed.len() - 12]);
    let rows = read_all(&path, &FileFormat::Yahoo);
    let last = rows.last().expect("rows").as_ref().expect_err("read error");
    assert_eq!(last.reason, Reason::ReadError, "{last}");
    assert!(rows[..rows.len() - 1].iter().all(Result::is_ok));
}

/// Writes a Parquet file with a string ticker, a DATE day, double prices and an int64 volume.
fn write_parquet(path: &Path, codec: Codec, rows: &[(&str, i32, [f64; 4], i64)]) {
    let schema = parse_message_type(
        "message bars {
            required binary symbol (UTF8);
            required int32 day (DATE);
            required double open;
            required double high;
            required double low;
            required double close;
            required int64 volume;
            optional double extra;
        }",
    )
    .expect("schema");
    let props = Arc::new(WriterProperties::builder().set_compression(codec).build());
    let file = std::fs::File::create(path).expect("create");
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), props).expect("writer");
    let mut group = writer.next_row_group().expect("row group");
    let mut column = 0;
    while let Some(mut col) = group.next_column().expect("column") {
        match column {
            0 => {
                let values: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r.0)).collect();
                col.typed::<ByteArrayType>().write_batch(&values, None, None).expect("symbols");
            }
            1 => {
                let values: Vec<i32> = rows.iter().map(|r| r.1).collect();
                col.typed::<Int32Type>().write_batch(&values, None, None).expect("days");
            }
            2..=5 => {
                let values: Vec<f64> = rows.iter().map(|r| r.2[column - 2]).collect();
                col.typed::<DoubleType>().write_batch(&values, None, None).expect("prices");
            }
            6 => {
                let values: Vec<i64> = rows.iter().map(|r| r.3).collect();
                col.typed::<Int64Type>().write_batch(&values, None, None).expect("volumes");
            }
            _ => {
                let levels = vec![0i16; rows.len()];
                col.typed::<DoubleType>().write_batch(&[], Some(&levels), None).expect("extra");
            }
        }
        col.close().expect("close column");
        column += 1;
    }
    group.close().expect("close group");
    writer.close().expect("close file");
}

fn days(date: &str) -> i32 {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    i32::try_from((day - epoch).num_days()).expect("fits")
}

fn parquet_mapping(ticker: Option<&str>) -> FileFormat {
    FileFormat::Csv(CsvMapping {
        date: "day".into(),
        ticker: ticker.map(str::to_owned),
        ..CsvMapping::default()
    })
}

#[test]
fn reads_parquet_rows_with_every_codec() {
    for codec in
        [Codec::UNCOMPRESSED, Codec::SNAPPY, Codec::GZIP(Default::default()), Codec::ZSTD(Default::default())]
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lake.parquet");
        write_parquet(
            &path,
            codec,
            &[
                ("aapl", days("2024-01-02"), [187.15, 188.44, 183.89, 185.64], 82_488_700),
                ("aapl", days("2024-01-03"), [184.22, 185.88, 183.43, 184.25], -1),
                ("aapl", days("2024-01-04"), [182.15, 183.09, 180.88, 181.91], 71_983_600),
                ("aapl", days("2024-01-02"), [187.15, 188.44, 183.89, 185.64], 82_488_700),
                ("msft", days("2024-01-02"), [373.86, 375.90, 366.77, 370.87], 25_258_600),
            ],
        );
        let (bars, errors) = split(read_all(&path, &parquet_mapping(Some("symbol"))));
        let got: Vec<(String, String)> =
            bars.iter().map(|b| (b.ticker.to_string(), b.datetime.to_string())).collect();
        assert_eq!(
            got,
            [
                ("AAPL".into(), "2024-01-02".into()),
                ("AAPL".into(), "2024-01-04".into()),
                ("MSFT".into(), "2024-01-02".into())
            ],
            "{codec:?}"
        );
        assert_eq!(bars[0].open, 187.15);
        assert_eq!(bars[0].volume, 82_488_700);
        let got: Vec<(u64, Reason)> = errors.iter().map(|e| (e.line, e.reason)).collect();
        assert_eq!(got, [(2, Reason::NegativeVolume), (4, Reason::DuplicateDate)], "{codec:?}");
        assert!(errors[0].raw.contains("volume: -1"), "{}", errors[0].raw);
    }
}

#[test]
fn parquet_takes_the_ticker_from_the_file_name_without_a_ticker_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nvda_daily.parquet");
    write_parquet(&path, Codec::SNAPPY, &[("x", days("2024-01-02"), [1.0, 2.0, 0.5, 1.5], 3)]);
    let (bars, errors) = split(read_all(&path, &parquet_mapping(None)));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bars[0].ticker, "NVDA");
}

#[test]
fn parquet_without_a_mapped_column_or_with_a_broken_footer_is_a_source_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nvda.parquet");
    write_parquet(&path, Codec::SNAPPY, &[("x", days("2024-01-02"), [1.0, 2.0, 0.5, 1.5], 3)]);
    let error = open_file(&path, &FileFormat::Yahoo, Uuid::nil()).err().expect("no Date column");
    assert!(error.to_string().contains("header has no `Date` column"), "{error}");

    let bytes = std::fs::read(&path).expect("read");
    let broken = dir.path().join("broken.parquet");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).expect("write");
    let error = open_file(&broken, &parquet_mapping(None), Uuid::nil()).err().expect("broken");
    assert!(matches!(error, SourceError::Parquet { .. }), "{error}");
}

#[test]
fn corrupt_parquet_files_end_without_a_panic_escaping() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nvda.parquet");
    let rows: Vec<(&str, i32, [f64; 4], i64)> =
        (0..200).map(|i| ("x", days("2020-01-01") + i, [1.0, 2.0, 0.5, 1.5], 3)).collect();
    write_parquet(&path, Codec::SNAPPY, &rows);
    let clean = std::fs::read(&path).expect("read");
    // Scribble over 16 bytes at a time all along the file, magic and footer included.
    for start in (4..clean.len() - 8).step_by(7) {
        let mut bytes = clean.clone();
        for byte in bytes.iter_mut().skip(start).take(16) {
            *byte ^= 0x5a;
        }
        std::fs::write(&path, &bytes).expect("write");
        if let Ok(rows) = open_file(&path, &parquet_mapping(None), Uuid::nil()) {
            let rows: Vec<_> = rows.collect();
            let ends = rows.iter().position(|r| matches!(r, Err(e) if e.reason == Reason::ReadError));
            assert!(
                ends.is_none_or(|at| at == rows.len() - 1),
                "a read error ends the file (offset {start})"
            );
        }
    }
}
