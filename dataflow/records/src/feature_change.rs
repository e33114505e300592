use super::{FeatureRow, Timeframe};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One message of the feature-mart changelog: a row that is new or changed, or
/// the key of a row that went away. An upsert carries every column of the row
/// (missing values as `null`, `op` = `upsert`); a delete is a tombstone, the key
/// with a null value ([`FeatureChange::payload`]), as compacted-topic readers
/// expect. (The `op` = `delete` body of older releases still decodes.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum FeatureChange {
    /// Insert or replace the row with this key.
    Upsert(Box<FeatureRow>),
    /// Delete the row with this key.
    Delete(FeatureKey),
}

/// The key of a feature row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureKey {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Trading day of the bar.
    pub date_time: NaiveDate,
}

impl FeatureKey {
    /// The Kafka message key: `TICKER|timeframe|YYYY-MM-DD`, so every version of
    /// one row lands in one partition, in order, and log compaction keeps the last.
    pub fn message_key(&self) -> String {
        format!("{}|{}|{}", self.ticker, self.timeframe, self.date_time)
    }

    /// The key a [`FeatureKey::message_key`] names; `None` when it names none.
    pub fn parse_message_key(key: &str) -> Option<FeatureKey> {
        let mut parts = key.split('|');
        let (ticker, timeframe, date) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ticker.is_empty() {
            return None;
        }
        Some(FeatureKey {
            ticker: ticker.to_owned(),
            timeframe: timeframe.parse().ok()?,
            date_time: date.parse().ok()?,
        })
    }
}

impl FeatureChange {
    /// The key of the row this change is about.
    pub fn key(&self) -> FeatureKey {
        match self {
            FeatureChange::Upsert(row) => {
                FeatureKey { ticker: row.ticker.clone(), timeframe: row.timeframe, date_time: row.date_time }
            }
            FeatureChange::Delete(key) => key.clone(),
        }
    }

    /// The message value: the encoded row of an upsert, `None` (a tombstone) for a delete.
    pub fn payload(&self) -> Option<Vec<u8>> {
        match self {
            FeatureChange::Upsert(_) => Some(super::wire::encode(self)),
            FeatureChange::Delete(_) => None,
        }
    }

    /// The change a changelog message stands for: a tombstone (no value) deletes the row its key
    /// names; a value is decoded as [`super::wire::decode`] does.
    pub fn from_message(key: &str, payload: Option<&[u8]>) -> Result<FeatureChange, super::wire::WireError> {
        match payload {
            Some(bytes) => super::wire::decode(bytes),
            None => FeatureKey::parse_message_key(key).map(FeatureChange::Delete).ok_or_else(|| {
                super::wire::WireError::Malformed(serde::de::Error::custom(format!(
                    "a tombstone whose key {key:?} names no feature row"
                )))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    #[test]
    fn a_delete_is_a_tombstone_and_reads_back_from_its_key() {
        let key = FeatureKey {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            date_time: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default(),
        };
        let delete = FeatureChange::Delete(key.clone());
        assert_eq!(delete.payload(), None);
        let message_key = key.message_key();
        assert_eq!(FeatureChange::from_message(&message_key, None).ok(), Some(delete.clone()));
        // The body older releases wrote still reads.
        assert_eq!(
            FeatureChange::from_message(&message_key, Some(&wire::encode(&delete))).ok(),
            Some(delete)
        );
        assert!(FeatureChange::from_message("NVDA|1day", None).is_err());
        assert!(FeatureChange::from_message("NVDA|1day|someday", None).is_err());
    }

    #[test]
    fn upserts_and_deletes_carry_op_and_key_fields() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default();
        let row = FeatureRow {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            date_time: date,
            id: Some(3),
            close: 1.5,
            ..FeatureRow::default()
        };
        let upsert = FeatureChange::Upsert(Box::new(row));
        let json: serde_json::Value = serde_json::from_slice(&wire::encode(&upsert)).unwrap_or_default();
        assert_eq!(json["op"], "upsert");
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["dateTime"], "2024-01-02");
        assert_eq!(json["ema"], serde_json::Value::Null);
        assert_eq!(wire::decode::<FeatureChange>(&wire::encode(&upsert)).ok(), Some(upsert.clone()));

        let delete = FeatureChange::Delete(upsert.key());
        let json: serde_json::Value = serde_json::from_slice(&wire::encode(&delete)).unwrap_or_default();
        assert_eq!(json["op"], "delete");
        assert_eq!(json["ticker"], "NVDA");
        assert_eq!(delete.key().message_key(), "NVDA|1day|2024-01-02");
    }
}
