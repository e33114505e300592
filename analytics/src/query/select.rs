//! What a query reads: which tickers, which dates, as of when; checked with every problem
//! listed at once.

use crate::cli::{QueryArgs, QueryWhat};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::Path;

/// Which series.
#[derive(Clone, Debug, PartialEq)]
pub enum Universe {
    /// These tickers, in this order.
    Tickers(Vec<String>),
    /// Every ticker the table holds.
    All,
}

/// A checked query.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// The series.
    pub universe: Universe,
    /// First date, inclusive.
    pub from: Option<NaiveDate>,
    /// Last date, inclusive.
    pub to: Option<NaiveDate>,
    /// The rows as known at this instant (from the history), instead of the current ones.
    pub as_of: Option<DateTime<Utc>>,
    /// Only rows with a label (the training set).
    pub labelled_only: bool,
}

impl Selection {
    /// The selection of `args`, or every problem with them, one per line.
    pub fn of(args: &QueryArgs) -> Result<Selection, String> {
        let mut problems = Vec::new();
        let mut tickers = args.ticker.clone();
        if let Some(file) = &args.tickers {
            match read_tickers(file) {
                Ok(listed) => tickers.extend(listed),
                Err(problem) => problems.push(problem),
            }
        }
        for ticker in &tickers {
            if ticker.is_empty() || ticker.chars().any(char::is_whitespace) {
                problems.push(format!("ticker {ticker:?}: must be one word"));
            }
        }
        let universe = match (args.all, tickers.is_empty()) {
            (true, true) => Universe::All,
            (true, false) => {
                problems.push("--all: give it without --ticker or --tickers".into());
                Universe::All
            }
            (false, true) if args.tickers.is_none() => {
                problems.push("which tickers? Give --ticker T (repeatable), --tickers FILE or --all".into());
                Universe::All
            }
            (false, _) => Universe::Tickers(tickers),
        };
        if args.as_of.is_some() && args.what.in_warehouse() {
            problems.push(
                "--as-of: bars, indicators and actions are read as the warehouse holds them now \
                 (it keeps no versions); --as-of reads features, training-set and predictions"
                    .into(),
            );
        }
        if let (Some(from), Some(to)) = (args.from, args.to)
            && from > to
        {
            problems.push(format!("--from {from} is after --to {to}"));
        }
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        Ok(Selection {
            universe,
            from: args.from,
            to: args.to,
            as_of: args.as_of,
            labelled_only: args.what == QueryWhat::TrainingSet,
        })
    }

    /// Whether a row of `date` (and with a label or not) is selected.
    pub fn keeps(&self, date: NaiveDate, labelled: bool) -> bool {
        self.from.is_none_or(|from| date >= from)
            && self.to.is_none_or(|to| date <= to)
            && (labelled || !self.labelled_only)
    }

    /// Whether rows dated in `year` can be selected.
    pub fn spans(&self, year: i32) -> bool {
        use chrono::Datelike;
        self.from.is_none_or(|from| year >= from.year()) && self.to.is_none_or(|to| year <= to.year())
    }
}

/// The tickers of a file: one per line; blank lines and `#` comments are skipped.
fn read_tickers(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--tickers {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

/// An instant of `--as-of`: RFC 3339 (`2026-12-07T18:00:00Z`, `…+01:00`) or a date, which
/// means its midnight UTC.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    match text.parse::<NaiveDate>() {
        Ok(date) => Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
        Err(_) => Err(format!("{text:?} is neither an RFC 3339 instant (2026-12-07T18:00:00Z) nor a date")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn selection(line: &str) -> Result<Selection, String> {
        let cli = crate::cli::Cli::try_parse_from(line.split_whitespace()).map_err(|e| e.to_string())?;
        match cli.command {
            crate::cli::Command::Query(args) => Selection::of(&args),
            _ => Err("not a query".into()),
        }
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let problems = selection("pricestream-analytics query features --from 2024-02-01 --to 2024-01-01")
            .expect_err("two problems");
        assert!(problems.contains("which tickers?"), "{problems}");
        assert!(problems.contains("--from 2024-02-01 is after --to 2024-01-01"), "{problems}");
        let problems =
            selection("pricestream-analytics query features --all --ticker NVDA").expect_err("both");
        assert!(problems.contains("--all"), "{problems}");
        let problems =
            selection("pricestream-analytics query bars --all --as-of 2024-01-01").expect_err("no versions");
        assert!(problems.contains("--as-of: bars, indicators and actions"), "{problems}");
    }

    #[test]
    fn a_training_set_keeps_only_labelled_rows_in_the_dates_asked() {
        let chosen = selection(
            "pricestream-analytics query training-set --ticker NVDA --ticker ORCL --from 2024-01-02 --as-of 2024-03-01",
        )
        .expect("valid");
        assert_eq!(chosen.universe, Universe::Tickers(vec!["NVDA".into(), "ORCL".into()]));
        assert_eq!(chosen.as_of, parse_instant("2024-03-01T00:00:00Z").ok());
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default();
        assert!(chosen.keeps(day(2), true));
        assert!(!chosen.keeps(day(2), false), "no label");
        assert!(!chosen.keeps(day(1), true), "before --from");
        assert!(chosen.spans(2025) && !chosen.spans(2023));
        assert_eq!(parse_instant("2026-12-07T19:00:00+01:00"), parse_instant("2026-12-07T18:00:00Z"));
        assert!(parse_instant("yesterday").is_err());
    }
}
