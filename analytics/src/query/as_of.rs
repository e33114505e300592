//! A bitemporal read: the rows as pricestream knew them at one instant, from their versions.

use chrono::{DateTime, Utc};
use pricestream_cassandra::StoredVersion;

/// Of `versions` (each key's versions together, oldest first, as a history partition holds
/// them), the version of each key known at `at`, with its `known_from`: the newest with
/// `known_from <= at`, left out when that version is a deletion or there is none.
pub fn known_at<R>(versions: Vec<StoredVersion<R>>, at: DateTime<Utc>) -> Vec<(R, DateTime<Utc>)> {
    let mut out = Vec::new();
    // The newest version so far of the key being read, if known at `at`.
    let mut current: Option<StoredVersion<R>> = None;
    let flush = |current: Option<StoredVersion<R>>, out: &mut Vec<(R, DateTime<Utc>)>| {
        if let Some(StoredVersion { row: Some(row), known_from, .. }) = current {
            out.push((row, known_from));
        }
    };
    let mut key = None;
    for version in versions {
        if key.as_ref() != Some(&version.key) {
            flush(current.take(), &mut out);
            key = Some(version.key.clone());
        }
        if version.known_from <= at {
            current = Some(version);
        }
    }
    flush(current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use pricestream_records::{FeatureRow, Timeframe};

    fn version(day: u32, at: i64, close: Option<f64>) -> StoredVersion<FeatureRow> {
        let date = NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default();
        let row = close.map(|close| FeatureRow {
            ticker: "A".into(),
            date_time: date,
            close,
            ..FeatureRow::default()
        });
        StoredVersion {
            key: ("A".into(), Timeframe::Day, date),
            known_from: DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default(),
            row,
        }
    }

    fn closes(versions: Vec<StoredVersion<FeatureRow>>, at: i64) -> Vec<(u32, f64, i64)> {
        let at = DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default();
        known_at(versions, at)
            .into_iter()
            .map(|(row, known_from)| {
                (chrono::Datelike::day(&row.date_time), row.close, known_from.timestamp_millis())
            })
            .collect()
    }

    #[test]
    fn each_key_shows_its_newest_version_known_then_and_deletions_hide_it() {
        // Day 1: 10 at t=100, corrected to 11 at t=200. Day 2: 20 at t=150, deleted at t=250.
        // Day 3: first known at t=300.
        let versions = || {
            vec![
                version(1, 100, Some(10.0)),
                version(1, 200, Some(11.0)),
                version(2, 150, Some(20.0)),
                version(2, 250, None),
                version(3, 300, Some(30.0)),
            ]
        };
        assert_eq!(closes(versions(), 99), []);
        assert_eq!(closes(versions(), 100), [(1, 10.0, 100)]);
        assert_eq!(closes(versions(), 199), [(1, 10.0, 100), (2, 20.0, 150)]);
        assert_eq!(closes(versions(), 200), [(1, 11.0, 200), (2, 20.0, 150)]);
        assert_eq!(closes(versions(), 250), [(1, 11.0, 200)]);
        assert_eq!(closes(versions(), 1_000), [(1, 11.0, 200), (3, 30.0, 300)]);
    }
}
