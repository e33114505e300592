//! Tests on eight bytes at once, one bit per byte in the answer (its high bit): the
//! usual line is read a word at a time where a loop would take a byte at a time.

/// `byte` in each of the eight bytes.
pub(super) const fn every_byte(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// The eight bytes of `bytes` from `at`, the first in the lowest byte; `None` when fewer
/// are left.
#[inline(always)]
pub(super) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*bytes.get(at..)?.first_chunk::<8>()?))
}

/// The high bit of each byte of `word` that is zero. Exact for every byte: `(x & 0x7f) +
/// 0x7f` sets it for every nonzero low part without carrying into the next byte, and
/// `| x` for bytes of 0x80 up.
#[inline(always)]
pub(super) fn zero_bytes(word: u64) -> u64 {
    !(((word & every_byte(0x7f)) + every_byte(0x7f)) | word) & every_byte(0x80)
}

/// The high bit of each byte of `word` that equals `byte`.
#[inline(always)]
pub(super) fn bytes_equal(word: u64, byte: u8) -> u64 {
    zero_bytes(word ^ every_byte(byte))
}

/// The high bit of each byte of `values` that is 10 or more: with `values` a word XOR
/// `0`s, the bytes that are not digits.
#[inline(always)]
pub(super) fn not_digits(values: u64) -> u64 {
    // `(x & 0x7f) + 0x76` reaches the high bit from 10 on, without carrying.
    (((values & every_byte(0x7f)) + every_byte(0x76)) | values) & every_byte(0x80)
}

/// The index of the first byte marked in `marks` (8 when none is).
#[inline(always)]
pub(super) fn first_marked(marks: u64) -> usize {
    marks.trailing_zeros() as usize / 8
}

/// Up to `max_len` bytes drawn from `alphabet`: what the tests hold the word-at-a-time
/// readers to their byte loops on.
#[cfg(test)]
pub(super) fn random_bytes(rng: &mut impl rand::Rng, alphabet: &[u8], max_len: usize) -> Vec<u8> {
    let len = rng.random_range(0..=max_len);
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_byte_is_told_apart_on_its_own() {
        // Every byte value in every position, next to neighbours that could carry.
        for position in 0..8 {
            for byte in 0..=255_u8 {
                for neighbour in [0_u8, 1, b'0', b'9', 0x7f, 0x80, 0xff] {
                    let mut bytes = [neighbour; 8];
                    bytes[position] = byte;
                    let word = u64::from_le_bytes(bytes);
                    let marked = |marks: u64, at: usize| marks & (0x80 << (8 * at)) != 0;
                    for (at, &byte) in bytes.iter().enumerate() {
                        assert_eq!(marked(zero_bytes(word), at), byte == 0);
                        assert_eq!(marked(bytes_equal(word, b','), at), byte == b',');
                        assert_eq!(marked(not_digits(word ^ every_byte(b'0')), at), !byte.is_ascii_digit());
                    }
                }
            }
        }
        assert_eq!(first_marked(bytes_equal(u64::from_le_bytes(*b"12.5,7,x"), b',')), 4);
        assert_eq!(first_marked(0), 8);
        assert_eq!(word_at(b"123456789", 1), Some(u64::from_le_bytes(*b"23456789")));
        assert_eq!(word_at(b"123456789", 2), None);
    }
}
