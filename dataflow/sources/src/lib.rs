//! Where bars come from: data-lake files (CSV, gzip CSV, Parquet) and the Twelve Data
//! REST API. Each source yields bars or record-level errors naming the file and line (or
//! the API request), a machine-readable `Reason` and the raw record; a bad record never
//! stops the good ones. See `docs/sources.md`.
//!
//! ```no_run
//! use pricestream_sources::{FileFormat, list_files, open_file};
//! use std::path::Path;
//!
//! for file in list_files(Path::new("data/")).unwrap() {
//!     let bars = open_file(&file, &FileFormat::Yahoo, uuid::Uuid::nil()).unwrap();
//!     println!("{}: {} bars", file.display(), bars.filter(Result::is_ok).count());
//! }
//! ```

mod actions_file;
mod csv_records;
mod delimited;
mod files;
mod lines;
mod mapping;
mod open;
mod parquet_file;
mod rejection;
pub mod twelve_data;
mod validate;

#[cfg(test)]
mod tests;

pub use actions_file::{ACTION_COLUMNS, ActionRows, open_actions_file};
pub use files::list_files;
pub use mapping::FileFormat;
pub use open::open_file;
pub use rejection::LineError;
pub use twelve_data::{TwelveDataClient, TwelveDataConfig};
#[cfg(test)]
pub(crate) use {
    lines::MAX_LINE_BYTES,
    mapping::CsvMapping,
    rejection::{RAW_MAX_BYTES, Reason},
};

use std::path::PathBuf;

/// A source that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The directory or file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no header line: it is empty or blank.
    #[error("{path}: the file is empty (no header line); nothing to read")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The header line cannot be read as column names.
    #[error("{path}: unreadable header: {message}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The header lacks a mapped column.
    #[error(
        "{path}: header has no `{column}` column for the {field} (columns: {header}); \
         fix the file or the column mapping"
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The bar field (`date`, `open`, …, `ticker`).
        field: &'static str,
        /// The column name the mapping looks for.
        column: String,
        /// The file's header as read.
        header: String,
    },
    /// No ticker can be derived from the file name.
    #[error(
        "{path}: cannot derive a ticker from the file name (expected e.g. nvda-1999-2014.csv) \
         and the mapping has no ticker column"
    )]
    NoTicker {
        /// The file.
        path: PathBuf,
    },
    /// A Parquet file whose footer, schema or projection cannot be read.
    #[error("{path}: not a readable Parquet file: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// The input looks like a glob but is not a valid pattern.
    #[error("invalid glob pattern `{pattern}`: {source}")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// Where and why it is invalid.
        #[source]
        source: glob::PatternError,
    },
}
