//! Data-quality findings: what the checks every quant runs by hand found in one ticker's series
//! on one day. A finding never stops the pipeline; it is published and stored, and resolved
//! when the data (or a later corporate action) no longer shows it.

use super::Ticker;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which check found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityCheck {
    /// A weekday (not a configured holiday) without a bar, between two days with one.
    CalendarGap,
    /// A close-to-close move whose ratio is near a common split ratio, which no applied
    /// corporate action explains.
    SplitLikeJump,
    /// High, low and close unchanged for the configured number of bars in a row.
    StaleBars,
    /// A bar with volume 0.
    ZeroVolume,
    /// A lake file and the market-data API delivered different prices for the day.
    SourceDisagreement,
}

impl QualityCheck {
    /// Every check, in order.
    pub const ALL: [QualityCheck; 5] = [
        QualityCheck::CalendarGap,
        QualityCheck::SplitLikeJump,
        QualityCheck::StaleBars,
        QualityCheck::ZeroVolume,
        QualityCheck::SourceDisagreement,
    ];

    /// The name on the wire, in the table and in the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            QualityCheck::CalendarGap => "calendar_gap",
            QualityCheck::SplitLikeJump => "split_like_jump",
            QualityCheck::StaleBars => "stale_bars",
            QualityCheck::ZeroVolume => "zero_volume",
            QualityCheck::SourceDisagreement => "source_disagreement",
        }
    }
}

/// One finding (key: ticker, date, check), or its resolution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityFinding {
    /// Instrument symbol.
    pub ticker: Ticker,
    /// The day it is about: the missing day of a gap, the bar after a jump, the last bar of a
    /// stale run, the bar without volume, the day two sources disagree about.
    pub date: NaiveDate,
    /// Which check.
    pub check: QualityCheck,
    /// What was seen, for people (`close 51.2 after 102.5: ratio 0.4995, near 1:2`).
    pub detail: String,
    /// The data no longer shows it (a bar filled the gap, an action explained the jump, a
    /// correction replaced the bar).
    pub resolved: bool,
}
