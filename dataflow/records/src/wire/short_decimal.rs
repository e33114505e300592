//! Prices as serde_json writes them, without the shortest-digits search. Prices come from
//! files and APIs as short decimals (`212.68`, `0.4375`), so the double of nearly every
//! price is the one nearest to a decimal with at most eight decimals. That decimal, without
//! its trailing zeros, is the shortest text that reads back as the same double, which is
//! what zmij (serde_json's formatter) searches for, so it can be written digit by digit.
//!
//! Why it is the shortest: two different decimals of at most 15 significant digits never
//! round to the same double (that is what `f64::DIGITS` = 15 guarantees), and the decimals
//! taken here have at most 15. A shorter text reading back as the same double would be
//! a second such decimal.

/// Eight decimals: the scale of the decimals recognised here.
const SCALE: f64 = 1e8;
const SCALE_INT: i64 = 100_000_000;

/// Where serde_json (zmij) switches to exponents (`1e-6`, `1e16`) and where the digits
/// of the decimal stay at most 15 (below 10^7 with eight decimals); outside, the
/// general formatter writes the value.
const RANGE: std::ops::Range<f64> = 1e-5..1e7;

/// The text of `value` when it is the double nearest to a decimal with at most eight
/// decimals, from 10^-5 up to 10^7: the first `len` bytes of the block returned, the same
/// bytes serde_json writes. `None` for any other value.
#[inline(always)]
pub(super) fn short_decimal(value: f64) -> Option<([u8; 16], usize)> {
    if !RANGE.contains(&value) {
        return None;
    }
    // Below 10^15, so exact as a double and as an integer. The check is exact too: both
    // operands are exact, so the division rounds once, as reading "scaled e-8" would.
    // (Signed casts: one instruction each way, where unsigned ones take several.)
    let scaled = (value * SCALE + 0.5) as i64;
    if scaled as f64 / SCALE != value {
        return None;
    }
    let (whole, fraction) = ((scaled / SCALE_INT) as u32, (scaled % SCALE_INT) as u32);
    // Below 10^7, so at least one of its eight digits is a leading zero; at most seven are
    // dropped, so that 0 keeps its digit.
    let whole_digits = eight_digits(whole);
    let leading_zeros = ((whole_digits ^ ZEROS).trailing_zeros() as usize / 8).min(7);
    let whole_len = 8 - leading_zeros;
    // Trailing zeros dropped (the last digits are the high bytes), but one kept: `.0`.
    let fraction_digits = eight_digits(fraction);
    let decimals = (8 - (fraction_digits ^ ZEROS).leading_zeros() as usize / 8).max(1);
    // At most seven whole digits and the point fill the first word; the decimals' word goes
    // right after them (64-bit words: shifting a 128-bit one by a variable amount takes
    // several instructions).
    let mut text = [0; 16];
    let whole_and_point = (whole_digits >> (8 * leading_zeros)) | (u64::from(b'.') << (8 * whole_len));
    text[..8].copy_from_slice(&whole_and_point.to_le_bytes());
    text[whole_len + 1..whole_len + 9].copy_from_slice(&fraction_digits.to_le_bytes());
    Some((text, whole_len + 1 + decimals))
}

/// Eight `0` digits.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight digits of `n` (below 10^8, leading zeros included), the first in the lowest
/// byte. Computed in a register: written byte by byte and read back as a word, they made
/// every price wait for store forwarding to fail.
#[inline(always)]
fn eight_digits(n: u32) -> u64 {
    let n = u64::from(n);
    // Two halves of four digits in 32-bit lanes, the first half in the low lane.
    let halves = (n / 10_000) | ((n % 10_000) << 32);
    // Each lane divided by 100: x / 100 = (x * 10486) >> 20 for every x below 10^4.
    let hundreds = ((halves * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let pairs = hundreds | ((halves - hundreds * 100) << 16);
    // Each 16-bit lane divided by 10: x / 10 = (x * 103) >> 10 for every x below 100.
    let tens = ((pairs * 103) >> 10) & 0x000f_000f_000f_000f;
    let digits = tens | ((pairs - tens * 10) << 8);
    digits + ZEROS
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn zmij(value: f64) -> String {
        zmij::Buffer::new().format(value).to_owned()
    }

    fn short(value: f64) -> Option<String> {
        short_decimal(value).map(|(block, len)| String::from_utf8_lossy(&block[..len]).into_owned())
    }

    #[test]
    fn eight_digits_are_the_digits_of_every_number_below_ten_to_the_eight() {
        // Every lane's divisions are held exhaustively by every four-digit half; steps
        // through the rest mix the halves.
        let check = |n: u32| {
            let digits = eight_digits(n).to_le_bytes();
            assert_eq!(std::str::from_utf8(&digits), Ok(format!("{n:08}").as_str()), "{n}");
        };
        for half in 0..10_000 {
            check(half);
            check(half * 10_000);
            check(half * 10_000 + 9_999 - half);
        }
        (0..100_000_000).step_by(9_973).for_each(check);
        check(99_999_999);
    }

    #[test]
    fn decimals_of_up_to_eight_places_are_written_as_zmij_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..1_000_000 {
            let decimals = rng.random_range(0..=8);
            let whole_digits = rng.random_range(0..=7);
            let whole: u64 = rng.random_range(0..10_u64.pow(whole_digits));
            let fraction: u64 = rng.random_range(0..10_u64.pow(decimals));
            let text = format!("{whole}.{fraction:0width$}", width = decimals as usize);
            let value: f64 = text.parse().expect("a decimal");
            if RANGE.contains(&value) {
                assert_eq!(short(value), Some(zmij(value)), "{text}");
            } else {
                assert_eq!(short(value), None, "{text}");
            }
        }
    }

    #[test]
    fn other_doubles_are_left_to_zmij_or_written_as_it_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        for _ in 0..1_000_000 {
            let value = f64::from_bits(rng.random_range(1e-6_f64.to_bits()..2e7_f64.to_bits()));
            if let Some(text) = short(value) {
                assert_eq!(text, zmij(value), "{value:e}");
            }
        }
        for value in [1e-5, 0.00001234, 9_999_999.999_999_99, 1e7, 0.1 + 0.2, 1.0 / 3.0, 5e-324, -1.5] {
            if let Some(text) = short(value) {
                assert_eq!(text, zmij(value), "{value:e}");
            }
        }
        assert_eq!(short(0.1 + 0.2), None);
        assert_eq!(short(-1.5), None);
        assert_eq!(short(f64::NAN), None);
        assert_eq!(short(212.68).as_deref(), Some("212.68"));
        assert_eq!(short(100.0).as_deref(), Some("100.0"));
        assert_eq!(short(0.00001234).as_deref(), Some("0.00001234"));
    }
}
