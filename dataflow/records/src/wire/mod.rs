//! The JSON wire format of every record on Kafka: the record's own fields plus
//! a `schema_version`, so consumers can tell formats apart when they change.
//!
//! Version 1 field names and types are documented in `docs/topics.md`.

mod checked;
mod hand_written;
mod head;
mod indicator_tail;
mod short_decimal;
mod spare;

pub use checked::{Refusal, RefusalReason, decode_bar, decode_indicator};
pub use hand_written::{BarMessages, IndicatorMessages};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u16 = 1;

/// Why a message could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not JSON, or fields missing or of the wrong type.
    #[error("malformed record: {0}")]
    Malformed(#[source] serde_json::Error),
    /// Written by a newer or older, incompatible producer.
    #[error("unsupported schema_version {found}; this build reads version {SCHEMA_VERSION}")]
    UnsupportedVersion {
        /// The version found in the message.
        found: u16,
    },
}

#[derive(Deserialize)]
struct VersionOnly {
    schema_version: u16,
}

/// A record that travels on Kafka. The default encoding goes through serde; the
/// extractor's two most frequent records (bars and indicator values, eight messages
/// per bar) are written by hand in [`hand_written`], byte for byte what serde writes.
pub trait WireRecord: Serialize {
    /// Appends the record, `schema_version` first, as one JSON object to `out`.
    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_with_serde(self, out);
    }
}

/// A borrowed record is written as the record.
impl<T: WireRecord + ?Sized> WireRecord for &T {
    fn encode_into(&self, out: &mut Vec<u8>) {
        (**self).encode_into(out);
    }
}

impl WireRecord for crate::DeadLetter {}
impl WireRecord for crate::FeatureChange {}
impl WireRecord for crate::Prediction {}

/// Encodes a record as one JSON object carrying `schema_version`.
pub fn encode<T: WireRecord + ?Sized>(record: &T) -> Vec<u8> {
    // The most a hand-written encoder reserves, so that it never grows the Vec again.
    let mut out = Vec::with_capacity(hand_written::MAX_ROOM);
    record.encode_into(&mut out);
    out
}

/// The opening of every version-1 message.
pub(crate) const PREFIX: &[u8] = b"{\"schema_version\":1";
const _: () = assert!(SCHEMA_VERSION == 1, "update PREFIX with the version");

/// [`WireRecord::encode_into`] through serde: the version, then the record's own fields.
pub fn encode_with_serde<T: Serialize + ?Sized>(record: &T, out: &mut Vec<u8>) {
    // The version goes first, written by hand: serde's `flatten` would route every
    // field through a slow map serialiser.
    let start = out.len();
    out.extend_from_slice(PREFIX);
    // Our records are plain structs of strings and numbers: serialisation cannot fail.
    if serde_json::to_writer(&mut *out, record).is_err() {
        out.truncate(start);
        return;
    }
    // `out` now ends in `{"schema_version":1{...}`: turn the record's `{` into a `,`
    // (or drop it with its `}` for a record without fields).
    let brace = start + PREFIX.len();
    match out.get(brace + 1) {
        Some(b'}') => {
            out.truncate(brace);
            out.push(b'}');
        }
        _ => out[brace] = b',',
    }
}

/// Decodes a record written by [`encode`], checking its schema version first.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let VersionOnly { schema_version } = serde_json::from_slice(bytes).map_err(WireError::Malformed)?;
    if schema_version != SCHEMA_VERSION {
        return Err(WireError::UnsupportedVersion { found: schema_version });
    }
    serde_json::from_slice(bytes).map_err(WireError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndicatorRecord, IndicatorValue, Timeframe};
    use chrono::NaiveDate;

    #[test]
    fn indicator_records_use_the_seed_column_names() {
        let record = IndicatorRecord {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2014, 1, 2).unwrap_or_default(),
            task_number: uuid::Uuid::nil(),
            value: IndicatorValue::Macd {
                fast_period: 12,
                slow_period: 26,
                signal_period: 9,
                macd: 0.5,
                macd_signal: 0.25,
                macd_hist: 0.25,
            },
        };
        let json: serde_json::Value = serde_json::from_slice(&encode(&record)).unwrap_or_default();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["indicator"], "macd");
        assert_eq!(json["fastPeriod"], 12);
        assert_eq!(json["macdSignal"], 0.25);
        assert_eq!(json["timeframe"], "1day");
        assert_eq!(json["datetime"], "2014-01-02");
        let back: IndicatorRecord = decode(&encode(&record)).expect("decodes");
        assert_eq!(back, record);
    }

    #[test]
    fn refuses_other_schema_versions() {
        let err = decode::<IndicatorRecord>(br#"{"schema_version":2}"#);
        assert!(matches!(err, Err(WireError::UnsupportedVersion { found: 2 })));
        assert!(matches!(decode::<IndicatorRecord>(b"not json"), Err(WireError::Malformed(_))));
    }
}
