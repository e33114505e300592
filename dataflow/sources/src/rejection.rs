//! One refused record: where it came from, why (machine-readable), and its raw text.

use chrono::Utc;
use pricestream_records::DeadLetter;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use uuid::Uuid;

/// The most bytes of a refused record's text kept in [`LineError::raw`].
pub const RAW_MAX_BYTES: usize = 4 * 1024;

/// Why a record was refused, for counting and routing (`reason` of a dead letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The line cannot be split into fields (an unterminated or misplaced quote).
    Malformed,
    /// The line has a different number of fields than the header.
    WrongColumnCount,
    /// A required value is empty, `null`, `NA` or absent.
    MissingValue,
    /// A price or volume is not a number (or the volume not a whole number).
    BadNumber,
    /// A price is zero, negative, NaN or infinite.
    BadPrice,
    /// High is below max(open, close) or low above min(open, close).
    InconsistentOhlc,
    /// Volume below zero.
    NegativeVolume,
    /// The date cannot be parsed with the configured format.
    BadDate,
    /// The same ticker and date appeared earlier in the same file or API answer.
    DuplicateDate,
    /// The ticker column is empty or holds characters a ticker cannot have.
    BadTicker,
    /// The line is not valid UTF-8.
    NotUtf8,
    /// The line is longer than the reader's bound and was skipped unread.
    LineTooLong,
    /// The file could not be read past this point (I/O error, corrupt gzip or Parquet).
    ReadError,
    /// A value of an API answer is not an object with the expected keys.
    ApiGarbage,
    /// A corporate action of an unknown kind, with the other kind's number, or with a ratio
    /// or amount that is not positive and finite.
    BadAction,
}

impl Reason {
    /// The snake_case name used in dead letters, logs and metric labels (`bad_price`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::WrongColumnCount => "wrong_column_count",
            Reason::MissingValue => "missing_value",
            Reason::BadNumber => "bad_number",
            Reason::BadPrice => "bad_price",
            Reason::InconsistentOhlc => "inconsistent_ohlc",
            Reason::NegativeVolume => "negative_volume",
            Reason::BadDate => "bad_date",
            Reason::DuplicateDate => "duplicate_date",
            Reason::BadTicker => "bad_ticker",
            Reason::NotUtf8 => "not_utf8",
            Reason::LineTooLong => "line_too_long",
            Reason::ReadError => "read_error",
            Reason::ApiGarbage => "api_garbage",
            Reason::BadAction => "bad_action",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one value was refused, before the caller adds where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    pub reason: Reason,
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Self {
        Refusal { reason, message: message.into() }
    }
}

/// A record that could not be turned into a bar; the rest of its file still goes through.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// The file it came from.
    pub file: PathBuf,
    /// 1-based line number in that file (row number for Parquet).
    pub line: u64,
    /// What is wrong, naming the column.
    pub message: String,
    /// Why, machine-readable.
    pub reason: Reason,
    /// The record's text, lossily decoded as UTF-8 and cut to [`RAW_MAX_BYTES`].
    pub raw: String,
}

impl LineError {
    pub(crate) fn new(file: PathBuf, line: u64, refusal: Refusal, raw: &[u8]) -> Self {
        LineError { file, line, message: refusal.message, reason: refusal.reason, raw: raw_text(raw) }
    }

    /// The dead letter for this record, refused by extraction run `task_number` now.
    pub fn to_dead_letter(&self, task_number: Uuid) -> DeadLetter {
        DeadLetter {
            source: self.file.display().to_string(),
            line: Some(self.line),
            topic: None,
            partition: None,
            offset: None,
            reason: self.reason.as_str().to_owned(),
            message: self.message.clone(),
            raw: self.raw.clone(),
            task_number,
            detected_at: Utc::now(),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// `bytes` as lossy UTF-8, cut at a character boundary to at most [`RAW_MAX_BYTES`].
pub fn raw_text(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(RAW_MAX_BYTES + 4)];
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if text.len() > RAW_MAX_BYTES {
        let mut end = RAW_MAX_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_is_lossy_and_bounded() {
        assert_eq!(raw_text(b"a,\xff,b"), "a,\u{fffd},b");
        let long = "é".repeat(RAW_MAX_BYTES);
        let cut = raw_text(long.as_bytes());
        assert_eq!(cut.len(), RAW_MAX_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn display_keeps_file_line_message() {
        let error = LineError::new(
            "data/x.csv".into(),
            7,
            Refusal::new(Reason::BadPrice, "open must be positive"),
            b"raw",
        );
        assert_eq!(error.to_string(), "data/x.csv:7: open must be positive");
        assert_eq!(error.reason.as_str(), "bad_price");
        let letter = error.to_dead_letter(Uuid::nil());
        assert_eq!((letter.line, letter.reason.as_str(), letter.raw.as_str()), (Some(7), "bad_price", "raw"));
    }

    #[test]
    fn reason_serializes_as_its_name() {
        let json = serde_json::to_string(&Reason::InconsistentOhlc).expect("serializes");
        assert_eq!(json, "\"inconsistent_ohlc\"");
    }
}
