//! The records of a delimited text as RFC 4180 has them: a quoted field may hold the
//! delimiter, `""` for a quote, and line breaks, so one record may span several lines.
//!
//! Each record is parsed by csv-core, the parser inside the `csv` crate, fed one bounded line
//! at a time: a huge line costs at most [`MAX_LINE_BYTES`] of memory, and a record that opens
//! a quote and never closes it (within [`MAX_LINE_BYTES`] or before the end of the file) is
//! refused on its first line, and the lines after it are read again as records of their own.
//! One streaming `csv::Reader` over the whole file would instead let a single stray quote
//! swallow every line after it.

use super::lines::{BoundedLines, Line, MAX_LINE_BYTES};
use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};
use std::collections::VecDeque;
use std::io::{self, BufRead};

/// One record as read, before its fields are looked at.
#[derive(Debug)]
pub(crate) enum RawRecord {
    /// A whole record: the number of its first line and its fields.
    Fields { line: u64, raw: Vec<u8>, fields: Fields },
    /// A line longer than the bound: its first bytes and its length.
    TooLong { line: u64, head: Vec<u8>, length: u64 },
    /// A line with a quoted field that never closes.
    Unclosed { line: u64, raw: Vec<u8> },
    /// The file cannot be read past this line.
    ReadError { line: u64, error: io::Error },
}

/// The fields of one record: unquoted bytes and where each field ends.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    /// How many fields there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of field `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.bytes.get(start..end)
    }
}

/// A CSV parser for one delimiter: records end at `\n` only (a lone `\r` stays in its field).
pub(crate) fn parser(delimiter: u8) -> Reader {
    ReaderBuilder::new().delimiter(delimiter).terminator(Terminator::Any(b'\n')).build()
}

/// Parses `record`, a whole record without its final line end; `None` when a quoted field
/// is still open at its end.
pub(crate) fn parse(parser: &mut Reader, record: &[u8]) -> Option<Fields> {
    parser.reset();
    let mut fields = Fields { bytes: vec![0; record.len() + 1], ends: vec![0; 16] };
    // csv-core drops a byte-order mark at the start of its first input after a reset, as if
    // each record began a file. The header's mark is removed before it gets here, so a mark in
    // a record is data: feeding the first byte alone keeps it in the field.
    let (mut input, mut rest) = record.split_at(record.len().min(1));
    let mut line_end_fed = false;
    let (mut written, mut ended) = (0, 0);
    loop {
        let (result, read, nout, nend) =
            parser.read_record(input, &mut fields.bytes[written..], &mut fields.ends[ended..]);
        input = &input[read..];
        // Field ends count from the start of the record, across calls.
        (written, ended) = (written + nout, ended + nend);
        match result {
            ReadRecordResult::Record => break,
            ReadRecordResult::OutputFull => fields.bytes.resize(fields.bytes.len() * 2, 0),
            ReadRecordResult::OutputEndsFull => fields.ends.resize(fields.ends.len() * 2, 0),
            ReadRecordResult::InputEmpty if !rest.is_empty() => (input, rest) = (rest, &[]),
            // The line end closes the record, unless a quoted field takes it in.
            ReadRecordResult::InputEmpty if !line_end_fed => (input, line_end_fed) = (b"\n", true),
            ReadRecordResult::InputEmpty | ReadRecordResult::End => return None,
        }
    }
    fields.bytes.truncate(written);
    fields.ends.truncate(ended);
    Some(fields)
}

/// The records of a text, numbered by their first line.
pub(crate) struct CsvRecords<R> {
    lines: BoundedLines<R>,
    /// Lines read ahead for a quote that never closed, to be read again.
    pending: VecDeque<(u64, io::Result<Line>)>,
    parser: Reader,
}

impl<R: BufRead> CsvRecords<R> {
    /// The records of the lines left in `lines`, split on `delimiter`.
    pub(crate) fn new(lines: BoundedLines<R>, delimiter: u8) -> Self {
        CsvRecords { lines, pending: VecDeque::new(), parser: parser(delimiter) }
    }

    fn next_line(&mut self) -> Option<(u64, io::Result<Line>)> {
        self.pending.pop_front().or_else(|| self.lines.next())
    }

    /// The next record; blank lines are skipped.
    pub(crate) fn next_record(&mut self) -> Option<RawRecord> {
        let (line, first) = loop {
            let (line, read) = self.next_line()?;
            match read {
                Err(error) => return Some(RawRecord::ReadError { line, error }),
                Ok(Line::TooLong { head, length }) => return Some(RawRecord::TooLong { line, head, length }),
                Ok(Line::Text(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Line::Text(bytes)) => break (line, bytes),
            }
        };
        if let Some(fields) = parse(&mut self.parser, &first) {
            return Some(RawRecord::Fields { line, raw: first, fields });
        }
        // A quoted field runs past the line end: take the next lines until it closes.
        let mut record = first.clone();
        let mut taken = Vec::new();
        while let Some((number, read)) = self.next_line() {
            let next = match read {
                Ok(Line::Text(next)) if record.len() + 1 + next.len() <= MAX_LINE_BYTES => next,
                other => {
                    self.pending.push_front((number, other));
                    break;
                }
            };
            record.push(b'\n');
            record.extend_from_slice(&next);
            taken.push((number, Ok(Line::Text(next))));
            if let Some(fields) = parse(&mut self.parser, &record) {
                return Some(RawRecord::Fields { line, raw: record, fields });
            }
        }
        for line in taken.into_iter().rev() {
            self.pending.push_front(line);
        }
        Some(RawRecord::Unclosed { line, raw: first })
    }
}
