//! Remembers which (ticker, date) pairs one file or API answer already produced.

use crate::rejection::{Reason, Refusal};
use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

/// Where each (ticker, date) was first seen, so later copies are refused.
#[derive(Debug, Default)]
pub(crate) struct SeenDates {
    by_ticker: FxHashMap<String, Dates>,
    /// The dates of a source of one series (see [`SeenDates::check_sole`]).
    sole: Dates,
}

/// One ticker's dates. Most files list them oldest first: a date after the last one is new
/// without a lookup, and is only appended. Any other order goes through the hash map.
#[derive(Debug, Default)]
struct Dates {
    /// Dates in ascending order, with their first position.
    ascending: Vec<(NaiveDate, u64)>,
    /// Dates that came out of ascending order.
    others: FxHashMap<NaiveDate, u64>,
}

impl Dates {
    /// Where `date` was first seen, recording `position` when it is new.
    fn first_or_insert(&mut self, date: NaiveDate, position: u64) -> Option<u64> {
        if self.ascending.last().is_none_or(|&(last, _)| date > last) {
            self.ascending.push((date, position));
            return None;
        }
        if let Ok(at) = self.ascending.binary_search_by_key(&date, |&(d, _)| d) {
            return Some(self.ascending[at].1);
        }
        match self.others.entry(date) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(slot) => {
                slot.insert(position);
                None
            }
        }
    }
}

impl SeenDates {
    /// Records `date` for `ticker` at `position` (a line or an index); refuses it when
    /// it was already seen, naming where (`place` says what kind of position it is).
    pub(crate) fn check(
        &mut self,
        ticker: &str,
        date: NaiveDate,
        position: u64,
        place: &str,
    ) -> Result<(), Refusal> {
        let dates = match self.by_ticker.get_mut(ticker) {
            Some(dates) => dates,
            None => self.by_ticker.entry(ticker.to_owned()).or_default(),
        };
        refuse_seen(dates.first_or_insert(date, position), date, place)
    }

    /// [`SeenDates::check`] for a source whose records are all of one ticker (a file without
    /// a ticker column): without looking the ticker up for every record. A source uses
    /// either this or `check`, never both.
    pub(crate) fn check_sole(&mut self, date: NaiveDate, position: u64, place: &str) -> Result<(), Refusal> {
        refuse_seen(self.sole.first_or_insert(date, position), date, place)
    }
}

fn refuse_seen(first: Option<u64>, date: NaiveDate, place: &str) -> Result<(), Refusal> {
    match first {
        Some(first) => Err(Refusal::new(
            Reason::DuplicateDate,
            format!("duplicate date {date}, first seen on {place} {first}"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_copy_is_refused_naming_the_first() {
        let mut seen = SeenDates::default();
        let day = NaiveDate::from_ymd_opt(2024, 1, 3).expect("date");
        assert!(seen.check("A", day, 5, "line").is_ok());
        assert!(seen.check("B", day, 6, "line").is_ok());
        let refusal = seen.check("A", day, 9, "line").expect_err("duplicate");
        assert_eq!(refusal.reason, Reason::DuplicateDate);
        assert_eq!(refusal.message, "duplicate date 2024-01-03, first seen on line 5");
    }

    #[test]
    fn duplicates_are_found_in_any_order_of_dates() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).expect("date");
        // Ascending, then descending, then scattered.
        let order = [3, 5, 9, 8, 4, 1, 20, 7, 2];
        let (mut seen, mut sole) = (SeenDates::default(), SeenDates::default());
        for (line, &d) in order.iter().enumerate() {
            assert!(seen.check("A", day(d), line as u64, "line").is_ok(), "first {d}");
            assert!(sole.check_sole(day(d), line as u64, "line").is_ok(), "first {d}");
        }
        for (line, &d) in order.iter().enumerate() {
            for refusal in [seen.check("A", day(d), 100, "line"), sole.check_sole(day(d), 100, "line")] {
                let refusal = refusal.expect_err("duplicate");
                assert_eq!(refusal.reason, Reason::DuplicateDate);
                assert!(refusal.message.ends_with(&format!("line {line}")), "{d}: {}", refusal.message);
            }
        }
    }
}
