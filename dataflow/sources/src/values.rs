//! Turns the text (or typed values) of one record into a validated bar, naming the
//! column and the [`Reason`] when something is wrong.

use super::decimal::{plain_decimal, plain_whole};
use super::rejection::{Reason, Refusal};
use chrono::NaiveDate;
use pricestream_records::{Bar, BarError, Ticker, check_ticker};

/// Cell texts that stand for "no value".
const MISSING: [&str; 6] = ["", "null", "na", "n/a", "none", "nil"];

/// `text` without leading and trailing whitespace, as `str::trim` has it. Most cells have
/// none, which their first and last bytes tell (a multi-byte character starts and ends with a
/// byte >= 0x80), without `trim`'s character-by-character Unicode check.
fn trim_cell(text: &str) -> &str {
    // Printable ASCII (and DEL); every ASCII whitespace byte is at or below the space.
    let plain = |byte: &u8| (b'!'..=0x7f).contains(byte);
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if plain(first) && plain(last) => text,
        _ => text.trim(),
    }
}

/// True when `text` stands for "no value" (`""`, `null`, `NA`, …).
pub(crate) fn is_missing(text: &str) -> bool {
    let text = trim_cell(text);
    // Every marker is at most 4 bytes: most cells are numbers and stop here.
    text.len() <= 4 && MISSING.iter().any(|m| text.eq_ignore_ascii_case(m))
}

/// A price from `column`: a positive finite number.
#[inline(always)]
pub(crate) fn parse_price(column: &str, text: &str) -> Result<f64, Refusal> {
    // Digits and a point: neither padded nor a marker of a missing value, so read at once,
    // inline; anything else (and every refusal) goes the general way.
    match plain_decimal(text) {
        Some(value) if value > 0.0 => Ok(value),
        _ => parse_any_price(column, text),
    }
}

#[inline(never)]
fn parse_any_price(column: &str, text: &str) -> Result<f64, Refusal> {
    if let Some(value) = plain_decimal(text) {
        return check_price(column, value);
    }
    let text = trim_cell(text);
    if is_missing(text) {
        return Err(Refusal::new(Reason::MissingValue, format!("{column} is missing (`{text}`)")));
    }
    let value = match plain_decimal(text) {
        Some(value) => value,
        None => text
            .parse()
            .map_err(|_| Refusal::new(Reason::BadNumber, format!("{column} `{text}` is not a number")))?,
    };
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
    if let Some(volume) = plain_whole(text) {
        return check_volume(column, volume);
    }
    let text = trim_cell(text);
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
    let iso = format == "%Y-%m-%d";
    if iso && let Some(date) = iso_date(text.as_bytes()) {
        return Ok(date);
    }
    let text = trim_cell(text);
    if is_missing(text) {
        return Err(Refusal::new(Reason::MissingValue, format!("{column} is missing (`{text}`)")));
    }
    if iso && let Some(date) = iso_date(text.as_bytes()) {
        return Ok(date);
    }
    NaiveDate::parse_from_str(text, format).map_err(|e| {
        Refusal::new(Reason::BadDate, format!("{column} `{text}` is not a `{format}` date ({e})"))
    })
}

/// `YYYY-MM-DD` read without chrono's format interpreter (most files use it, and it is
/// a third of a line's parsing time otherwise); `None` sends anything else, including
/// invalid dates, to the interpreter, which also words the error.
pub(crate) fn iso_date(text: &[u8]) -> Option<NaiveDate> {
    let &[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = text else { return None };
    let digits = [y1, y2, y3, y4, m1, m2, d1, d2];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |bytes: &[u8]| bytes.iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    NaiveDate::from_ymd_opt(n(&digits[..4]) as i32, n(&digits[4..6]), n(&digits[6..]))
}

/// A ticker from a ticker column: upper-cased, checked as every service checks one
/// ([`check_ticker`]: 1 to 32 printable ASCII characters, no `|`).
pub(crate) fn parse_ticker(column: &str, text: &str) -> Result<Ticker, Refusal> {
    let text = trim_cell(text);
    if let Err(error) = check_ticker(text) {
        return Err(Refusal::new(Reason::BadTicker, format!("{column}: {error}")));
    }
    Ok(text.to_ascii_uppercase().into())
}

/// Whether [`Bar::validate`] accepts `bar`, as a refusal with its reason. Borrowed: a bar
/// moved in and out again costs two copies of it, per line of every file.
#[inline]
pub(crate) fn check_bar(bar: &Bar) -> Result<(), Refusal> {
    // Nearly every bar passes every check at once; only the others find out which failed.
    if plausible(bar) { Ok(()) } else { refuse_bar(bar) }
}

/// True only for a bar that [`Bar::validate`] accepts: every check at once, without
/// branching on each.
#[inline(always)]
fn plausible(bar: &Bar) -> bool {
    let positive = |price: f64| price.is_finite() & (price > 0.0);
    let (open, high, low, close) = (bar.open, bar.high, bar.low, bar.close);
    positive(open)
        & positive(high)
        & positive(low)
        & positive(close)
        & (bar.volume >= 0)
        & (high >= open)
        & (high >= close)
        & (high >= low)
        & (low <= open)
        & (low <= close)
        & !bar.ticker.is_empty()
}

#[inline(never)]
fn refuse_bar(bar: &Bar) -> Result<(), Refusal> {
    match bar.validate() {
        Ok(()) => Ok(()),
        Err(error) => {
            let reason = match error {
                BarError::EmptyTicker => Reason::BadTicker,
                BarError::BadPrice { .. } => Reason::BadPrice,
                BarError::NegativeVolume(_) => Reason::NegativeVolume,
                BarError::HighTooLow { .. } | BarError::LowTooHigh { .. } => Reason::InconsistentOhlc,
            };
            Err(Refusal::new(reason, error.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn a_bar_passes_at_once_only_when_validate_accepts_it() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        let prices = [0.0, -0.0, -1.0, 1.0, 2.0, 3.0, 5e-324, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        let mut passed = 0;
        for _ in 0..200_000 {
            let mut price = || prices[rng.random_range(0..prices.len())];
            let (open, high, low, close) = (price(), price(), price(), price());
            let bar = Bar {
                ticker: ["", "T"][rng.random_range(0..2)].into(),
                timeframe: pricestream_records::Timeframe::Day,
                datetime: NaiveDate::MIN,
                open,
                high,
                low,
                close,
                volume: rng.random_range(-2..3),
                task_number: uuid::Uuid::nil(),
            };
            assert_eq!(plausible(&bar), bar.validate().is_ok(), "{bar:?}");
            assert_eq!(check_bar(&bar).is_ok(), bar.validate().is_ok(), "{bar:?}");
            passed += usize::from(plausible(&bar));
        }
        assert!(passed > 100, "only {passed} bars passed");
    }

    #[test]
    fn trimming_a_cell_is_trimming_the_str() {
        let cells =
            ["", " ", "1.5", " 1.5", "1.5 ", "\t1.5\r", "\u{b}1.5", "1.5\u{a0}", "\u{3000}x", "é", "x", "~"];
        for cell in cells {
            assert_eq!(trim_cell(cell), cell.trim(), "{cell:?}");
        }
    }

    #[test]
    fn the_iso_date_shortcut_reads_what_chrono_reads() {
        for year in [0, 1, 1900, 1999, 2000, 2023, 2024, 2100, 9999] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let chrono = NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
                    assert_eq!(iso_date(text.as_bytes()), chrono, "{text}");
                }
            }
        }
        for text in ["2024-1-02", "2024/01/02", "+2024-01-02", "2024-01-0x", " 2024-01-02", "２024-01-02"] {
            assert_eq!(iso_date(text.as_bytes()), None, "{text}");
        }
    }

    fn reason<T: std::fmt::Debug>(result: Result<T, Refusal>) -> Reason {
        result.expect_err("refused").reason
    }

    #[test]
    fn prices() {
        assert_eq!(parse_price("Open", " 1.5 ").expect("ok"), 1.5);
        assert_eq!(reason(parse_price("Open", "null")), Reason::MissingValue);
        assert_eq!(reason(parse_price("Open", "abc")), Reason::BadNumber);
        assert_eq!(reason(parse_price("Open", "NaN")), Reason::BadPrice);
        assert_eq!(reason(parse_price("Open", "inf")), Reason::BadPrice);
        assert_eq!(reason(parse_price("Open", "0")), Reason::BadPrice);
        assert_eq!(reason(parse_price("Open", "-3")), Reason::BadPrice);
    }

    #[test]
    fn volumes() {
        assert_eq!(parse_volume("Volume", "1.2e6").expect("ok"), 1_200_000);
        assert_eq!(parse_volume("Volume", "0").expect("ok"), 0);
        assert_eq!(reason(parse_volume("Volume", "1.5")), Reason::BadNumber);
        assert_eq!(reason(parse_volume("Volume", "-5")), Reason::NegativeVolume);
        assert_eq!(reason(parse_volume("Volume", "-5.0")), Reason::NegativeVolume);
        assert_eq!(reason(parse_volume("Volume", "")), Reason::MissingValue);
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
