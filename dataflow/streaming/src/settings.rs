//! The settings that shape a mart row or a forecast, and their fingerprint: stored with every
//! commit, so that a start with other settings (a new `features.horizon_bars`, a release whose
//! feature code changed the rows, another model scope) knows the mart was written by others
//! and rewrites it.
//!
//! The indicator periods are not here: they travel inside every indicator value, and the
//! extractor re-publishes a value whose periods change, which replaces it in the mart.

use crate::config::{JobConfig, ScopeSetting};
use pricestream_features::FEATURE_SCHEMA_VERSION;
use std::hash::{Hash, Hasher};

/// The row-shaping settings of a run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowShape {
    horizon_bars: u32,
    feature_schema: u32,
    model_scope: &'static str,
}

impl RowShape {
    /// The settings of `config` and this build.
    pub fn of(config: &JobConfig) -> Self {
        RowShape {
            horizon_bars: config.features.horizon_bars,
            feature_schema: FEATURE_SCHEMA_VERSION,
            model_scope: match config.model.scope {
                ScopeSetting::PerTicker => "per_ticker",
                ScopeSetting::Global => "global",
            },
        }
    }

    /// The settings, readable, for the log.
    pub fn describe(&self) -> String {
        format!(
            "features.horizon_bars={} feature_schema={} model.scope={}",
            self.horizon_bars, self.feature_schema, self.model_scope
        )
    }

    /// A short fingerprint (16 hex digits) that every process and release computes alike.
    pub fn fingerprint(&self) -> String {
        // `DefaultHasher::new()` has fixed keys; the text keeps the hash independent of field layout.
        let mut hasher = std::hash::DefaultHasher::new();
        self.describe().hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_follows_the_horizon_and_nothing_unrelated() {
        let config = JobConfig::default();
        let base = RowShape::of(&config).fingerprint();
        assert_eq!(base.len(), 16);
        let mut longer = config.clone();
        longer.features.horizon_bars = 5;
        assert_ne!(RowShape::of(&longer).fingerprint(), base);
        let mut unrelated = config;
        unrelated.consumer.epoch_max_records = 7;
        assert_eq!(RowShape::of(&unrelated).fingerprint(), base);
    }
}
