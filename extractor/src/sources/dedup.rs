//! Remembers which (ticker, date) pairs one file or API answer already produced.

use super::rejection::{Reason, Refusal};
use chrono::NaiveDate;
use std::collections::HashMap;

/// Where each (ticker, date) was first seen, so later copies are refused.
#[derive(Debug, Default)]
pub(crate) struct SeenDates {
    first: HashMap<String, HashMap<NaiveDate, u64>>,
}

impl SeenDates {
    /// Records `date` of `ticker` at `position`, or names the position that had it first.
    /// `place` words the position in the message (`line`, `values[…]`).
    pub(crate) fn check(
        &mut self,
        ticker: &str,
        date: NaiveDate,
        position: u64,
        place: &str,
    ) -> Result<(), Refusal> {
        let dates = match self.first.get_mut(ticker) {
            Some(dates) => dates,
            None => self.first.entry(ticker.to_owned()).or_default(),
        };
        match dates.get(&date) {
            Some(first) => Err(Refusal::new(
                Reason::DuplicateDate,
                format!("duplicate date {date}, first seen on {place} {first}"),
            )),
            None => {
                dates.insert(date, position);
                Ok(())
            }
        }
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
}
