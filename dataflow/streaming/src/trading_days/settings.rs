//! `[trading_days]`: the exchange calendar, the universe and the deadline of the trading-day
//! frontier.

use pricestream_runtime::config::Problems;
use pricestream_trading_days::{Calendar, FrontierSettings, Universe};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The trading-day frontier (`docs/trading-days.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TradingDaySettings {
    /// Declare trading days on the `trading-days` topic.
    pub enabled: bool,
    /// The calendar's name, carried by each event and used as the message key.
    pub calendar: String,
    /// A holiday file (one `YYYY-MM-DD` per line, `#` comments); empty = the shipped New York
    /// Stock Exchange list.
    pub holidays_file: Option<PathBuf>,
    /// The tickers each day waits for; empty = every ticker with a bar in the
    /// `universe_recent_days` trading days before the day.
    pub universe: Vec<String>,
    /// How many trading days back a ticker's last bar keeps it in the universe (when
    /// `universe` is empty).
    pub universe_recent_days: u32,
    /// How long a day waits for missing tickers after its first bar (or a later day's).
    pub deadline_ms: u64,
}

impl Default for TradingDaySettings {
    fn default() -> Self {
        TradingDaySettings {
            enabled: true,
            calendar: "XNYS".into(),
            holidays_file: None,
            universe: Vec::new(),
            universe_recent_days: 5,
            deadline_ms: 3_600_000,
        }
    }
}

impl TradingDaySettings {
    /// The calendar: the holiday file's, or the shipped one.
    pub fn load_calendar(&self) -> Result<Calendar, Vec<String>> {
        let Some(path) = &self.holidays_file else {
            let mut calendar = Calendar::xnys();
            calendar.name.clone_from(&self.calendar);
            return Ok(calendar);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| vec![format!("cannot read {}: {error}", path.display())])?;
        Calendar::parse(&self.calendar, &path.display().to_string(), &text)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }

    /// The frontier's rules.
    pub fn frontier(&self) -> FrontierSettings {
        let universe = match self.universe.as_slice() {
            [] => Universe::Recent(self.universe_recent_days),
            tickers => Universe::Tickers(tickers.iter().cloned().collect()),
        };
        FrontierSettings { universe, deadline: Duration::from_millis(self.deadline_ms) }
    }

    /// Reports every problem of the section, the holiday file's lines included.
    pub fn validate(&self, problems: &mut Problems) {
        if !self.enabled {
            return;
        }
        problems.check(
            !self.calendar.is_empty() && !self.calendar.contains(char::is_whitespace),
            "trading_days.calendar",
            format_args!("must be a name without spaces, e.g. \"XNYS\", got {:?}", self.calendar),
        );
        problems.at_least("trading_days.universe_recent_days", self.universe_recent_days, 1);
        problems.at_least("trading_days.deadline_ms", self.deadline_ms, 100);
        for ticker in &self.universe {
            problems.check(
                !ticker.is_empty() && !ticker.contains(char::is_whitespace),
                "trading_days.universe",
                format_args!("must hold ticker symbols (non-empty, no spaces), got {ticker:?}"),
            );
        }
        if let Err(errors) = self.load_calendar() {
            for error in errors {
                problems.add("trading_days.holidays_file", format_args!("has a problem: {error}"));
            }
        }
    }
}
