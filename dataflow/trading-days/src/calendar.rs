//! An exchange calendar: weekdays minus a list of holidays.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeSet;

/// The holiday file shipped for the New York Stock Exchange (see `calendars/xnys.txt`).
pub const XNYS_HOLIDAYS: &str = include_str!("../calendars/xnys.txt");

/// What is wrong with one line of a holiday file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}:{line}: {problem}")]
pub struct HolidayError {
    /// The file (or `built-in xnys`).
    pub source_name: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, with the text found.
    pub problem: String,
}

/// The trading days of one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// Its name, as the events carry it (e.g. `XNYS`).
    pub name: String,
    holidays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// A calendar named `name` whose holidays are listed in `text` (one `YYYY-MM-DD` per line,
    /// then an optional comment; blank lines and lines starting with `#` are skipped). Every bad
    /// line is reported, each naming `source_name` and its line.
    pub fn parse(name: &str, source_name: &str, text: &str) -> Result<Self, Vec<HolidayError>> {
        let mut holidays = BTreeSet::new();
        let mut problems = Vec::new();
        for (at, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let first = line.split_whitespace().next().unwrap_or_default();
            let problem = match NaiveDate::parse_from_str(first, "%Y-%m-%d") {
                Ok(date) if is_weekend(date) => {
                    Some(format!("{first} is a weekend day, never a trading day"))
                }
                Ok(date) if !holidays.insert(date) => Some(format!("{first} is listed twice")),
                Ok(_) => None,
                Err(_) => Some(format!("expected a date YYYY-MM-DD, got {first:?}")),
            };
            if let Some(problem) = problem {
                problems.push(HolidayError { source_name: source_name.to_owned(), line: at + 1, problem });
            }
        }
        if problems.is_empty() { Ok(Calendar { name: name.to_owned(), holidays }) } else { Err(problems) }
    }

    /// The shipped New York Stock Exchange calendar.
    pub fn xnys() -> Self {
        Calendar::parse("XNYS", "built-in xnys", XNYS_HOLIDAYS)
            .unwrap_or_else(|_| Calendar { name: "XNYS".into(), holidays: BTreeSet::new() })
    }

    /// Whether the exchange trades on `date`.
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        !is_weekend(date) && !self.holidays.contains(&date)
    }

    /// The first trading day after `date`.
    pub fn next_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        let mut day = date.succ_opt()?;
        while !self.is_trading_day(day) {
            day = day.succ_opt()?;
        }
        Some(day)
    }

    /// `date` when it is a trading day, else the first one after it.
    pub fn on_or_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        if self.is_trading_day(date) { Some(date) } else { self.next_after(date) }
    }

    /// The trading day `days` trading days before `date` (`date` itself not counted).
    pub fn back(&self, date: NaiveDate, days: u32) -> Option<NaiveDate> {
        let mut day = date;
        for _ in 0..days {
            day = day.pred_opt()?;
            while !self.is_trading_day(day) {
                day = day.pred_opt()?;
            }
        }
        Some(day)
    }

    /// The newest holiday listed: after it the calendar knows only weekends.
    pub fn last_holiday(&self) -> Option<NaiveDate> {
        self.holidays.last().copied()
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn skips_weekends_and_listed_holidays() {
        let calendar = Calendar::xnys();
        assert_eq!(calendar.name, "XNYS");
        // Thursday 3 July 2025, Independence Day on the Friday, then the weekend.
        assert_eq!(calendar.next_after(date("2025-07-03")), Some(date("2025-07-07")));
        assert!(!calendar.is_trading_day(date("2025-12-25")) && calendar.is_trading_day(date("2025-12-24")));
        assert_eq!(calendar.on_or_after(date("2025-07-05")), Some(date("2025-07-07")));
        // Five trading days before Monday 7 July 2025: 27 June (4 July closed).
        assert_eq!(calendar.back(date("2025-07-07"), 5), Some(date("2025-06-27")));
        assert_eq!(calendar.back(date("2025-07-07"), 0), Some(date("2025-07-07")));
        assert!(calendar.last_holiday() >= Some(date("2027-12-24")));
    }

    #[test]
    fn lists_every_bad_line_with_its_number() {
        let text = "# a comment\n\n2025-01-01 New Year\nnot-a-date\n2025-01-04 a Saturday\n2025-01-01\n";
        let problems = Calendar::parse("X", "holidays.txt", text).err().unwrap_or_default();
        let lines: Vec<(usize, bool)> =
            problems.iter().map(|p| (p.line, p.source_name == "holidays.txt")).collect();
        assert_eq!(lines, [(4, true), (5, true), (6, true)]);
        assert!(problems[0].to_string().starts_with("holidays.txt:4: expected a date"));
        assert!(problems[1].problem.contains("weekend") && problems[2].problem.contains("twice"));
    }
}
