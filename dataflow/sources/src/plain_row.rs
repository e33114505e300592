//! The usual line of a price file (`2015-01-02,212.68,215.87,207.04,208.94,208.94,1529778`)
//! read in one pass: each field is read where it starts, without splitting the line into
//! fields first. A line it does not read exactly as the general path would (quotes, spaces,
//! missing values, non-ASCII bytes, a wrong field count, anything refused) goes the general
//! way, which also words the refusal.

use super::decimal::{decimal_prefix, whole_prefix};
use super::eight_bytes::{bytes_equal, every_byte, first_marked, word_at};
use super::values::iso_date;
use chrono::NaiveDate;

/// What one field of a line is to the fast path.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Date,
    /// Open, high, low or close: the index into [`PlainRow::prices`].
    Price(usize),
    Volume,
    /// A field no bar reads (`Adj Close`): only checked to hold nothing the general path
    /// would read differently.
    Unread,
}

/// How the lines of one file are read by the fast path.
#[derive(Debug)]
pub(crate) struct PlainRows {
    /// One role per field, in line order.
    roles: Vec<Role>,
    delimiter: u8,
}

/// The values the fast path read from one line.
#[derive(Debug, PartialEq)]
pub(crate) struct PlainRow {
    pub date: NaiveDate,
    /// Open, high, low and close.
    pub prices: [f64; 4],
    pub volume: i64,
}

impl PlainRows {
    /// The fast path for lines of `width` fields with the date, open, high, low, close and
    /// volume at `positions` (in that order, and nothing else: a ticker column goes the
    /// general way), when it applies: ISO dates, a delimiter that no number or date holds,
    /// and no field read twice.
    pub(crate) fn new(positions: &[usize], width: usize, delimiter: char, iso_dates: bool) -> Option<Self> {
        let delimiter = match delimiter {
            ',' | ';' | '\t' | '|' => delimiter as u8,
            _ => return None,
        };
        if !iso_dates || positions.len() != 6 {
            return None;
        }
        let mut roles = vec![Role::Unread; width];
        for (slot, &at) in positions.iter().enumerate() {
            let role = match slot {
                0 => Role::Date,
                1..=4 => Role::Price(slot - 1),
                _ => Role::Volume,
            };
            let field = roles.get_mut(at)?;
            if *field != Role::Unread {
                return None;
            }
            *field = role;
        }
        Some(PlainRows { roles, delimiter })
    }

    /// The values of `line` when each field is plain: a valid `YYYY-MM-DD` date, positive
    /// prices of digits and at most one point, a volume of digits, and unread fields without
    /// quotes or non-ASCII bytes; exactly as many fields as the header. `None` otherwise.
    #[inline]
    pub(crate) fn read(&self, line: &[u8]) -> Option<PlainRow> {
        let mut row = PlainRow { date: NaiveDate::MIN, prices: [0.0; 4], volume: 0 };
        let mut at = 0;
        for (index, role) in self.roles.iter().enumerate() {
            if index > 0 {
                if line.get(at) != Some(&self.delimiter) {
                    return None;
                }
                at += 1;
            }
            let field = line.get(at..)?;
            at += match *role {
                Role::Date => {
                    row.date = iso_date(field.get(..10)?)?;
                    10
                }
                Role::Price(slot) => {
                    let (price, len) = decimal_prefix(field)?;
                    if price <= 0.0 {
                        return None;
                    }
                    row.prices[slot] = price;
                    len
                }
                Role::Volume => {
                    let (volume, len) = whole_prefix(field)?;
                    row.volume = volume;
                    len
                }
                Role::Unread => unread_len(field, self.delimiter)?,
            };
        }
        (at == line.len()).then_some(row)
    }
}

/// The length of a field that is not read, up to the delimiter; `None` when it holds a
/// quote or a non-ASCII byte, which the general path treats differently.
#[inline]
fn unread_len(bytes: &[u8], delimiter: u8) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = word_at(bytes, at) {
        let ends = bytes_equal(word, delimiter);
        let refused = bytes_equal(word, b'"') | (word & every_byte(0x80));
        // Only what comes before the delimiter counts.
        let end = first_marked(ends);
        if first_marked(refused) < end {
            return None;
        }
        if end < 8 {
            return Some(at + end);
        }
        at += 8;
    }
    unread_len_by_bytes(bytes, at, delimiter)
}

/// [`unread_len`] one byte at a time, from `start`.
fn unread_len_by_bytes(bytes: &[u8], start: usize, delimiter: u8) -> Option<usize> {
    for (at, &byte) in bytes.iter().enumerate().skip(start) {
        if byte == delimiter {
            return Some(at);
        }
        if byte == b'"' || !byte.is_ascii() {
            return None;
        }
    }
    Some(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::super::eight_bytes::random_bytes;
    use super::*;
    use rand::SeedableRng;

    fn yahoo() -> PlainRows {
        // Date,Open,High,Low,Close,Adj Close,Volume
        PlainRows::new(&[0, 1, 2, 3, 4, 6], 7, ',', true).expect("the Yahoo layout")
    }

    #[test]
    fn a_yahoo_line_is_read_field_by_field() {
        let row = yahoo().read(b"2015-01-02,212.680362,215.87332,207.044982,208.943849,1.5,1529778");
        let date = NaiveDate::from_ymd_opt(2015, 1, 2).expect("date");
        assert_eq!(
            row,
            Some(PlainRow {
                date,
                prices: [212.680362, 215.87332, 207.044982, 208.943849],
                volume: 1_529_778
            })
        );
    }

    #[test]
    fn anything_unusual_is_left_to_the_general_path() {
        let rows = yahoo();
        for line in [
            "2015-01-02,212.68,215.87,207.04,208.94,208.94,1529778,extra",
            "2015-01-02,212.68,215.87,207.04,208.94,1529778",
            "2015-01-02,212.68,215.87,207.04,208.94,208.94,1529778\r",
            "2015-01-02, 212.68,215.87,207.04,208.94,208.94,1529778",
            "2015-01-02,0,215.87,207.04,208.94,208.94,1529778",
            "2015-01-02,,215.87,207.04,208.94,208.94,1529778",
            "2015-01-02,null,215.87,207.04,208.94,208.94,1529778",
            "2015-01-02,-1.5,215.87,207.04,208.94,208.94,1529778",
            "2015-01-02,1e3,215.87,207.04,208.94,208.94,1529778",
            "2015-02-30,212.68,215.87,207.04,208.94,208.94,1529778",
            "2015-1-2,212.68,215.87,207.04,208.94,208.94,1529778",
            "2015-01-02,212.68,215.87,207.04,208.94,\"208.94\",1529778",
            "2015-01-02,212.68,215.87,207.04,208.94,é,1529778",
            "2015-01-02,212.68,215.87,207.04,208.94,208.94,1529778.0",
            "2015-01-02,212.68,215.87,207.04,208.94,208.94,-5",
        ] {
            assert_eq!(rows.read(line.as_bytes()), None, "{line}");
        }
        // Unread fields may hold any other ASCII, or nothing.
        assert!(rows.read(b"2015-01-02,212.68,215.87,207.04,208.94,n/a,1529778").is_some());
        assert!(rows.read(b"2015-01-02,212.68,215.87,207.04,208.94,,1529778").is_some());
    }

    #[test]
    fn an_unread_field_ends_where_the_byte_loop_says() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let alphabet = b"0123456789.,;\"x \xc3\x80\x7f";
        for _ in 0..300_000 {
            let bytes = random_bytes(&mut rng, alphabet, 30);
            for delimiter in [b',', b';'] {
                let text = String::from_utf8_lossy(&bytes);
                assert_eq!(
                    unread_len(&bytes, delimiter),
                    unread_len_by_bytes(&bytes, 0, delimiter),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn layouts_it_cannot_read_have_no_fast_path() {
        assert!(PlainRows::new(&[0, 1, 2, 3, 4, 6], 7, ',', false).is_none(), "other date formats");
        assert!(PlainRows::new(&[0, 1, 2, 3, 4, 6, 7], 8, ',', true).is_none(), "a ticker column");
        assert!(PlainRows::new(&[0, 1, 1, 3, 4, 6], 7, ',', true).is_none(), "a field read twice");
        assert!(PlainRows::new(&[0, 1, 2, 3, 4, 6], 7, '.', true).is_none(), "a delimiter inside numbers");
        assert!(PlainRows::new(&[0, 1, 2, 3, 4, 6], 7, ';', true).is_some());
    }
}
