//! What every file reader does once a record's cells are read: the ticker from its column or
//! the file's name, the bar checked as a whole, and a second copy of a date refused.

use super::{SeenDates, check_bar};
use crate::mapping::CsvMapping;
use crate::rejection::{Reason, Refusal};
use chrono::NaiveDate;
use pricestream_records::{Bar, Ticker, Timeframe};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// One file's bars as they are read: where the file is, how it is laid out, and the dates
/// seen so far.
pub(crate) struct FileBars {
    /// The file, for errors.
    pub(crate) path: PathBuf,
    /// Where each field is in a record.
    pub(crate) mapping: CsvMapping,
    /// Every bar's ticker when the layout has no ticker column.
    file_ticker: Option<Ticker>,
    task_number: Uuid,
    seen: SeenDates,
}

impl FileBars {
    pub(crate) fn new(
        path: &Path,
        mapping: &CsvMapping,
        file_ticker: Option<String>,
        task_number: Uuid,
    ) -> Self {
        FileBars {
            path: path.to_owned(),
            mapping: mapping.clone(),
            file_ticker: file_ticker.map(Ticker::from),
            task_number,
            seen: SeenDates::default(),
        }
    }

    /// Whether the bars have a ticker: a ticker column, or the file's.
    pub(crate) fn has_ticker(&self) -> bool {
        self.mapping.ticker.is_some() || self.file_ticker.is_some()
    }

    /// A record's ticker: its ticker column's cell, read by `from_cell` (given the column's
    /// name), or else the file's.
    pub(crate) fn ticker(
        &self,
        from_cell: impl FnOnce(&str) -> Result<Ticker, Refusal>,
    ) -> Result<Ticker, Refusal> {
        match (&self.mapping.ticker, &self.file_ticker) {
            (Some(column), _) => from_cell(column),
            (None, Some(ticker)) => Ok(ticker.clone()),
            (None, None) => Err(Refusal::new(Reason::BadTicker, "no ticker column and no file ticker")),
        }
    }

    /// A record's open, high, low and close: `read(column, slot)` of each, slots 1 to 4 of
    /// [`CsvMapping::columns`].
    pub(crate) fn prices(
        &self,
        mut read: impl FnMut(&str, usize) -> Result<f64, Refusal>,
    ) -> Result<[f64; 4], Refusal> {
        let m = &self.mapping;
        Ok([read(&m.open, 1)?, read(&m.high, 2)?, read(&m.low, 3)?, read(&m.close, 4)?])
    }

    /// The daily bar of record `position` (`place` names what a position is: `line`, `row`),
    /// checked as a whole and refused when its date was already seen for its ticker.
    pub(crate) fn bar(
        &mut self,
        ticker: Ticker,
        datetime: NaiveDate,
        [open, high, low, close]: [f64; 4],
        volume: i64,
        (position, place): (u64, &str),
    ) -> Result<Bar, Refusal> {
        let bar = Bar {
            ticker,
            timeframe: Timeframe::Day,
            datetime,
            open,
            high,
            low,
            close,
            volume,
            task_number: self.task_number,
            adjustment_factor: 1.0,
            source: Some(pricestream_records::BarSource::File),
        };
        check_bar(&bar)?;
        match self.mapping.ticker {
            Some(_) => self.seen.check(&bar.ticker, bar.datetime, position, place)?,
            // Every bar has the file's ticker.
            None => self.seen.check_sole(bar.datetime, position, place)?,
        }
        Ok(bar)
    }
}
