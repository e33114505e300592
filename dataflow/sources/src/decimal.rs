//! Prices in files are plain decimals (`212.680362`): read here in one pass over the
//! bytes, with the same exactly rounded result as the standard parser, which goes through
//! its general machinery (signs, exponents, special values) for every cell first.

use super::eight_bytes::{every_byte, first_marked, not_digits, word_at};

/// Most digits of a mantissa that stays below 2^53 (every 15-digit number does).
const MAX_DIGITS: usize = 15;

/// Powers of ten that are exact doubles (up to 10^22), for the division below.
const POWERS_OF_TEN: [f64; 16] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The value of `text` when it is digits with at most one `.` (`12`, `12.5`, `.5`, `12.`)
/// and at most 15 digits; `None` for anything else, which the standard parser then reads
/// (or refuses).
#[inline]
pub(crate) fn plain_decimal(text: &str) -> Option<f64> {
    match decimal_prefix(text.as_bytes()) {
        Some((value, len)) if len == text.len() => Some(value),
        _ => None,
    }
}

/// The value and length of the number `bytes` start with, read up to the first byte that is
/// neither a digit nor the first `.`: what [`plain_decimal`] returns for those bytes alone.
/// `None` when they hold no digit or more than 15.
///
/// The mantissa (the digits without the point) is below 2^53 and the power of ten exact,
/// so their quotient, rounded once by the division, is the correctly rounded value of the
/// decimal: the double that the standard parser returns.
#[inline]
pub(crate) fn decimal_prefix(bytes: &[u8]) -> Option<(f64, usize)> {
    // A price and what follows it on its line fill 16 bytes but at the end of a line.
    match bytes.first_chunk::<16>().and_then(decimal_in_window) {
        Some(found) => found,
        None => decimal_by_bytes(bytes),
    }
}

/// [`decimal_prefix`] of a window of 16 bytes, eight at a time: `None` when it cannot tell
/// (the number may go on past the window, or has more than seven digits before or after
/// its point), and the byte loop decides.
#[inline(always)]
fn decimal_in_window(window: &[u8; 16]) -> Option<Option<(f64, usize)>> {
    let (whole_values, whole_len) = digits_at(window, 0)?;
    match window[whole_len] {
        b'.' => {
            let (fraction_values, decimals) = digits_at(window, whole_len + 1)?;
            if whole_len + decimals == 0 {
                return Some(None);
            }
            let mantissa = number(whole_values, whole_len) * POWERS_OF_TEN_INT[decimals]
                + number(fraction_values, decimals);
            Some(Some((mantissa as f64 / POWERS_OF_TEN[decimals], whole_len + 1 + decimals)))
        }
        _ if whole_len == 0 => Some(None),
        _ => Some(Some((number(whole_values, whole_len) as f64, whole_len))),
    }
}

/// The digit values of the eight bytes of `window` from `at` (one per byte, other bytes
/// 10 or more) and how many digits they start with; `None` when that is more than seven
/// or the eight bytes do not fit the window.
#[inline(always)]
fn digits_at(window: &[u8; 16], at: usize) -> Option<(u64, usize)> {
    let values = word_at(window, at)? ^ every_byte(b'0');
    let len = first_marked(not_digits(values));
    (len < 8).then_some((values, len))
}

/// The number the first `len` digit values of `values` (0 to 7 of them, the first in the
/// lowest byte) write.
#[inline(always)]
fn number(values: u64, len: usize) -> i64 {
    // The digits moved to the top bytes, so that the bytes below read as leading zeros.
    let Some(mut lane) = values.checked_shl(8 * (8 - len as u32)) else { return 0 };
    // Neighbouring digits, then pairs, then fours joined: each step's lanes stay below
    // their width (99, 9999), so nothing carries into the next lane.
    lane = lane.wrapping_mul(10).wrapping_add(lane >> 8) & 0x00ff_00ff_00ff_00ff;
    lane = lane.wrapping_mul(100).wrapping_add(lane >> 16) & 0x0000_ffff_0000_ffff;
    lane = lane.wrapping_mul(10_000).wrapping_add(lane >> 32) & 0xffff_ffff;
    lane as i64
}

/// `10^n` for the decimals a window holds.
const POWERS_OF_TEN_INT: [i64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// [`decimal_prefix`] one byte at a time.
#[inline]
fn decimal_by_bytes(bytes: &[u8]) -> Option<(f64, usize)> {
    // One test per digit: the point, once per number, and the end are the rare branches.
    let (mut mantissa, mut point, mut len) = (0_i64, None, bytes.len());
    for (at, &byte) in bytes.iter().enumerate() {
        let digit = byte.wrapping_sub(b'0');
        if digit < 10 {
            // A 16th digit (or more) goes to the standard parser; checked before it can
            // overflow the mantissa.
            if at > MAX_DIGITS {
                return None;
            }
            mantissa = mantissa * 10 + i64::from(digit);
        } else if byte == b'.' && point.is_none() {
            point = Some(at);
        } else {
            len = at;
            break;
        }
    }
    let digits = len - usize::from(point.is_some());
    if digits == 0 || digits > MAX_DIGITS {
        return None;
    }
    let decimals = point.map_or(0, |at| len - 1 - at);
    // Signed: converting an i64 is one instruction, a u64 several.
    Some((mantissa as f64 / POWERS_OF_TEN[decimals], len))
}

/// The value of `text` when it is 1 to 18 digits and nothing else (every such number fits
/// an `i64`); `None` for anything else, which the standard parser then reads (or refuses).
#[inline]
pub(crate) fn plain_whole(text: &str) -> Option<i64> {
    match whole_prefix(text.as_bytes()) {
        Some((value, len)) if len == text.len() => Some(value),
        _ => None,
    }
}

/// The value and length of the digits `bytes` start with: what [`plain_whole`] returns for
/// them alone. `None` when there are none or more than 18.
#[inline]
pub(crate) fn whole_prefix(bytes: &[u8]) -> Option<(i64, usize)> {
    let (mut value, mut len) = (0_i64, bytes.len());
    for (at, &byte) in bytes.iter().enumerate() {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            len = at;
            break;
        }
        if at >= 18 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    (len > 0).then_some((value, len))
}

#[cfg(test)]
mod tests {
    use super::super::eight_bytes::random_bytes;
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn plain_decimals_read_as_the_standard_parser_reads_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..1_000_000 {
            let whole_digits = rng.random_range(0..=12);
            let decimals = rng.random_range(0..=12);
            let digit = |rng: &mut rand_chacha::ChaCha8Rng| char::from(b'0' + rng.random_range(0..10));
            let mut text: String = (0..whole_digits).map(|_| digit(&mut rng)).collect();
            if decimals > 0 || rng.random_bool(0.1) {
                text.push('.');
            }
            text.extend((0..decimals).map(|_| digit(&mut rng)));
            let standard: Option<f64> = text.parse().ok();
            match plain_decimal(&text) {
                Some(value) => assert_eq!(Some(value.to_bits()), standard.map(f64::to_bits), "{text}"),
                // Too many digits or no digit: left to the standard parser.
                None => {
                    assert!(whole_digits + decimals > MAX_DIGITS || whole_digits + decimals == 0, "{text}")
                }
            }
        }
    }

    #[test]
    fn a_window_of_sixteen_bytes_reads_what_the_byte_loop_reads() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let alphabet = b"0123456789012345678901234567890123456789....,,;-e\t\r\"x\xc3\x80\xff\x00";
        for _ in 0..2_000_000 {
            let bytes = random_bytes(&mut rng, alphabet, 24);
            assert_eq!(
                decimal_prefix(&bytes),
                decimal_by_bytes(&bytes),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        // The window itself, for the usual price and at its limits.
        assert_eq!(decimal_in_window(b"212.680362,215.8"), Some(Some((212.680362, 10))));
        assert_eq!(decimal_in_window(b"1234567.1234567,"), Some(Some((1_234_567.123_456_7, 15))));
        assert_eq!(decimal_in_window(b"7,34567890123456"), Some(Some((7.0, 1))));
        assert_eq!(decimal_in_window(b".,34567890123456"), Some(None));
        assert_eq!(decimal_in_window(b",234567890123456"), Some(None));
        assert_eq!(decimal_in_window(b"1234567.12345678"), None, "may go on");
        assert_eq!(decimal_in_window(b"12345678.1234567"), None, "eight digits before the point");
        for text in [
            "212.680362,215.873320,",
            "1234567890123.45,",
            "123456789012345.",
            ".123456789012345",
            "0000000000000001,",
        ] {
            assert_eq!(decimal_prefix(text.as_bytes()), decimal_by_bytes(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn plain_whole_numbers_read_as_the_standard_parser_reads_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        for _ in 0..100_000 {
            let digits = rng.random_range(0..=20);
            let text: String = (0..digits).map(|_| char::from(b'0' + rng.random_range(0..10))).collect();
            match plain_whole(&text) {
                Some(value) => assert_eq!(Ok(value), text.parse::<i64>(), "{text}"),
                None => assert!(digits == 0 || digits > 18, "{text}"),
            }
        }
        for text in ["-1", "+1", "1.0", "1e3", " 1", "1 ", "١"] {
            assert_eq!(plain_whole(text), None, "{text}");
        }
    }

    #[test]
    fn a_number_followed_by_other_bytes_reads_as_it_reads_alone() {
        let texts = ["212.680362", "12", "12.", ".5", "0", "999999999999999", "", ".", "12.5.1", "1e5"];
        for text in texts {
            for rest in [",9.5", "\t1", "\r", "x", "-", ""] {
                let line = format!("{text}{rest}");
                let alone = plain_decimal(text).map(|value| (value, text.len()));
                // A prefix of these is a number of its own.
                let expected = match text {
                    "12.5.1" => Some((12.5, 4)),
                    "1e5" => Some((1.0, 1)),
                    _ => alone,
                };
                assert_eq!(decimal_prefix(line.as_bytes()), expected, "{line:?}");
                let whole = plain_whole(text).map(|value| (value, text.len()));
                if text.bytes().all(|b| b.is_ascii_digit()) {
                    assert_eq!(whole_prefix(line.as_bytes()), whole, "{line:?}");
                }
            }
        }
        assert_eq!(whole_prefix(b"123456789012345678,"), Some((123_456_789_012_345_678, 18)));
        assert_eq!(whole_prefix(b"1234567890123456789,"), None);
        assert_eq!(decimal_prefix(b"12345678901234567,"), None);
    }

    #[test]
    fn anything_else_is_left_to_the_standard_parser() {
        for text in ["", ".", "-1.5", "+1.5", "1e5", "1.5.2", " 1.5", "1,5", "NaN", "inf", "1_000", "１"] {
            assert_eq!(plain_decimal(text), None, "{text}");
        }
        assert_eq!(plain_decimal("0.1"), Some(0.1));
        assert_eq!(plain_decimal("212.680362"), Some(212.680362));
        assert_eq!(plain_decimal("999999999999999"), Some(999_999_999_999_999.0));
        assert_eq!(plain_decimal("9999999999999999"), None);
    }
}
