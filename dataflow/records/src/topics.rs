//! The Kafka topics pricestream reads and writes. Their message formats are
//! documented in `docs/topics.md`.

/// Names of pricestream's topics, all sharing one configurable prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    /// Every bar the extractor reads (key: ticker; value: [`crate::Bar`]).
    pub bars: String,
    /// Every indicator value (key: ticker; value: [`crate::IndicatorRecord`]).
    pub indicators: String,
    /// Changelog of the feature mart (key: ticker and date; value: [`crate::FeatureRow`]).
    pub features: String,
    /// Model forecasts (key: ticker; value: [`crate::Prediction`]).
    pub predictions: String,
    /// Records the extractor refused (key: source; value: [`crate::DeadLetter`]).
    pub dead_letter: String,
    /// Splits and cash dividends (key: ticker; value: [`crate::CorporateAction`]).
    pub corporate_actions: String,
    /// Data-quality findings and their resolutions (key: ticker; value: [`crate::QualityFinding`]).
    pub data_quality: String,
    /// Trading days declared complete or closed by their deadline, in order (key: calendar).
    pub trading_days: String,
}

impl Topics {
    /// The topic names under `prefix`, e.g. `pricestream.` gives `pricestream.bars`.
    pub fn with_prefix(prefix: &str) -> Self {
        Topics {
            bars: format!("{prefix}bars"),
            indicators: format!("{prefix}indicators"),
            features: format!("{prefix}features"),
            predictions: format!("{prefix}predictions"),
            dead_letter: format!("{prefix}dead-letter"),
            corporate_actions: format!("{prefix}corporate-actions"),
            data_quality: format!("{prefix}data-quality"),
            trading_days: format!("{prefix}trading-days"),
        }
    }

    /// All topic names.
    pub fn all(&self) -> [&str; 8] {
        [
            &self.bars,
            &self.indicators,
            &self.features,
            &self.predictions,
            &self.dead_letter,
            &self.corporate_actions,
            &self.data_quality,
            &self.trading_days,
        ]
    }
}

/// How the `predictions` topic is created: every forecast is kept (`retention.ms=-1`), so the
/// topic is the history of what was forecast when; `instrument_mart.predictions` keeps the latest
/// forecast per as-of date.
pub const PREDICTIONS_RETENTION: Retention = Retention::Forever;

/// How long a topic keeps its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Every message, forever (`retention.ms=-1`): the input topics are the
    /// history the analytics service rebuilds its state from.
    Forever,
    /// The last message per key (`cleanup.policy=compact`): a changelog whose
    /// replay gives the current table.
    Compacted,
}

impl Retention {
    /// The topic setting that gives this retention, as (key, value).
    pub fn setting(self) -> (&'static str, &'static str) {
        match self {
            Retention::Forever => ("retention.ms", "-1"),
            Retention::Compacted => ("cleanup.policy", "compact"),
        }
    }
}

/// Header carrying the extraction run id on every message.
pub const TASK_NUMBER_HEADER: &str = "task_number";
/// Header carrying the schema version of the value.
pub const SCHEMA_VERSION_HEADER: &str = "schema_version";
/// Header of the analytics service's outputs (feature changes, forecasts): when pricestream knew
/// them, ms since the Unix epoch, the `known_from` of their version in the history tables.
pub const KNOWN_FROM_HEADER: &str = "known_from";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_share_the_prefix() {
        let topics = Topics::with_prefix("pricestream.");
        assert_eq!(topics.bars, "pricestream.bars");
        assert_eq!(topics.all().len(), 8);
        assert_eq!(topics.trading_days, "pricestream.trading-days");
        assert_eq!(topics.corporate_actions, "pricestream.corporate-actions");
        assert_eq!(topics.data_quality, "pricestream.data-quality");
        assert_eq!(topics.dead_letter, "pricestream.dead-letter");
        assert!(topics.all().iter().all(|t| t.starts_with("pricestream.")));
    }
}
