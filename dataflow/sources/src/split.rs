//! Splits one line of a delimited file into fields.

use std::borrow::Cow;

/// The fields of `line`, separated by `delimiter`. A field that starts with `"` is
/// quoted: it runs to the next lone `"`, `""` inside it stands for one quote, and the
/// closing quote must be followed by the delimiter or the end of the line. A quote
/// elsewhere in an unquoted field is kept as it is. Records span exactly one line.
pub(crate) fn split_fields(line: &str, delimiter: char) -> Result<Vec<Cow<'_, str>>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let Some(quoted) = rest.strip_prefix('"') else {
            match rest.find(delimiter) {
                Some(at) => {
                    fields.push(Cow::Borrowed(&rest[..at]));
                    rest = &rest[at + delimiter.len_utf8()..];
                    continue;
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        };
        let (value, after) = unquote(quoted)
            .ok_or_else(|| format!("field {} has an opening quote but no closing quote", fields.len() + 1))?;
        fields.push(Cow::Owned(value));
        if after.is_empty() {
            return Ok(fields);
        }
        match after.strip_prefix(delimiter) {
            Some(next) => rest = next,
            None => {
                let found = after.chars().next().unwrap_or(delimiter);
                return Err(format!(
                    "field {} has `{found}` after its closing quote instead of `{delimiter}` or the line end",
                    fields.len()
                ));
            }
        }
    }
}

/// The value of a quoted field whose opening quote is already stripped, and the text
/// after its closing quote; `None` when the quote is never closed.
/// The fields of one line: bounds into the line when it has no quotes (the usual case,
/// nothing allocated), else the unquoted values.
pub(crate) enum Cells<'a> {
    /// `text[start..end]` for each `(start, end)` of `bounds`.
    Plain { text: &'a str, bounds: &'a [(usize, usize)] },
    /// What [`split_fields`] returned.
    Quoted(Vec<Cow<'a, str>>),
}

impl Cells<'_> {
    /// How many fields the line has.
    pub(crate) fn len(&self) -> usize {
        match self {
            Cells::Plain { bounds, .. } => bounds.len(),
            Cells::Quoted(fields) => fields.len(),
        }
    }

    /// Field `index` (from 0), when the line has it.
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        match self {
            Cells::Plain { text, bounds } => bounds.get(index).and_then(|&(start, end)| text.get(start..end)),
            Cells::Quoted(fields) => fields.get(index).map(AsRef::as_ref),
        }
    }
}

/// Splits a line without quotes at every `delimiter`, into `bounds` (cleared first).
pub(crate) fn split_plain(line: &str, delimiter: char, bounds: &mut Vec<(usize, usize)>) {
    bounds.clear();
    let mut start = 0;
    if let Ok(byte) = u8::try_from(delimiter)
        && byte.is_ascii()
    {
        // memchr's SIMD search, which has no set-up per field (`match_indices` has one that
        // cost more than the search itself on lines this short).
        for at in memchr::memchr_iter(byte, line.as_bytes()) {
            bounds.push((start, at));
            start = at + 1;
        }
    } else {
        for (at, _) in line.match_indices(delimiter) {
            bounds.push((start, at));
            start = at + delimiter.len_utf8();
        }
    }
    bounds.push((start, line.len()));
}

/// Splits `line` at every `delimiter` into `bounds` (cleared first) and returns true, when
/// the line is ASCII without a quote, as nearly every line of a price file is; returns false,
/// with `bounds` unspecified, for any other line, which then goes the general way.
///
/// One pass, eight bytes at a time: the delimiters, quotes and non-ASCII bytes of a word
/// are found together. For lines this short, a search per delimiter (memchr) spent more on
/// setting up each search than on searching.
pub(crate) fn split_ascii(line: &[u8], delimiter: u8, bounds: &mut Vec<(usize, usize)>) -> bool {
    bounds.clear();
    let (mut start, mut unusual) = (0, 0);
    let mut words = line.chunks_exact(8);
    let mut scan = |word: u64, offset: usize| {
        unusual |= (word & HIGH_BITS) | bytes_equal(word, b'"');
        let mut found = bytes_equal(word, delimiter);
        while found != 0 {
            let at = offset + found.trailing_zeros() as usize / 8;
            bounds.push((start, at));
            start = at + 1;
            found &= found - 1;
        }
    };
    let mut offset = 0;
    for word in &mut words {
        scan(u64::from_le_bytes(word.try_into().unwrap_or_default()), offset);
        offset += 8;
    }
    // The last bytes, padded with zeros: a zero byte is none of the bytes searched for.
    let mut last = [0; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    scan(u64::from_le_bytes(last), offset);
    bounds.push((start, line.len()));
    unusual == 0
}

/// The high bit of every byte.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that equals `byte`, and no other bit. Exact, unlike
/// the shorter zero-byte test, whose borrows can mark the byte after a match.
#[inline(always)]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    // A byte's low seven bits plus 0x7f carry into its high bit unless they are all zero
    // (and never into the next byte); or-ing `x` adds its own high bit.
    !(((x & !HIGH_BITS) + !HIGH_BITS) | x) & HIGH_BITS
}

fn unquote(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut rest = text;
    loop {
        let at = rest.find('"')?;
        value.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after.strip_prefix('"') {
            Some(more) => {
                value.push('"');
                rest = more;
            }
            None => return Some((value, after)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn split(line: &str) -> Result<Vec<String>, String> {
        split_fields(line, ',').map(|f| f.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        assert_eq!(split("a,b,,c").expect("ok"), ["a", "b", "", "c"]);
        assert_eq!(split("\"a,b\",\"say \"\"hi\"\"\",c").expect("ok"), ["a,b", "say \"hi\"", "c"]);
        assert_eq!(split("a,").expect("ok"), ["a", ""]);
        assert_eq!(split("\"\"").expect("ok"), [""]);
        assert_eq!(split("x\"y").expect("ok"), ["x\"y"]);
        assert_eq!(split_fields("a;b", ';').expect("ok"), ["a", "b"]);
        assert_eq!(split_fields("a\tb", '\t').expect("ok"), ["a", "b"]);
    }

    #[test]
    fn plain_splitting_agrees_with_the_quote_aware_one_on_lines_without_quotes() {
        let mut bounds = Vec::new();
        for (line, delimiter) in [
            ("a,b,,c", ','),
            ("", ','),
            ("a,", ','),
            (",", ','),
            ("x;y;z", ';'),
            ("é→ü→", '→'),
            ("é,ü,ß", ','),
            ("a\tb", '\t'),
        ] {
            split_plain(line, delimiter, &mut bounds);
            let plain = Cells::Plain { text: line, bounds: &bounds };
            let quoted = Cells::Quoted(split_fields(line, delimiter).expect("no quotes"));
            assert_eq!(plain.len(), quoted.len(), "{line:?}");
            for index in 0..=plain.len() {
                assert_eq!(plain.get(index), quoted.get(index), "{line:?} field {index}");
            }
        }
    }

    #[test]
    fn the_ascii_splitter_agrees_with_the_general_one_and_declines_quotes_and_other_bytes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let alphabet = [b'a', b'1', b'.', b',', b';', b'"', b' ', 0xc3, 0xa9, b'\t', 0];
        let (mut ascii, mut general) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let length = rng.random_range(0..40);
            let line: Vec<u8> = (0..length).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect();
            for delimiter in [b',', b';', b'\t'] {
                let accepted = split_ascii(&line, delimiter, &mut ascii);
                let plain = line.is_ascii() && !line.contains(&b'"');
                assert_eq!(accepted, plain, "{line:?}");
                if accepted {
                    let text = std::str::from_utf8(&line).expect("ascii");
                    split_plain(text, char::from(delimiter), &mut general);
                    assert_eq!(ascii, general, "{text:?} split at {delimiter}");
                }
            }
        }
    }

    #[test]
    fn bytes_equal_marks_exactly_the_matching_bytes() {
        for byte in 0..=255_u8 {
            for other in [0_u8, 1, byte.wrapping_sub(1), byte.wrapping_add(1), 0x7f, 0x80, 0xff] {
                let word = u64::from_le_bytes([byte, other, byte, byte, other, 0, 0xff, byte]);
                let expected = word
                    .to_le_bytes()
                    .iter()
                    .enumerate()
                    .fold(0, |mask, (at, &b)| if b == byte { mask | 0x80 << (8 * at) } else { mask });
                assert_eq!(bytes_equal(word, byte), expected, "{byte} among {other}");
            }
        }
    }

    #[test]
    fn refuses_broken_quotes() {
        assert_eq!(split("a,\"b").expect_err("open"), "field 2 has an opening quote but no closing quote");
        assert!(split("\"a\"b,c").expect_err("junk").contains("field 1 has `b` after its closing quote"));
    }
}
