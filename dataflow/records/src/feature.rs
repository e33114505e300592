use super::{Bar, FeatureRow};

impl FeatureRow {
    /// The row for a bar with no indicator joined yet.
    pub fn from_bar(bar: &Bar) -> Self {
        FeatureRow {
            ticker: bar.ticker.to_string(),
            timeframe: bar.timeframe,
            date_time: bar.datetime,
            close: bar.adjusted_close(),
            adjustment_factor: bar.adjustment_factor,
            ..FeatureRow::default()
        }
    }
}
