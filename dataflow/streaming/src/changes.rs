//! Turns one epoch's feature-row updates (retractions and insertions) into
//! what the mart needs: rows to upsert, each with what it replaces, and keys to delete.

use chrono::NaiveDate;
use pricestream_cassandra::Replaces;
use pricestream_features::FeatureRecord;
use pricestream_records::{FeatureRow, Timeframe};
use std::collections::BTreeMap;

/// The mart writes of one epoch.
#[derive(Debug, Default)]
pub struct RowChanges {
    /// Rows that are new or changed, with the version they replace (the mart holds what the
    /// dataflow held: a row without a retraction is new).
    pub upserts: Vec<(FeatureRow, Replaces)>,
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
        let mut retracted = BTreeMap::new();
        for (record, diff) in net {
            if diff > 0 {
                inserted.insert(record.key.clone(), record);
            } else if diff < 0 {
                retracted.insert(record.key.clone(), record);
            }
        }
        let deletes = retracted
            .keys()
            .filter(|key| !inserted.contains_key(*key))
            .map(|(series, date)| (series.ticker.clone(), series.timeframe, *date))
            .collect();
        let upserts = inserted
            .into_iter()
            .map(|(key, record)| {
                let replaces = match retracted.remove(&key) {
                    Some(old) => Replaces::Row(Box::new(old.to_feature_row())),
                    None => Replaces::Nothing,
                };
                (record.to_feature_row(), replaces)
            })
            .collect();
        RowChanges { upserts, deletes }
    }

    /// The rows upserted.
    pub fn rows(&self) -> impl Iterator<Item = &FeatureRow> {
        self.upserts.iter().map(|(row, _)| row)
    }

    /// Every upsert as replacing whatever the table holds (a rewrite, where the table may
    /// hold rows of other settings).
    pub fn replacing_anything(mut self) -> Self {
        self.upserts.iter_mut().for_each(|(_, replaces)| *replaces = Replaces::Unknown);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_features::SeriesKey;

    fn record(day: u32, close: f64) -> FeatureRecord {
        let series = SeriesKey { ticker: "T".into(), timeframe: Timeframe::Day };
        let date = NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default();
        FeatureRecord {
            key: (series, date),
            id: u64::from(day),
            close: close.into(),
            label: None,
            indicators: Default::default(),
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
            (record(5, 14.0), 1),
        ]);
        let upserted: Vec<f64> = changes.rows().map(|row| row.close).collect();
        assert_eq!(upserted, [11.0, 14.0]);
        let replaced: Vec<Option<f64>> = changes
            .upserts
            .iter()
            .map(|(_, replaces)| match replaces {
                Replaces::Row(old) => Some(old.close),
                _ => None,
            })
            .collect();
        assert_eq!(replaced, [Some(10.0), None], "a correction replaces its old row; a new row nothing");
        let deleted: Vec<u32> = changes.deletes.iter().map(|(_, _, d)| chrono::Datelike::day(d)).collect();
        assert_eq!(deleted, [3]);
    }
}
