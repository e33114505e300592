//! Physical lines of a text file with a bound on their length, so one huge line
//! costs at most the bound in memory and the lines after it are still read.

use std::io::{self, BufRead};

/// The longest line, in bytes, a text source accepts (a daily bar is under 200).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One physical line.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    /// The line's bytes, without the `\n` or `\r\n` ending.
    Text(Vec<u8>),
    /// A line longer than the bound: its first bytes and its full length.
    TooLong {
        /// The first [`MAX_LINE_BYTES`] bytes (at most).
        head: Vec<u8>,
        /// The line's length in bytes.
        length: u64,
    },
}

/// The lines of `reader`, numbered from 1; an I/O error ends them.
pub(crate) struct BoundedLines<R> {
    reader: R,
    max: usize,
    number: u64,
    done: bool,
    line: Vec<u8>,
}

impl<R: BufRead> BoundedLines<R> {
    pub(crate) fn new(reader: R, max: usize) -> Self {
        BoundedLines { reader, max, number: 0, done: false, line: Vec::new() }
    }

    /// Reads one line into `self.line` (at most `max` bytes of it are kept); its full length,
    /// or `None` at the end.
    fn read_line(&mut self) -> io::Result<Option<u64>> {
        let kept = &mut self.line;
        kept.clear();
        let mut length: u64 = 0;
        let mut saw_bytes = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !saw_bytes {
                    return Ok(None);
                }
                break;
            }
            saw_bytes = true;
            let newline = memchr::memchr(b'\n', available);
            let chunk = &available[..newline.unwrap_or(available.len())];
            let room = (self.max + 1).saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            length += chunk.len() as u64;
            let used = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if kept.last() == Some(&b'\r') && length <= self.max as u64 + 1 {
            kept.pop();
            length -= 1;
        }
        if length > self.max as u64 {
            kept.truncate(self.max);
        }
        Ok(Some(length))
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = (u64, io::Result<Line>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.number += 1;
        match self.read_line() {
            Ok(Some(length)) if length > self.max as u64 => {
                Some((self.number, Ok(Line::TooLong { head: std::mem::take(&mut self.line), length })))
            }
            Ok(Some(_)) => Some((self.number, Ok(Line::Text(std::mem::take(&mut self.line))))),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some((self.number, Err(error)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// The lines, read the same through buffers of any size.
    fn lines(bytes: &[u8], max: usize) -> Vec<(u64, Line)> {
        let read = |capacity| -> Vec<(u64, Line)> {
            BoundedLines::new(BufReader::with_capacity(capacity, bytes), max)
                .map(|(n, line)| (n, line.expect("in-memory read")))
                .collect()
        };
        let cut = read(4);
        for capacity in [7, 13, 64, 8192] {
            assert_eq!(read(capacity), cut, "buffer of {capacity} bytes");
        }
        cut
    }

    #[test]
    fn splits_on_newlines_and_strips_crlf() {
        let got = lines(b"ab\r\ncd\n\nef", 10);
        let text = |s: &str| Line::Text(s.as_bytes().to_vec());
        assert_eq!(got, [(1, text("ab")), (2, text("cd")), (3, text("")), (4, text("ef"))]);
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_still_read() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nok\n");
        let got = lines(&input, 10);
        assert_eq!(got[0], (1, Line::TooLong { head: vec![b'x'; 10], length: 100 }));
        assert_eq!(got[1], (2, Line::Text(b"ok".to_vec())));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_kept() {
        assert_eq!(lines(b"0123456789\r\n", 10), [(1, Line::Text(b"0123456789".to_vec()))]);
        assert!(matches!(lines(b"0123456789a\n", 10)[0].1, Line::TooLong { length: 11, .. }));
    }

    #[test]
    fn an_io_error_ends_the_lines() {
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut iter = BoundedLines::new(BufReader::new(Failing), 10);
        assert!(matches!(iter.next(), Some((1, Err(_)))));
        assert!(iter.next().is_none());
    }
}
