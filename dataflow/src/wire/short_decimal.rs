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

/// The two digits of every number below 100.
const PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

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
    // The whole part (at most eight digits) ends just before the point, at POINT.
    const POINT: usize = 8;
    let mut text = [b'0'; POINT + 1 + 8 + 7];
    text[POINT] = b'.';
    let (mut whole, fraction) = ((scaled / SCALE_INT) as u32, (scaled % SCALE_INT) as u32);
    let mut start = POINT;
    while whole >= 100 {
        start -= 2;
        text[start..start + 2].copy_from_slice(&PAIRS[(whole % 100) as usize]);
        whole /= 100;
    }
    if whole >= 10 {
        start -= 2;
        text[start..start + 2].copy_from_slice(&PAIRS[whole as usize]);
    } else {
        start -= 1;
        text[start] = b'0' + whole as u8;
    }
    let decimals = if fraction == 0 {
        1 // `.0`, already in the text
    } else {
        let (high, low) = ((fraction / 10_000) as usize, (fraction % 10_000) as usize);
        text[POINT + 1..POINT + 3].copy_from_slice(&PAIRS[high / 100]);
        text[POINT + 3..POINT + 5].copy_from_slice(&PAIRS[high % 100]);
        text[POINT + 5..POINT + 7].copy_from_slice(&PAIRS[low / 100]);
        text[POINT + 7..POINT + 9].copy_from_slice(&PAIRS[low % 100]);
        // Trailing zeros dropped: the last digits are the word's high bytes, and a `0`
        // digit is a zero byte once the digits' `0`s are subtracted.
        let mut digits = [0; 8];
        digits.copy_from_slice(&text[POINT + 1..POINT + 9]);
        let trailing_zeros = (u64::from_le_bytes(digits) ^ 0x3030_3030_3030_3030).leading_zeros() / 8;
        8 - trailing_zeros as usize
    };
    let mut block = [0; 16];
    block.copy_from_slice(&text[start..start + 16]);
    Some((block, POINT - start + 1 + decimals))
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
