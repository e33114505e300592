//! The message of the `trading-days` topic: one per trading day, in calendar order.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Why a day was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    /// Every ticker of the universe has its bar for the day in the mart.
    Complete,
    /// The deadline after the day's first bar passed; `missing` lists who had none.
    Deadline,
    /// Every forecast of the day is written, after the day was declared: `expected` tickers had
    /// their bar, `arrived` of them have a forecast, `missing` lists those whose model scope
    /// had no model yet (no forecast to wait for).
    ForecastsComplete,
}

impl DayStatus {
    /// Whether this declares the day itself (rather than its forecasts).
    pub fn declares_the_day(self) -> bool {
        matches!(self, DayStatus::Complete | DayStatus::Deadline)
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DayStatus::Complete => "complete",
            DayStatus::Deadline => "deadline",
            DayStatus::ForecastsComplete => "forecasts_complete",
        }
    }
}

/// One trading day declared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayEvent {
    /// The exchange calendar (e.g. `XNYS`); also the message key.
    pub calendar: String,
    /// The trading day.
    pub day: NaiveDate,
    /// Complete, or closed by the deadline.
    pub status: DayStatus,
    /// Tickers expected: the universe of the day, and any other ticker that has its bar.
    pub expected: usize,
    /// Tickers whose bar for the day is in the mart.
    pub arrived: usize,
    /// Expected tickers without a bar, sorted.
    pub missing: Vec<String>,
    /// When pricestream declared the day.
    pub declared_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_format_is_camel_case_with_a_snake_case_status() {
        let event = DayEvent {
            calendar: "XNYS".into(),
            day: NaiveDate::from_ymd_opt(2025, 7, 7).unwrap_or_default(),
            status: DayStatus::Deadline,
            expected: 3,
            arrived: 2,
            missing: vec!["ORCL".into()],
            declared_at: DateTime::from_timestamp_millis(1_751_900_000_000).unwrap_or_default(),
        };
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"calendar": "XNYS", "day": "2025-07-07", "status": "deadline", "expected": 3,
                "arrived": 2, "missing": ["ORCL"], "declaredAt": "2025-07-07T14:53:20Z"})
        );
        assert_eq!(serde_json::from_value::<DayEvent>(json).ok(), Some(event));
    }
}
