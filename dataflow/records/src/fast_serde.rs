//! Serialisers for the extractor's hot path: every bar and indicator value is
//! encoded once per message, so the generic paths (a date formatted through
//! `Display`, serde's `flatten` map) cost more than the indicators themselves.

use chrono::{Datelike, NaiveDate};
use serde::Serializer;

/// Writes a date as `YYYY-MM-DD` without going through `fmt`.
pub fn date<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    match date_digits(date) {
        // Only ASCII digits and dashes: always UTF-8.
        Some(text) => serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
        None => serializer.collect_str(date),
    }
}

/// `YYYY-MM-DD` for years 0 to 9999 (chrono's `Display` for them); `None` for the
/// years `Display` writes with a sign.
pub(crate) fn date_digits(date: &NaiveDate) -> Option<[u8; 10]> {
    let (year, month, day) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&year) {
        return None;
    }
    let year = year as u32;
    let digit = |n: u32| b'0' + (n % 10) as u8;
    Some([
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_dates_like_chrono() {
        for (y, m, d) in [(1999, 1, 22), (2014, 12, 31), (5, 3, 7), (9999, 12, 31)] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
            let mut out = Vec::new();
            date(&day, &mut serde_json::Serializer::new(&mut out)).expect("serialises");
            assert_eq!(String::from_utf8(out).unwrap_or_default(), format!("\"{day}\""));
        }
    }
}
