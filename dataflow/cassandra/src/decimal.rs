use super::CassandraError;
use crate::Result;
use scylla::value::CqlDecimal;

/// Converts a price to a CQL decimal holding its shortest exact decimal form
/// (`1.953125` stays `1.953125`, not the binary expansion of the double).
pub fn f64_to_decimal(value: f64) -> Result<CqlDecimal> {
    if !value.is_finite() {
        return Err(CassandraError::Decimal(value));
    }
    // Rust prints the shortest digits that read back as the same double, never in exponent form.
    let text = value.to_string();
    let frac_part = text.split_once('.').map_or("", |(_, frac)| frac);
    let mut digits = text.bytes().filter(u8::is_ascii_digit).map(|digit| i128::from(digit - b'0'));
    let unscaled = digits
        .try_fold(0i128, |unscaled, digit| unscaled.checked_mul(10)?.checked_add(digit))
        .ok_or(CassandraError::Decimal(value))?;
    let unscaled = if value.is_sign_negative() { -unscaled } else { unscaled };
    let scale = i32::try_from(frac_part.len()).map_err(|_| CassandraError::Decimal(value))?;
    Ok(CqlDecimal::from_signed_be_bytes_and_exponent(minimal_be_bytes(unscaled), scale))
}

/// Converts a CQL decimal to the nearest double.
pub fn decimal_to_f64(value: &CqlDecimal) -> f64 {
    let (bytes, scale) = value.as_signed_be_bytes_slice_and_exponent();
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut unscaled: i128 = if negative { -1 } else { 0 };
    for byte in bytes {
        unscaled = (unscaled << 8) | i128::from(*byte);
    }
    // Parsing the decimal text rounds once, exactly as reading the CSV did.
    format!("{unscaled}e{}", -scale).parse().unwrap_or(f64::NAN)
}

/// Two's-complement big-endian bytes without redundant sign bytes, as CQL expects.
fn minimal_be_bytes(value: i128) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < bytes.len() - 1 {
        let (this, next) = (bytes[start], bytes[start + 1]);
        let redundant = (this == 0x00 && next & 0x80 == 0) || (this == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_decimal_digits_of_a_price() {
        let decimal = f64_to_decimal(1.953125).expect("finite");
        assert_eq!(decimal.as_signed_be_bytes_slice_and_exponent(), (&[0x1d, 0xcd, 0x65][..], 6));
        let decimal = f64_to_decimal(-12.5).expect("finite");
        assert_eq!(decimal.as_signed_be_bytes_slice_and_exponent(), (&[0x83][..], 1));
    }

    #[test]
    fn round_trips_prices() {
        for value in [0.0, 1.0, 1.640625, 1234.5678, 0.0001, -3.25, 128.0, 99_999.99, 1e-7] {
            let back = decimal_to_f64(&f64_to_decimal(value).expect("finite"));
            assert_eq!(back.to_bits(), value.to_bits(), "{value}");
        }
        assert!(f64_to_decimal(f64::NAN).is_err());
    }
}
