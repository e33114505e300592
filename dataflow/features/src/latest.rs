//! The latest value per input key, as the feature graph's inputs keep them: per series, per
//! date, a close and one slot per indicator kind; and the days changed since they were last sent
//! to the graph.
//!
//! Laid out for the common delivery order — one ticker's records in runs, a bar and its indicator
//! values together — so that most records find their slot by comparing the ticker and the date
//! with the previous record's instead of hashing them, and no ticker string is stored per key.
//!
//! The graph is fed whole blocks: a block with a changed day is retracted as it was and inserted
//! as it is, its days one [`Bundle`] each, however many of its values changed. A restatement that
//! changes a close and four indicator values of 5,000 days then costs two updates per block (about
//! 320 in all) rather than ten per day, and the graph always holds one value per block.

use super::block::{BLOCK_SHIFT, BlockDays, BlockKey, day_number, from_day_number};
use super::bundle::Bundle;
use super::series_id::SeriesId;
use super::values::{Close, Indicator, IndicatorSettings};
use chrono::NaiveDate;
use pricestream_records::{IndicatorKind, Timeframe};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How many indicator kinds there are: one slot each.
const KINDS: usize = IndicatorKind::ALL.len();

/// The latest values of one series on one date.
#[derive(Default)]
pub struct DayLatest {
    /// The bar's adjusted close and factor.
    pub close: Option<Close>,
    /// One value per indicator kind (`IndicatorKind as usize`).
    pub indicators: [Option<Indicator>; KINDS],
    /// The version of the close (first) and of each indicator slot, where the feeder orders
    /// deliveries by version ([`super::upsert`]); unused otherwise.
    pub versions: [Version; KINDS + 1],
    /// Whether the day is listed in [`Latest`]'s changes.
    changed: bool,
}

impl DayLatest {
    /// The day's values as one bundle.
    pub fn bundle(&self) -> Bundle {
        let mut bundle = Bundle { close: self.close, ..Bundle::default() };
        self.indicators.iter().flatten().for_each(|value| _ = bundle.indicators.insert(value));
        bundle
    }
}

/// What orders the deliveries of one key: the producer's timestamp, then the offset. The newest
/// version wins whatever order the deliveries arrive in, so a key's value does not depend on
/// which partition, worker or epoch brought each delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Producer timestamp, ms since the Unix epoch (`i64::MIN` when the message has none).
    pub timestamp_ms: i64,
    /// Offset in its partition.
    pub offset: i64,
}

impl Version {
    /// Older than every delivery: an empty slot's version.
    pub const OLDEST: Version = Version { timestamp_ms: i64::MIN, offset: i64::MIN };
}

impl Default for Version {
    fn default() -> Self {
        Version::OLDEST
    }
}

/// One series' dates.
pub struct SeriesLatest {
    ticker: String,
    timeframe: Timeframe,
    /// Per indicator kind, the settings its values are computed with and the newest version
    /// that said so, where the feeder orders deliveries by version ([`super::upsert`]).
    pub settings: [Option<(IndicatorSettings, Version)>; KINDS],
    /// Date → index into `days`.
    index: HashMap<NaiveDate, usize>,
    days: Vec<DayLatest>,
    /// The date found last, and its index.
    last: Option<(NaiveDate, usize)>,
}

impl SeriesLatest {
    /// The index of `date` in `days`.
    fn find(&mut self, date: NaiveDate, create: bool) -> Option<usize> {
        let index = match self.last {
            Some((last, index)) if last == date => index,
            _ => match self.index.get(&date) {
                Some(&index) => index,
                None if create => {
                    self.days.push(DayLatest::default());
                    self.index.insert(date, self.days.len() - 1);
                    self.days.len() - 1
                }
                None => return None,
            },
        };
        self.last = Some((date, index));
        Some(index)
    }
}

/// A day changed since the changes were last taken.
struct Changed {
    series: u32,
    date: NaiveDate,
    /// Where its bundle as last sent is in `Latest::before`; `None` when it was empty.
    before: Option<u32>,
}

/// Every series' latest values. Dates are never removed (a deleted value leaves an empty slot).
#[derive(Default)]
pub struct Latest {
    /// Timeframe → ticker → index into `series`.
    index: HashMap<Timeframe, HashMap<String, usize>>,
    series: Vec<SeriesLatest>,
    /// The series found last.
    last: Option<usize>,
    /// The days handed out for change since the changes were last taken. A new day keeps no
    /// bundle here, so a backfill's epoch of new days costs a few bytes per day.
    changed: Vec<Changed>,
    before: Vec<Bundle>,
}

/// Lists `day` (of series `series`) as changed, with its values as they are now, unless it is
/// listed already.
fn note_change(
    changed: &mut Vec<Changed>,
    before: &mut Vec<Bundle>,
    (series, date): (usize, NaiveDate),
    day: &mut DayLatest,
) {
    if day.changed {
        return;
    }
    day.changed = true;
    let bundle = day.bundle();
    let kept = (!bundle.is_empty()).then(|| {
        before.push(bundle);
        (before.len() - 1) as u32
    });
    changed.push(Changed { series: series as u32, date, before: kept });
}

impl Latest {
    /// The values of `(ticker, timeframe, date)`, to change; a new key gets empty values when
    /// `create`. The day's values as they are now are kept for [`Latest::take_changes`].
    pub fn day(
        &mut self,
        ticker: &str,
        timeframe: Timeframe,
        date: NaiveDate,
        create: bool,
    ) -> Option<&mut DayLatest> {
        let cached = self
            .last
            .filter(|&i| self.series.get(i).is_some_and(|s| s.timeframe == timeframe && s.ticker == ticker));
        let index = match cached.or_else(|| self.index.get(&timeframe)?.get(ticker).copied()) {
            Some(index) => index,
            None if create => {
                self.index.entry(timeframe).or_default().insert(ticker.to_owned(), self.series.len());
                self.series.push(SeriesLatest {
                    ticker: ticker.to_owned(),
                    timeframe,
                    settings: [None; KINDS],
                    index: HashMap::new(),
                    days: Vec::new(),
                    last: None,
                });
                self.series.len() - 1
            }
            None => return None,
        };
        self.last = Some(index);
        let series = self.series.get_mut(index)?;
        let at = series.find(date, create)?;
        let day = series.days.get_mut(at)?;
        note_change(&mut self.changed, &mut self.before, (index, date), day);
        Some(day)
    }

    /// The series `ticker` at `timeframe`, if it has any date.
    pub fn series_mut(&mut self, ticker: &str, timeframe: Timeframe) -> Option<&mut SeriesLatest> {
        let index = *self.index.get(&timeframe)?.get(ticker)?;
        self.series.get_mut(index)
    }

    /// Calls `change` with every day of the series `ticker` at `timeframe`; a day it returns
    /// true for is listed as changed, with its values before the call.
    pub fn change_days(
        &mut self,
        ticker: &str,
        timeframe: Timeframe,
        mut change: impl FnMut(&mut DayLatest) -> bool,
    ) {
        let Some(index) = self.index.get(&timeframe).and_then(|tickers| tickers.get(ticker)).copied() else {
            return;
        };
        let Some(series) = self.series.get_mut(index) else { return };
        for (date, &at) in &series.index {
            let Some(day) = series.days.get_mut(at) else { continue };
            let before = (!day.changed).then(|| day.bundle());
            if change(day) && !day.changed {
                day.changed = true;
                let kept = before.filter(|bundle| !bundle.is_empty()).map(|bundle| {
                    self.before.push(bundle);
                    (self.before.len() - 1) as u32
                });
                self.changed.push(Changed { series: index as u32, date: *date, before: kept });
            }
        }
    }

    /// Calls `emit` with the updates that move the graph's input from each block with a changed
    /// day, as last sent, to the block as it is: nothing when they are equal, else the old
    /// block's retraction and the new one's insertion. An empty day is not in a block, and a
    /// block without days is not in the input.
    pub fn take_changes(&mut self, mut emit: impl FnMut((BlockKey, BlockDays), isize)) {
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable_by_key(|change| (change.series, change.date));
        let block_of = |change: &Changed| (change.series, day_number(change.date) >> BLOCK_SHIFT);
        for group in changed.chunk_by(|a, b| block_of(a) == block_of(b)) {
            let (index, block) = block_of(&group[0]);
            let Some(series) = self.series.get_mut(index as usize) else { continue };
            let (before, after) = block_days(series, block, group, &self.before);
            if before == after {
                continue;
            }
            let key = (SeriesId::new(&series.ticker, series.timeframe), block);
            if !before.is_empty() {
                emit((key.clone(), before), -1);
            }
            if !after.is_empty() {
                emit((key, after), 1);
            }
        }
        changed.clear();
        self.changed = changed;
        self.before.clear();
    }
}

/// The days of `block` in `series` as last sent and as they are; `changes` are the block's
/// changed days, sorted by date, whose values as last sent are in `kept`. Marks them unchanged.
fn block_days(
    series: &mut SeriesLatest,
    block: i64,
    changes: &[Changed],
    kept: &[Bundle],
) -> (BlockDays, BlockDays) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut changes = changes.iter().peekable();
    for day in block << BLOCK_SHIFT..(block + 1) << BLOCK_SHIFT {
        let Some(date) = from_day_number(day) else { continue };
        let Some(latest) = series.index.get(&date).and_then(|&at| series.days.get_mut(at)) else { continue };
        let now = latest.bundle();
        let was = match changes.next_if(|change| change.date == date) {
            Some(change) => {
                latest.changed = false;
                change.before.and_then(|at| kept.get(at as usize)).copied().unwrap_or_default()
            }
            None => now,
        };
        if !was.is_empty() {
            before.push((day, was));
        }
        if !now.is_empty() {
            after.push((day, now));
        }
    }
    (before, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_each_changed_day_once_as_it_was_and_as_it_is() {
        let mut latest = Latest::default();
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default();
        let set = |latest: &mut Latest, d, close: Option<f64>| {
            if let Some(slot) = latest.day("A", Timeframe::Day, day(d), true) {
                slot.close = close.map(Close::from);
            }
        };
        // The closes of each block update.
        let taken = |latest: &mut Latest| {
            let mut updates = Vec::new();
            latest.take_changes(|(_, days), diff| {
                updates.push((days.iter().map(|(_, bundle)| bundle.close).collect::<Vec<_>>(), diff))
            });
            updates
        };
        let close = |x: f64| Some(Close::from(x));
        // A new day changed twice, a day touched but left empty. (1 to 3 January 2024 are in
        // one block.)
        set(&mut latest, 1, Some(1.0));
        set(&mut latest, 1, Some(2.0));
        set(&mut latest, 2, None);
        assert_eq!(taken(&mut latest), [(vec![close(2.0)], 1)]);
        // The same value again; a correction; a deletion.
        set(&mut latest, 1, Some(2.0));
        assert_eq!(taken(&mut latest), []);
        set(&mut latest, 1, Some(3.0));
        assert_eq!(taken(&mut latest), [(vec![close(2.0)], -1), (vec![close(3.0)], 1)]);
        set(&mut latest, 1, None);
        assert_eq!(taken(&mut latest), [(vec![close(3.0)], -1)]);
        // A change of one day sends its block whole, the unchanged days as they are.
        set(&mut latest, 1, Some(4.0));
        set(&mut latest, 3, Some(5.0));
        assert_eq!(taken(&mut latest), [(vec![close(4.0), close(5.0)], 1)]);
        set(&mut latest, 3, Some(6.0));
        assert_eq!(
            taken(&mut latest),
            [(vec![close(4.0), close(5.0)], -1), (vec![close(4.0), close(6.0)], 1)]
        );
        // A day of another block is another update.
        set(&mut latest, 31, Some(7.0));
        assert_eq!(taken(&mut latest), [(vec![close(7.0)], 1)]);
    }

    #[test]
    fn finds_days_across_series_and_creates_only_when_asked() {
        let mut latest = Latest::default();
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default();
        assert!(latest.day("A", Timeframe::Day, day(1), false).is_none());
        for (ticker, d, close) in [("A", 1, 1.0), ("B", 1, 2.0), ("A", 2, 3.0)] {
            if let Some(slot) = latest.day(ticker, Timeframe::Day, day(d), true) {
                slot.close = Some(close.into());
            }
        }
        let close = |latest: &mut Latest, ticker, d| latest.day(ticker, Timeframe::Day, day(d), false)?.close;
        assert_eq!(close(&mut latest, "A", 1), Some(1.0.into()));
        assert_eq!(close(&mut latest, "B", 1), Some(2.0.into()));
        assert_eq!(close(&mut latest, "A", 2), Some(3.0.into()));
        assert_eq!(close(&mut latest, "B", 2), None);
    }
}
