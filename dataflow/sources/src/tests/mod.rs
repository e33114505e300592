//! Tests of the file sources through [`open_file`](super::open_file), on files written here.

mod bad_input;
mod containers;
mod proptests;
mod yahoo_csv;

use super::{FileFormat, LineError, open_file};
use pricestream_records::Bar;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Writes `bytes` to `name` in a fresh temp dir (kept alive by the returned guard).
fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    (dir, path)
}

/// Every item of `path` read with `format`.
fn read_all(path: &Path, format: &FileFormat) -> Vec<Result<Bar, LineError>> {
    open_file(path, format, Uuid::nil()).expect("opens").collect()
}

/// The bars and the errors of `rows`, apart.
fn split(rows: Vec<Result<Bar, LineError>>) -> (Vec<Bar>, Vec<LineError>) {
    let mut bars = Vec::new();
    let mut errors = Vec::new();
    for row in rows {
        match row {
            Ok(bar) => bars.push(bar),
            Err(error) => errors.push(error),
        }
    }
    (bars, errors)
}

const HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume\n";
