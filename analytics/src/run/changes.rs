//! Turns one epoch's feature-row updates (retractions and insertions) into
//! what the mart needs: rows to upsert and keys to delete.

use chrono::NaiveDate;
use pricestream_dataflow::features::FeatureRecord;
use pricestream_dataflow::records::{FeatureRow, Timeframe};
use std::collections::{BTreeMap, BTreeSet};

/// The mart writes of one epoch.
#[derive(Debug, Default)]
pub struct RowChanges {
    /// Rows that are new or changed.
    pub upserts: Vec<FeatureRow>,
    /// Keys whose row went away (its bar was retracted).
    pub deletes: Vec<(String, Timeframe, NaiveDate)>,
}

impl RowChanges {
    /// Nets the updates: a key with a surviving insertion is upserted with it; a key
    /// whose only net updates are retractions is deleted; a key whose updates cancel
    /// out is left alone.
    pub fn from_updates(updates: Vec<(FeatureRecord, isize)>) -> Self {
        let mut net: BTreeMap<FeatureRecord, isize> = BTreeMap::new();
        for (record, diff) in updates {
            *net.entry(record).or_default() += diff;
        }
        let mut inserted = BTreeMap::new();
        let mut retracted = BTreeSet::new();
        for (record, diff) in net {
            if diff > 0 {
                inserted.insert(record.key.clone(), record);
            } else if diff < 0 {
                retracted.insert(record.key.clone());
            }
        }
        let deletes = retracted
            .into_iter()
            .filter(|key| !inserted.contains_key(key))
            .map(|(series, date)| (series.ticker, series.timeframe, date))
            .collect();
        RowChanges { upserts: inserted.values().map(FeatureRecord::to_feature_row).collect(), deletes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_dataflow::features::{F64Bits, SeriesKey};

    fn record(day: u32, close: f64) -> FeatureRecord {
        let series = SeriesKey { ticker: "T".into(), timeframe: Timeframe::Day };
        let date = NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default();
        FeatureRecord {
            key: (series, date),
            id: u64::from(day),
            close: F64Bits::new(close),
            label: None,
            indicators: vec![],
        }
    }

    #[test]
    fn a_correction_upserts_a_retraction_deletes_a_round_trip_does_nothing() {
        let changes = RowChanges::from_updates(vec![
            (record(2, 10.0), -1),
            (record(2, 11.0), 1),
            (record(3, 12.0), -1),
            (record(4, 13.0), 1),
            (record(4, 13.0), -1),
        ]);
        let upserted: Vec<f64> = changes.upserts.iter().map(|row| row.close).collect();
        assert_eq!(upserted, [11.0]);
        let deleted: Vec<u32> = changes.deletes.iter().map(|(_, _, d)| chrono::Datelike::day(d)).collect();
        assert_eq!(deleted, [3]);
    }
}
