//! Arbitrary bytes into the delimited reader and arbitrary JSON into the API page
//! parser: no panic, and every data line (every API value) comes out as a bar or an error.

use crate::delimited::read_delimited;
use crate::twelve_data::ApiValueError;
use crate::twelve_data::page::{Page, RequestInfo, parse_page as parse};
use crate::validate::FileBars;
use crate::{CsvMapping, LineError, MAX_LINE_BYTES};
use pricestream_records::Bar;
use proptest::prelude::*;
use serde_json::Value;
use std::io::Cursor;
use std::path::Path;
use uuid::Uuid;

/// The values of an API answer, or why it is not one.
fn parse_page(body: &[u8]) -> Result<Vec<Result<Bar, ApiValueError>>, String> {
    let request = RequestInfo { symbol: "X".into(), url: "http://127.0.0.1/time_series?symbol=X".into() };
    match parse(body, &request, Uuid::nil())? {
        Page::Values(values) => Ok(values),
        Page::Error { code, message } => Err(format!("error {code}: {message}")),
    }
}

const HEADER: &[u8] = b"Date,Open,High,Low,Close,Adj Close,Volume\n";

/// Lines that are sometimes valid bars, sometimes broken in one of many ways.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("2024-01-02".to_owned()),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        "[0-9]{1,4}(\\.[0-9]{1,3})?",
        Just("NaN".to_owned()),
        Just("-1".to_owned()),
        Just("null".to_owned()),
        Just("\"".to_owned()),
        ".{0,6}",
    ];
    prop_oneof![
        prop::collection::vec(field, 0..9).prop_map(|fields| fields.join(",").into_bytes()),
        prop::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..60),
    ]
}

/// Every row of a file of `lines` after the Yahoo header.
fn read_lines(lines: &[Vec<u8>]) -> Vec<Result<Bar, LineError>> {
    let mut bytes = HEADER.to_vec();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    let (mapping, file) = (CsvMapping::default(), Path::new("x.csv"));
    read_delimited(Cursor::new(bytes), FileBars::new(file, &mapping, Some("X".into()), Uuid::nil()))
        .expect("header is fine")
        .collect()
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mapping = CsvMapping::default();
        let file = Path::new("x.csv");
        if let Ok(rows) = read_delimited(Cursor::new(bytes), FileBars::new(file, &mapping, Some("X".into()), Uuid::nil())) {
            for row in rows {
                let _ = row;
            }
        }
    }

    /// Without quotes every line is one record: each gives a bar or an error naming it.
    #[test]
    fn every_line_is_a_bar_or_an_error(lines in prop::collection::vec(line(), 0..40)) {
        let lines: Vec<Vec<u8>> =
            lines.into_iter().map(|line| line.into_iter().filter(|b| *b != b'"').collect()).collect();
        let rows = read_lines(&lines);
        let expected: Vec<u64> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !is_blank(l) && l.len() <= MAX_LINE_BYTES)
            .map(|(i, _)| i as u64 + 2)
            .collect();
        prop_assert_eq!(rows.len(), expected.len());
        for (row, line) in rows.iter().zip(&expected) {
            if let Err(error) = row {
                prop_assert_eq!(error.line, *line);
                prop_assert!(!error.message.is_empty());
            }
        }
    }

    /// With quotes a record may span lines: records still come in line order, each numbered
    /// by a line it starts on, never more of them than lines.
    #[test]
    fn quoted_records_are_numbered_by_their_first_line(lines in prop::collection::vec(line(), 0..40)) {
        let rows = read_lines(&lines);
        let starts: Vec<u64> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !is_blank(l))
            .map(|(i, _)| i as u64 + 2)
            .collect();
        prop_assert!(rows.len() <= starts.len());
        let mut last = 0;
        for row in &rows {
            if let Err(error) = row {
                prop_assert!(starts.contains(&error.line), "line {}", error.line);
                prop_assert!(error.line > last);
                prop_assert!(!error.message.is_empty());
                last = error.line;
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics(json in json_value()) {
        let _ = parse_page(json.to_string().as_bytes());
    }

    #[test]
    fn every_api_value_is_a_bar_or_an_error(values in prop::collection::vec(json_value(), 0..20)) {
        let body = serde_json::json!({"meta": {"interval": "1day"}, "values": values, "status": "ok"});
        let got = parse_page(body.to_string().as_bytes()).expect("a time series");
        prop_assert_eq!(got.len(), values.len());
        let mut indices: Vec<usize> = got.iter().filter_map(|r| r.as_ref().err().map(|e| e.index)).collect();
        indices.sort_unstable();
        indices.dedup();
        prop_assert!(indices.iter().all(|&i| i < values.len()));
    }
}

/// Any JSON, biased toward values that look like `time_series` entries.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        ".{0,8}".prop_map(Value::String),
        "[0-9]{1,3}(\\.[0-9]{1,2})?".prop_map(Value::String),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(Value::String),
    ];
    let entry = ("20[0-9]{2}-0[1-9]-[0-2][0-9]", prop::collection::vec("[0-9]{1,3}(\\.[0-9]{1,2})?", 5))
        .prop_map(|(date, n)| {
            let [open, high, low, close, volume] = [&n[0], &n[1], &n[2], &n[3], &n[4]];
            serde_json::json!({
                "datetime": date, "open": open, "high": high, "low": low, "close": close, "volume": volume
            })
        });
    let any_json = leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("datetime".to_owned()),
                    Just("open".to_owned()),
                    Just("values".to_owned()),
                    Just("status".to_owned()),
                    ".{0,4}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![entry, any_json]
}
