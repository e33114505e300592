//! The JSON wire format of every record on Kafka: the record's own fields plus
//! a `schema_version`, so consumers can tell formats apart when they change.
//!
//! Version 1 field names and types are documented in `docs/topics.md`.

mod checked;

pub use checked::{Refusal, RefusalReason, decode_bar, decode_indicator};

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

/// Encodes a record as one JSON object carrying `schema_version`.
pub fn encode<T: Serialize + ?Sized>(record: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_into(record, &mut out);
    out
}

/// The opening of every message: the object and its `schema_version`.
const OPENING: &[u8] = b"{\"schema_version\":1";
const _: () = assert!(SCHEMA_VERSION == 1, "OPENING spells the version out");

/// Appends `record`, encoded as by [`encode`], to `out` (a buffer reused across messages).
///
/// serde_json writes the record; only the framing is done here: the version goes in front of
/// the record's own fields, in the same object. (A `#[serde(flatten)]` wrapper writes the same
/// bytes through serde's map machinery, which cost 2.5 % of a real backfill's CPU.)
pub fn encode_into<T: Serialize + ?Sized>(record: &T, out: &mut Vec<u8>) {
    out.extend_from_slice(OPENING);
    let start = out.len();
    // Our records are plain structs of strings and numbers, and a Vec takes every byte:
    // serialisation cannot fail.
    if let Err(error) = serde_json::to_writer(&mut *out, record) {
        unreachable!("a record failed to serialise: {error}");
    }
    // The record's own object, `{…}` or `{}`: its brace becomes the separator after the version.
    match out.get(start..start + 2) {
        Some(b"{}") => {
            out.truncate(start);
            out.push(b'}');
        }
        Some([b'{', _]) => out[start] = b',',
        _ => unreachable!("a record is a JSON object"),
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
        let record = crate::examples::macd();
        let json: serde_json::Value = serde_json::from_slice(&encode(&record)).unwrap_or_default();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["indicator"], "macd");
        assert_eq!(json["fastPeriod"], 12);
        assert_eq!(json["macdSignal"], 0.25);
        assert_eq!(json["timeframe"], "1day");
        assert_eq!(json["datetime"], "2024-01-02");
        let back: IndicatorRecord = decode(&encode(&record)).expect("decodes");
        assert_eq!(back, record);
    }

    /// The bytes consumers have always received (the layout of `docs/topics.md`): field order,
    /// number and date formats, the tag inline.
    #[test]
    fn messages_keep_their_documented_bytes() {
        let task = uuid::Uuid::from_u128(0x6f1c_0000_0000_4000_8000_0000_0000_0001);
        let bar = crate::Bar {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(1999, 1, 22).unwrap_or_default(),
            open: 1.75,
            high: 1.953125,
            low: 1.552083,
            close: 1.640625,
            volume: 67_867_200,
            task_number: task,
            adjustment_factor: 1.0,
            source: None,
        };
        assert_eq!(
            String::from_utf8(encode(&bar)).unwrap_or_default(),
            r#"{"schema_version":1,"ticker":"NVDA","timeframe":"1day","datetime":"1999-01-22","open":1.75,"high":1.953125,"low":1.552083,"close":1.640625,"volume":67867200,"task_number":"6f1c0000-0000-4000-8000-000000000001","adjustment_factor":1.0}"#
        );
        let record = IndicatorRecord {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default(),
            task_number: task,
            value: IndicatorValue::Macd {
                fast_period: 12,
                slow_period: 26,
                signal_period: 9,
                macd: 0.21,
                macd_signal: 0.18,
                macd_hist: 3e-7,
            },
        };
        let expected = r#"{"schema_version":1,"ticker":"NVDA","timeframe":"1day","datetime":"2014-12-31","task_number":"6f1c0000-0000-4000-8000-000000000001","indicator":"macd","fastPeriod":12,"slowPeriod":26,"signalPeriod":9,"macd":0.21,"macdSignal":0.18,"macdHist":3e-7}"#;
        assert_eq!(String::from_utf8(encode(&record)).unwrap_or_default(), expected);
        assert_eq!(String::from_utf8(encode(&record.row())).unwrap_or_default(), expected);
    }

    #[test]
    fn a_record_without_fields_is_the_version_alone() {
        #[derive(Serialize)]
        struct Empty {}
        assert_eq!(encode(&Empty {}), br#"{"schema_version":1}"#);
        let mut out = b"previous".to_vec();
        encode_into(&Empty {}, &mut out);
        assert_eq!(out, br#"previous{"schema_version":1}"#, "appends, never touches what was there");
    }

    #[test]
    fn refuses_other_schema_versions() {
        let err = decode::<IndicatorRecord>(br#"{"schema_version":2}"#);
        assert!(matches!(err, Err(WireError::UnsupportedVersion { found: 2 })));
        assert!(matches!(decode::<IndicatorRecord>(b"not json"), Err(WireError::Malformed(_))));
    }
}
