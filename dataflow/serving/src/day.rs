//! The daily retraining trigger: a scope's trading day is complete once every expected ticker
//! (the configured `daily_tickers`, or else every series the scope has met) has its bar for the
//! newest date, or a deadline after the first of them passed (a ticker that does not trade
//! that day must not hold the training back forever).

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
    /// The tickers of `arrived`.
    tickers: BTreeSet<String>,
    reported: bool,
}

/// Whose bars complete a trading day.
#[derive(Clone, Copy, Debug)]
pub enum Expected<'a> {
    /// This many series: those the scope has met.
    Series(usize),
    /// Each of these tickers (the configured `daily_tickers`), met yet or not.
    Tickers(&'a BTreeSet<String>),
}

impl TradingDay {
    /// Notes a live bar of `series` for `date`; a later date starts a new day.
    pub fn bar(&mut self, series: &SeriesId, date: NaiveDate, now: Instant) {
        if self.date.is_none_or(|current| date > current) {
            *self = TradingDay { date: Some(date), started: Some(now), ..TradingDay::default() };
        }
        if self.date == Some(date) && self.arrived.insert(series.clone()) {
            self.tickers.insert(series.0.clone());
        }
    }

    /// Whether the day just became complete: every `expected` series or ticker has its bar, or
    /// `deadline` passed since the first. True once per day.
    pub fn completed(&mut self, expected: Expected<'_>, deadline: Duration, now: Instant) -> bool {
        let Some(started) = self.started else { return false };
        let all_arrived = match expected {
            Expected::Series(series) => self.arrived.len() >= series,
            Expected::Tickers(tickers) => tickers.iter().all(|ticker| self.tickers.contains(ticker)),
        };
        if self.reported || (!all_arrived && now.duration_since(started) < deadline) {
            return false;
        }
        self.reported = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_records::Timeframe;

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
        let two = Expected::Series(2);
        assert!(!day.completed(two, deadline, now), "no day yet");
        day.bar(&id("AAA"), date(4), now);
        day.bar(&id("AAA"), date(1), now); // a correction of an old day changes nothing
        assert!(!day.completed(two, deadline, now));
        day.bar(&id("BBB"), date(4), now);
        assert!(day.completed(two, deadline, now));
        assert!(!day.completed(two, deadline, now), "once per day");
        day.bar(&id("BBB"), date(5), now);
        assert!(!day.completed(two, deadline, now), "a new day starts");
    }

    #[test]
    fn the_deadline_completes_a_day_a_series_missed() {
        let now = Instant::now();
        let mut day = TradingDay::default();
        day.bar(&id("AAA"), date(4), now);
        let two = Expected::Series(2);
        assert!(!day.completed(two, Duration::from_secs(60), now + Duration::from_secs(59)));
        assert!(day.completed(two, Duration::from_secs(60), now + Duration::from_secs(60)));
    }

    #[test]
    fn configured_tickers_hold_the_day_until_each_has_its_bar_or_the_deadline() {
        let (now, deadline) = (Instant::now(), Duration::from_secs(60));
        let configured: BTreeSet<String> = ["AAA", "BBB", "CCC"].map(String::from).into();
        let expected = Expected::Tickers(&configured);
        let mut day = TradingDay::default();
        day.bar(&id("AAA"), date(4), now);
        day.bar(&id("BBB"), date(4), now);
        day.bar(&id("ZZZ"), date(4), now); // not configured: neither needed nor enough
        assert!(day.completed(Expected::Series(3), deadline, now), "every series met so far");
        let mut day = TradingDay::default();
        day.bar(&id("AAA"), date(4), now);
        day.bar(&id("BBB"), date(4), now);
        day.bar(&id("ZZZ"), date(4), now);
        assert!(!day.completed(expected, deadline, now), "CCC, never met, is still missing");
        day.bar(&id("AAA"), date(3), now); // an older day does not count
        day.bar(&id("CCC"), date(3), now);
        assert!(!day.completed(expected, deadline, now));
        day.bar(&id("CCC"), date(4), now);
        assert!(day.completed(expected, deadline, now));
        day.bar(&id("AAA"), date(5), now);
        assert!(!day.completed(expected, deadline, now + Duration::from_secs(59)));
        assert!(day.completed(expected, deadline, now + Duration::from_secs(60)), "the deadline");
    }
}
