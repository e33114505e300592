//! The latest value per input key, as [`super::FeatureInputs`] keeps them: per series, per date,
//! a close and one slot per indicator kind.
//!
//! Laid out for the common delivery order — one ticker's records in runs, a bar and its indicator
//! values together — so that most records find their slot by comparing the ticker and the date
//! with the previous record's instead of hashing them, and no ticker string is stored per key.

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
    /// Every date of the series with its values.
    pub fn days_mut(&mut self) -> impl Iterator<Item = (NaiveDate, &mut DayLatest)> {
        let days = &mut self.days;
        let mut dates: Vec<(NaiveDate, usize)> = self.index.iter().map(|(date, at)| (*date, *at)).collect();
        dates.sort_unstable();
        let mut slots: Vec<Option<&mut DayLatest>> = days.iter_mut().map(Some).collect();
        dates.into_iter().filter_map(move |(date, at)| slots.get_mut(at)?.take().map(|day| (date, day)))
    }

    fn day(&mut self, date: NaiveDate, create: bool) -> Option<&mut DayLatest> {
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
        self.days.get_mut(index)
    }
}

/// Every series' latest values. Dates are never removed (a deleted value leaves an empty slot).
#[derive(Default)]
pub struct Latest {
    /// Timeframe → ticker → index into `series`.
    index: HashMap<Timeframe, HashMap<String, usize>>,
    series: Vec<SeriesLatest>,
    /// The series found last.
    last: Option<usize>,
}

impl Latest {
    /// The values of `(ticker, timeframe, date)`; a new key gets empty values when `create`.
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
        self.series.get_mut(index)?.day(date, create)
    }

    /// The series `ticker` at `timeframe`, if it has any date.
    pub fn series_mut(&mut self, ticker: &str, timeframe: Timeframe) -> Option<&mut SeriesLatest> {
        let index = *self.index.get(&timeframe)?.get(ticker)?;
        self.series.get_mut(index)
    }
}

/// Replaces the latest value in `slot` by `value` (`None` deletes) and calls `emit` with the
/// updates that move the collection from the old value to the new one: nothing when they are
/// equal, `(old, -1)` and/or `(new, +1)` otherwise.
pub fn replace<V: Copy + PartialEq>(slot: &mut Option<V>, value: Option<V>, mut emit: impl FnMut(V, isize)) {
    let old = std::mem::replace(slot, value);
    if old == value {
        return;
    }
    if let Some(old) = old {
        emit(old, -1);
    }
    if let Some(new) = value {
        emit(new, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_emits_nothing_for_duplicates_and_pairs_for_corrections() {
        let (mut slot, mut out) = (None, Vec::new());
        replace(&mut slot, Some(1), |v, d| out.push((v, d)));
        replace(&mut slot, Some(1), |v, d| out.push((v, d)));
        replace(&mut slot, Some(2), |v, d| out.push((v, d)));
        replace(&mut slot, None, |v, d| out.push((v, d)));
        replace(&mut slot, None, |v, d| out.push((v, d)));
        assert_eq!(out, [(1, 1), (1, -1), (2, 1), (2, -1)]);
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
