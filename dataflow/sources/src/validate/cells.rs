//! The text (or typed values) of one record's cells read as a bar's fields with the standard
//! parsers, naming the column and the [`Reason`] when something is wrong.

use crate::rejection::{Reason, Refusal};
use chrono::NaiveDate;
use pricestream_records::{Bar, BarError, Ticker, check_ticker};

/// Cell texts that stand for "no value".
const MISSING: [&str; 6] = ["", "null", "na", "n/a", "none", "nil"];

/// True when `text` stands for "no value" (`""`, `null`, `NA`, …).
pub(crate) fn is_missing(text: &str) -> bool {
    let text = text.trim();
    // Every marker is at most 4 bytes: most cells are numbers and stop here.
    text.len() <= 4 && MISSING.iter().any(|m| text.eq_ignore_ascii_case(m))
}

/// A price from `column`: a positive finite number.
pub(crate) fn parse_price(column: &str, text: &str) -> Result<f64, Refusal> {
    let text = text.trim();
    if is_missing(text) {
        return Err(Refusal::new(Reason::MissingValue, format!("{column} is missing (`{text}`)")));
    }
    let value = text
        .parse()
        .map_err(|_| Refusal::new(Reason::BadNumber, format!("{column} `{text}` is not a number")))?;
    check_price(column, value)
}

/// `value` when it is a positive finite price.
pub(crate) fn check_price(column: &str, value: f64) -> Result<f64, Refusal> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Refusal::new(Reason::BadPrice, format!("{column} must be a positive finite price, got {value}")))
    }
}

/// A volume from `column`: a whole number >= 0; `1234.0` and `1.2e6` are accepted.
pub(crate) fn parse_volume(column: &str, text: &str) -> Result<i64, Refusal> {
    let text = text.trim();
    if is_missing(text) {
        return Err(Refusal::new(Reason::MissingValue, format!("{column} is missing (`{text}`)")));
    }
    let not_whole = || Refusal::new(Reason::BadNumber, format!("{column} `{text}` is not a whole number"));
    let volume = match text.parse::<i64>() {
        Ok(volume) => volume,
        Err(_) => match text.parse::<f64>() {
            Ok(v) => whole(v).ok_or_else(not_whole)?,
            Err(_) => return Err(not_whole()),
        },
    };
    check_volume(column, volume)
}

/// `value` as an `i64` when it is a whole number in range.
pub(crate) fn whole(value: f64) -> Option<i64> {
    (value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e18).then_some(value as i64)
}

/// `volume` when it is not negative.
pub(crate) fn check_volume(column: &str, volume: i64) -> Result<i64, Refusal> {
    if volume < 0 {
        return Err(Refusal::new(Reason::NegativeVolume, format!("{column} must be >= 0, got {volume}")));
    }
    Ok(volume)
}

/// A date from `column`, read with the chrono `format`.
pub(crate) fn parse_date(column: &str, text: &str, format: &str) -> Result<NaiveDate, Refusal> {
    let text = text.trim();
    if is_missing(text) {
        return Err(Refusal::new(Reason::MissingValue, format!("{column} is missing (`{text}`)")));
    }
    NaiveDate::parse_from_str(text, format).map_err(|e| {
        Refusal::new(Reason::BadDate, format!("{column} `{text}` is not a `{format}` date ({e})"))
    })
}

/// A ticker from a ticker column: upper-cased, checked as every service checks one
/// ([`check_ticker`]: 1 to 32 printable ASCII characters, no `|`).
pub(crate) fn parse_ticker(column: &str, text: &str) -> Result<Ticker, Refusal> {
    let text = text.trim();
    if let Err(error) = check_ticker(text) {
        return Err(Refusal::new(Reason::BadTicker, format!("{column}: {error}")));
    }
    Ok(text.to_ascii_uppercase().into())
}

/// Whether [`Bar::validate`] accepts `bar`, as a refusal with its reason.
pub(crate) fn check_bar(bar: &Bar) -> Result<(), Refusal> {
    bar.validate().map_err(|error| {
        let reason = match error {
            BarError::EmptyTicker => Reason::BadTicker,
            BarError::BadPrice { .. } => Reason::BadPrice,
            BarError::NegativeVolume(_) => Reason::NegativeVolume,
            BarError::HighTooLow { .. } | BarError::LowTooHigh { .. } => Reason::InconsistentOhlc,
        };
        Refusal::new(reason, error.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason<T: std::fmt::Debug>(result: Result<T, Refusal>) -> Reason {
        result.expect_err("refused").reason
    }

    #[test]
    fn prices_and_volumes() {
        assert_eq!(parse_price("Open", " 1.5 ").expect("ok"), 1.5);
        assert_eq!(parse_volume("Volume", "1.2e6").expect("ok"), 1_200_000);
        assert_eq!(parse_volume("Volume", "0").expect("ok"), 0);
        let price = |text: &str| (format!("price {text:?}"), reason(parse_price("Open", text)));
        let volume = |text: &str| (format!("volume {text:?}"), reason(parse_volume("Volume", text)));
        let refused = [
            (price("null"), Reason::MissingValue),
            (price("abc"), Reason::BadNumber),
            (price("NaN"), Reason::BadPrice),
            (price("inf"), Reason::BadPrice),
            (price("0"), Reason::BadPrice),
            (price("-3"), Reason::BadPrice),
            (volume("1.5"), Reason::BadNumber),
            (volume("-5"), Reason::NegativeVolume),
            (volume("-5.0"), Reason::NegativeVolume),
            (volume(""), Reason::MissingValue),
        ];
        for ((what, got), want) in refused {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn dates_and_tickers() {
        let date = parse_date("Date", "22/01/2024", "%d/%m/%Y").expect("ok");
        assert_eq!(date, NaiveDate::from_ymd_opt(2024, 1, 22).expect("date"));
        assert_eq!(reason(parse_date("Date", "2024-02-30", "%Y-%m-%d")), Reason::BadDate);
        assert_eq!(parse_ticker("Symbol", " brk.b ").expect("ok"), "BRK.B");
        assert_eq!(reason(parse_ticker("Symbol", "a b")), Reason::BadTicker);
    }
}
