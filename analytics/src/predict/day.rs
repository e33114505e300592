//! The daily retraining trigger: a scope's trading day is complete once every series of the
//! scope has its bar for the newest date, or a deadline after the first of them passed
//! (a ticker that does not trade that day must not hold the training back forever).

use super::stage::SeriesId;
use chrono::NaiveDate;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The newest trading day of one scope, as its bars arrive.
#[derive(Debug, Default)]
pub struct TradingDay {
    date: Option<NaiveDate>,
    started: Option<Instant>,
    arrived: BTreeSet<SeriesId>,
    reported: bool,
}

impl TradingDay {
    /// Notes a live bar of `series` for `date`; a later date starts a new day.
    pub fn bar(&mut self, series: &SeriesId, date: NaiveDate, now: Instant) {
        if self.date.is_none_or(|current| date > current) {
            *self = TradingDay { date: Some(date), started: Some(now), ..TradingDay::default() };
        }
        if self.date == Some(date) {
            self.arrived.insert(series.clone());
        }
    }

    /// Whether the day just became complete: every one of `series` series has its bar, or
    /// `deadline` passed since the first. True once per day.
    pub fn completed(&mut self, series: usize, deadline: Duration, now: Instant) -> bool {
        let Some(started) = self.started else { return false };
        if self.reported || (self.arrived.len() < series && now.duration_since(started) < deadline) {
            return false;
        }
        self.reported = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_dataflow::records::Timeframe;

    fn id(ticker: &str) -> SeriesId {
        (ticker.to_owned(), Timeframe::Day)
    }

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, day).unwrap_or_default()
    }

    #[test]
    fn a_day_completes_once_when_every_series_has_its_bar() {
        let (now, deadline) = (Instant::now(), Duration::from_secs(600));
        let mut day = TradingDay::default();
        assert!(!day.completed(2, deadline, now), "no day yet");
        day.bar(&id("AAA"), date(4), now);
        day.bar(&id("AAA"), date(1), now); // a correction of an old day changes nothing
        assert!(!day.completed(2, deadline, now));
        day.bar(&id("BBB"), date(4), now);
        assert!(day.completed(2, deadline, now));
        assert!(!day.completed(2, deadline, now), "once per day");
        day.bar(&id("BBB"), date(5), now);
        assert!(!day.completed(2, deadline, now), "a new day starts");
    }

    #[test]
    fn the_deadline_completes_a_day_a_series_missed() {
        let now = Instant::now();
        let mut day = TradingDay::default();
        day.bar(&id("AAA"), date(4), now);
        assert!(!day.completed(2, Duration::from_secs(60), now + Duration::from_secs(59)));
        assert!(day.completed(2, Duration::from_secs(60), now + Duration::from_secs(60)));
    }
}
