//! Where bars come from. Each source yields bars or line-level errors; a bad
//! line never stops the good ones.

mod files;
mod yahoo_csv;

pub use files::{list_csv_files, ticker_from_path};
pub use yahoo_csv::read_yahoo_csv;

use std::fmt;
use std::path::PathBuf;

/// A record that could not be turned into a bar; the rest of its file still goes through.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// The file it came from.
    pub file: PathBuf,
    /// 1-based line number in that file.
    pub line: u64,
    /// What is wrong, naming the column.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// A source that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The directory or file cannot be opened.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The header lacks a required column.
    #[error("{path}: header has no {missing} column (expected Date,Open,High,Low,Close,Adj Close,Volume)")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The first missing column.
        missing: &'static str,
    },
    /// No ticker can be derived from the file name.
    #[error("{path}: cannot derive a ticker from the file name (expected e.g. nvda-1999-2014.csv)")]
    NoTicker {
        /// The file.
        path: PathBuf,
    },
}
