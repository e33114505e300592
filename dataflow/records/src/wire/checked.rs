//! Decoding messages that any producer may have written: every bar and indicator value read
//! from the input topics is checked as strictly as the extractor checks a line of a file, so a
//! bad message is refused with its reason instead of reaching the mart (or stopping a service).

use super::{SCHEMA_VERSION, WireError};
use crate::{Bar, BarError, IndicatorRecord, check_ticker};
use serde_json::error::Category;

/// Why an input message was refused: the `reason` label of the rejection metrics and of the
/// dead letter it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefusalReason {
    /// No value at all (a tombstone).
    Empty,
    /// Larger than the configured bound.
    TooLarge,
    /// Not a JSON object.
    NotJson,
    /// JSON, but a field is missing, of the wrong type or of an unknown value.
    BadField,
    /// A `schema_version` this build does not read.
    UnsupportedVersion,
    /// The ticker is empty, too long or has characters a ticker cannot have.
    BadTicker,
    /// A price that is not a positive finite number.
    BadPrice,
    /// A negative volume.
    BadVolume,
    /// High below open or close, or low above them.
    InconsistentBar,
    /// An indicator number that is not finite.
    BadValue,
    /// An indicator period below 1.
    BadPeriod,
}

impl RefusalReason {
    /// Every reason, for metrics that show each from the start.
    pub const ALL: [RefusalReason; 11] = [
        RefusalReason::Empty,
        RefusalReason::TooLarge,
        RefusalReason::NotJson,
        RefusalReason::BadField,
        RefusalReason::UnsupportedVersion,
        RefusalReason::BadTicker,
        RefusalReason::BadPrice,
        RefusalReason::BadVolume,
        RefusalReason::InconsistentBar,
        RefusalReason::BadValue,
        RefusalReason::BadPeriod,
    ];

    /// The machine-readable name (`bad_ticker`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Empty => "empty",
            RefusalReason::TooLarge => "too_large",
            RefusalReason::NotJson => "not_json",
            RefusalReason::BadField => "bad_field",
            RefusalReason::UnsupportedVersion => "unsupported_version",
            RefusalReason::BadTicker => "bad_ticker",
            RefusalReason::BadPrice => "bad_price",
            RefusalReason::BadVolume => "bad_volume",
            RefusalReason::InconsistentBar => "inconsistent_bar",
            RefusalReason::BadValue => "bad_value",
            RefusalReason::BadPeriod => "bad_period",
        }
    }
}

/// A refused message: why, and what is wrong with it for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", reason.as_str())]
pub struct Refusal {
    /// Why, machine-readable.
    pub reason: RefusalReason,
    /// What is wrong.
    pub message: String,
}

impl Refusal {
    fn new(reason: RefusalReason, message: impl Into<String>) -> Self {
        Refusal { reason, message: message.into() }
    }
}

/// Decodes and checks a bar from the bars topic.
pub fn decode_bar(bytes: &[u8], max_bytes: usize) -> Result<Bar, Refusal> {
    let bar: Bar = decode(bytes, max_bytes)?;
    check_ticker(&bar.ticker).map_err(|e| Refusal::new(RefusalReason::BadTicker, e.to_string()))?;
    bar.validate().map_err(|error| {
        let reason = match error {
            BarError::EmptyTicker => RefusalReason::BadTicker,
            BarError::BadPrice { .. } => RefusalReason::BadPrice,
            BarError::NegativeVolume(_) => RefusalReason::BadVolume,
            BarError::HighTooLow { .. } | BarError::LowTooHigh { .. } => RefusalReason::InconsistentBar,
        };
        Refusal::new(reason, error.to_string())
    })?;
    Ok(bar)
}

/// Decodes and checks an indicator value from the indicators topic.
pub fn decode_indicator(bytes: &[u8], max_bytes: usize) -> Result<IndicatorRecord, Refusal> {
    let record: IndicatorRecord = decode(bytes, max_bytes)?;
    check_ticker(&record.ticker).map_err(|e| Refusal::new(RefusalReason::BadTicker, e.to_string()))?;
    record.value.validate().map_err(|error| {
        let reason = match error {
            crate::IndicatorError::NotFinite { .. } => RefusalReason::BadValue,
            crate::IndicatorError::BadPeriod { .. } => RefusalReason::BadPeriod,
        };
        Refusal::new(reason, error.to_string())
    })?;
    Ok(record)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], max_bytes: usize) -> Result<T, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::new(RefusalReason::Empty, "the message has no value"));
    }
    if bytes.len() > max_bytes {
        return Err(Refusal::new(
            RefusalReason::TooLarge,
            format!(
                "the message is {} bytes, more than consumer.max_message_bytes = {max_bytes}",
                bytes.len()
            ),
        ));
    }
    super::decode(bytes).map_err(|error| match error {
        WireError::UnsupportedVersion { found } => Refusal::new(
            RefusalReason::UnsupportedVersion,
            format!("schema_version {found}; this build reads version {SCHEMA_VERSION}"),
        ),
        WireError::Malformed(json) => {
            // JSON allows 1e999; serde_json calls a number no f64 holds a syntax error.
            let out_of_range = json.to_string().starts_with("number out of range");
            let reason = match json.classify() {
                Category::Data => RefusalReason::BadField,
                Category::Syntax if out_of_range => RefusalReason::BadField,
                Category::Io | Category::Syntax | Category::Eof => RefusalReason::NotJson,
            };
            Refusal::new(reason, json.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndicatorValue, Timeframe};
    use chrono::NaiveDate;

    const LIMIT: usize = 16 * 1024;

    use crate::examples::bar;

    /// A bar's JSON with `field` set to `value` (raw JSON text).
    fn bar_with(field: &str, value: &str) -> Vec<u8> {
        let mut json: serde_json::Value =
            serde_json::from_slice(&crate::wire::encode(&bar())).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
        json.as_object_mut().map(|object| object.insert(field.into(), value));
        json.to_string().into_bytes()
    }

    fn reason(result: Result<impl std::fmt::Debug, Refusal>) -> &'static str {
        result.map_or_else(|refusal| refusal.reason.as_str(), |value| panic!("accepted: {value:?}"))
    }

    #[test]
    fn good_records_pass() {
        assert_eq!(decode_bar(&crate::wire::encode(&bar()), LIMIT), Ok(bar()));
        let record = IndicatorRecord {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default(),
            task_number: uuid::Uuid::nil(),
            value: IndicatorValue::Rsi { time_period: 14, rsi: 55.0 },
        };
        assert_eq!(decode_indicator(&crate::wire::encode(&record), LIMIT), Ok(record));
    }

    #[test]
    fn every_kind_of_poison_is_refused_with_its_reason() {
        assert_eq!(reason(decode_bar(b"", LIMIT)), "empty");
        assert_eq!(reason(decode_bar(b"\x00\xff not json", LIMIT)), "not_json");
        assert_eq!(reason(decode_bar(br#"{"schema_version":1,"ticker""#, LIMIT)), "not_json");
        assert_eq!(reason(decode_bar(&bar_with("schema_version", "2"), LIMIT)), "unsupported_version");
        assert_eq!(reason(decode_bar(&bar_with("ticker", r#""""#), LIMIT)), "bad_ticker");
        let long = format!("\"{}\"", "X".repeat(70_000));
        assert_eq!(reason(decode_bar(&bar_with("ticker", &long), 1 << 20)), "bad_ticker");
        assert_eq!(reason(decode_bar(&bar_with("ticker", &long), LIMIT)), "too_large");
        assert_eq!(reason(decode_bar(&bar_with("close", "null"), LIMIT)), "bad_field");
        let huge = String::from_utf8_lossy(&crate::wire::encode(&bar()))
            .replace("\"close\":11.0", "\"close\":1e999");
        assert_eq!(reason(decode_bar(huge.as_bytes(), LIMIT)), "bad_field");
        assert_eq!(reason(decode_bar(&bar_with("close", "-1.0"), LIMIT)), "bad_price");
        assert_eq!(reason(decode_bar(&bar_with("high", "8.0"), LIMIT)), "inconsistent_bar");
        assert_eq!(reason(decode_bar(&bar_with("volume", "-5"), LIMIT)), "bad_volume");
        assert_eq!(reason(decode_bar(&bar_with("open", r#""ten""#), LIMIT)), "bad_field");
        assert_eq!(reason(decode_bar(&bar_with("timeframe", r#""1fortnight""#), LIMIT)), "bad_field");
        let mut missing: serde_json::Value =
            serde_json::from_slice(&crate::wire::encode(&bar())).unwrap_or_default();
        missing.as_object_mut().map(|object| object.remove("low"));
        assert_eq!(reason(decode_bar(missing.to_string().as_bytes(), LIMIT)), "bad_field");
        let rsi = |value: &str| {
            format!(
                r#"{{"schema_version":1,"ticker":"NVDA","timeframe":"1day","datetime":"2024-01-02","task_number":"00000000-0000-0000-0000-000000000000","indicator":"rsi","timePeriod":{value}}}"#
            )
        };
        assert_eq!(reason(decode_indicator(rsi(r#"0,"rsi":50.0"#).as_bytes(), LIMIT)), "bad_period");
        assert_eq!(reason(decode_indicator(rsi(r#"14"#).as_bytes(), LIMIT)), "bad_field");
        assert_eq!(reason(decode_indicator(rsi(r#"14,"rsi":null"#).as_bytes(), LIMIT)), "bad_field");
    }
}
