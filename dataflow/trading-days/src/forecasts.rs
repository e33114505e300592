//! "Forecasts for day D complete": once D is declared, and every ticker that had its bar for D
//! has its forecast for D written, or had no model to make one (its scope waits for its first
//! model; a forecast it makes later is published as usual, after the marker).

use super::event::{DayEvent, DayStatus};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Days kept for forecasts written before their day is declared.
const KEPT_DAYS: usize = 64;

/// The forecasts of the days declared, as they are written.
#[derive(Debug, Default)]
pub struct ForecastWatch {
    /// Per day: the tickers with a forecast written, and those left without one for want of a
    /// model.
    covered: BTreeMap<NaiveDate, (BTreeSet<String>, BTreeSet<String>)>,
    /// Declared days whose marker is not out yet: the tickers that had their bar.
    waiting: BTreeMap<NaiveDate, BTreeSet<String>>,
}

impl ForecastWatch {
    /// Forecasts written, as (ticker, day).
    pub fn written(&mut self, forecasts: &[(String, NaiveDate)]) {
        for (ticker, day) in forecasts {
            self.covered.entry(*day).or_default().0.insert(ticker.clone());
        }
        self.trim();
    }

    /// Rows left unscored because their scope had no model, as (ticker, day).
    pub fn unserved(&mut self, rows: &[(String, NaiveDate)]) {
        for (ticker, day) in rows {
            self.covered.entry(*day).or_default().1.insert(ticker.clone());
        }
        self.trim();
    }

    /// Day `day` was declared with the bars of `arrived`.
    pub fn declared(&mut self, day: NaiveDate, arrived: BTreeSet<String>) {
        self.waiting.insert(day, arrived);
    }

    /// The markers of the declared days whose every forecast is written, in day order.
    pub fn complete(&mut self, calendar: &str, at: DateTime<Utc>) -> Vec<DayEvent> {
        let mut done = Vec::new();
        for (day, arrived) in &self.waiting {
            let (written, unserved) = self.covered.get(day).cloned().unwrap_or_default();
            let missing: Vec<String> = arrived.difference(&written).cloned().collect();
            if missing.iter().all(|ticker| unserved.contains(ticker)) {
                done.push(DayEvent {
                    calendar: calendar.to_owned(),
                    day: *day,
                    status: DayStatus::ForecastsComplete,
                    expected: arrived.len(),
                    arrived: arrived.len() - missing.len(),
                    missing,
                    declared_at: at,
                });
            }
        }
        for event in &done {
            self.waiting.remove(&event.day);
        }
        done
    }

    fn trim(&mut self) {
        while self.covered.len() > KEPT_DAYS {
            self.covered.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, d).unwrap_or_default()
    }

    fn pairs(tickers: &[&str], d: u32) -> Vec<(String, NaiveDate)> {
        tickers.iter().map(|t| (t.to_string(), day(d))).collect()
    }

    #[test]
    fn a_day_is_complete_once_each_ticker_with_a_bar_has_a_forecast_or_no_model() {
        let mut watch = ForecastWatch::default();
        // Forecasts may be written before the day is declared.
        watch.written(&pairs(&["AAA"], 4));
        assert!(watch.complete("XNYS", Utc::now()).is_empty(), "nothing declared yet");
        watch.declared(day(4), ["AAA", "BBB", "CCC"].map(String::from).into());
        assert!(watch.complete("XNYS", Utc::now()).is_empty(), "BBB and CCC have none");
        watch.unserved(&pairs(&["CCC"], 4));
        watch.written(&pairs(&["BBB"], 5)); // another day's
        assert!(watch.complete("XNYS", Utc::now()).is_empty(), "BBB's forecast for the 4th is not out");
        watch.written(&pairs(&["BBB"], 4));
        let done = watch.complete("XNYS", Utc::now());
        let summary: Vec<_> =
            done.iter().map(|e| (e.day, e.status, e.expected, e.arrived, e.missing.clone())).collect();
        assert_eq!(summary, [(day(4), DayStatus::ForecastsComplete, 3, 2, vec!["CCC".to_string()])]);
        assert!(watch.complete("XNYS", Utc::now()).is_empty(), "once");
        assert_eq!(DayStatus::ForecastsComplete.as_str(), "forecasts_complete");
        assert!(!DayStatus::ForecastsComplete.declares_the_day() && DayStatus::Deadline.declares_the_day());
    }
}
