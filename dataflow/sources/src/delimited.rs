//! Reads delimited text (CSV, `;`- or tab-separated; plain or gzip) with a header line,
//! one bar per record ([`super::csv_records`]: RFC 4180, a quoted field may span lines).

use super::SourceError;
use super::csv_records::{CsvRecords, Fields, RawRecord, parse, parser};
use super::lines::{BoundedLines, Line, MAX_LINE_BYTES};
use super::rejection::{LineError, Reason, Refusal, raw_text};
use super::validate::{FileBars, parse_date, parse_price, parse_ticker, parse_volume};
use pricestream_records::Bar;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Bars of a delimited text; see [`read_delimited`].
pub(crate) struct DelimitedRows<R> {
    records: TextRecords<R>,
    parser: RecordParser,
}

/// Turns one record into a bar; apart from the records, everything a file's rows need.
struct RecordParser {
    bars: FileBars,
    /// Position in a record of each mapped field, in [`CsvMapping::columns`] order.
    positions: Vec<usize>,
    /// How many fields the header has, and so every record.
    width: usize,
}

/// The data records of a delimited text after its header line: each record's first line
/// number, raw bytes (valid UTF-8) and fields, or the [`LineError`] refusing it.
pub(crate) struct TextRecords<R> {
    records: CsvRecords<R>,
    path: PathBuf,
}

/// The header of a delimited text: its text and its column names.
pub(crate) struct Header {
    /// The header line, without a byte-order mark.
    pub(crate) text: String,
    /// The column names, as written.
    pub(crate) names: Vec<String>,
}

impl Header {
    /// Where the column named `column` is (ignoring case and surrounding blanks).
    pub(crate) fn position(&self, column: &str) -> Option<usize> {
        self.names.iter().position(|name| name.trim().eq_ignore_ascii_case(column.trim()))
    }
}

/// Reads the header of `reader` (the first line that is not blank); the records after it are
/// read as the returned [`TextRecords`] is iterated.
pub(crate) fn read_header<R: BufRead>(
    reader: R,
    path: &Path,
    delimiter: u8,
) -> Result<(Header, TextRecords<R>), SourceError> {
    let mut lines = BoundedLines::new(reader, MAX_LINE_BYTES);
    let bad_header = |message: String| SourceError::BadHeader { path: path.to_owned(), message };
    let text = loop {
        match lines.next() {
            None => return Err(SourceError::Empty { path: path.to_owned() }),
            Some((_, Err(source))) => return Err(SourceError::Io { path: path.to_owned(), source }),
            Some((_, Ok(Line::TooLong { length, .. }))) => {
                return Err(bad_header(format!("the header line is {length} bytes long")));
            }
            Some((_, Ok(Line::Text(bytes)))) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Some((_, Ok(Line::Text(bytes)))) => break String::from_utf8_lossy(&bytes).into_owned(),
        }
    };
    let text = text.trim_start_matches('\u{feff}').to_owned();
    let fields = parse(&mut parser(delimiter), text.as_bytes())
        .ok_or_else(|| bad_header("a quoted column name has no closing quote".to_owned()))?;
    let names = (0..fields.len())
        .map(|i| String::from_utf8_lossy(fields.get(i).unwrap_or_default()).into_owned())
        .collect();
    let records = TextRecords { records: CsvRecords::new(lines, delimiter), path: path.to_owned() };
    Ok((Header { text, names }, records))
}

/// Reads the header of `reader` and finds the mapped columns; the data records are read as
/// the result is iterated.
pub(crate) fn read_delimited<R: BufRead>(reader: R, bars: FileBars) -> Result<DelimitedRows<R>, SourceError> {
    let (file, mapping) = (bars.path.as_path(), &bars.mapping);
    // The mapping admits only an ASCII delimiter (see `CsvMapping::validate`).
    let delimiter = u8::try_from(mapping.delimiter).unwrap_or(b',');
    let (header, records) = read_header(reader, file, delimiter)?;
    let mut positions = Vec::new();
    for (field, column) in mapping.columns() {
        positions.push(header.position(column).ok_or_else(|| SourceError::MissingColumn {
            path: file.to_owned(),
            field,
            column: column.to_owned(),
            header: raw_text(header.text.as_bytes()),
        })?);
    }
    if !bars.has_ticker() {
        return Err(SourceError::NoTicker { path: file.to_owned() });
    }
    let parser = RecordParser { bars, positions, width: header.names.len() };
    Ok(DelimitedRows { records, parser })
}

impl<R: BufRead> Iterator for DelimitedRows<R> {
    type Item = Result<Bar, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let parser = &mut self.parser;
        self.records.next_parsed(|line, fields| parser.parse(line, fields))
    }
}

impl<R: BufRead> TextRecords<R> {
    /// The next record turned into an item by `parse` (given the record's first line number and
    /// its fields), or the [`LineError`] refusing it.
    pub(crate) fn next_parsed<T>(
        &mut self,
        parse: impl FnOnce(u64, &Fields) -> Result<T, Refusal>,
    ) -> Option<Result<T, LineError>> {
        let (line, raw, fields) = match self.next()? {
            Ok(record) => record,
            Err(error) => return Some(Err(error)),
        };
        Some(parse(line, &fields).map_err(|refusal| LineError::new(self.path.clone(), line, refusal, &raw)))
    }
}

/// Whether a record has as many fields as the header (`width`).
pub(crate) fn check_width(fields: &Fields, width: usize) -> Result<(), Refusal> {
    if fields.len() == width {
        return Ok(());
    }
    let message = format!("expected {width} fields as in the header, found {}", fields.len());
    Err(Refusal::new(Reason::WrongColumnCount, message))
}

impl<R: BufRead> Iterator for TextRecords<R> {
    type Item = Result<(u64, Vec<u8>, Fields), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = &self.path;
        let refuse = |number, reason, message: String, raw: &[u8]| {
            Err(LineError::new(path.clone(), number, Refusal::new(reason, message), raw))
        };
        Some(match self.records.next_record()? {
            RawRecord::Fields { line, raw, fields } => match std::str::from_utf8(&raw) {
                Ok(_) => Ok((line, raw, fields)),
                Err(e) => refuse(
                    line,
                    Reason::NotUtf8,
                    format!("line is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()),
                    &raw,
                ),
            },
            RawRecord::TooLong { line, head, length } => refuse(
                line,
                Reason::LineTooLong,
                format!("line is {length} bytes, over the {MAX_LINE_BYTES}-byte limit"),
                &head,
            ),
            RawRecord::Unclosed { line, raw } => refuse(
                line,
                Reason::Malformed,
                format!(
                    "a quoted field opens and does not close within {MAX_LINE_BYTES} bytes or before the end of the file"
                ),
                &raw,
            ),
            RawRecord::ReadError { line, error } => refuse(
                line,
                Reason::ReadError,
                format!("cannot read the file past line {}: {error}", line - 1),
                b"",
            ),
        })
    }
}

impl RecordParser {
    fn parse(&mut self, number: u64, fields: &Fields) -> Result<Bar, Refusal> {
        check_width(fields, self.width)?;
        // The record is valid UTF-8 (checked whole), and so is each of its fields.
        let cell = |slot: usize| {
            let bytes = self.positions.get(slot).and_then(|&at| fields.get(at)).unwrap_or_default();
            std::str::from_utf8(bytes).unwrap_or_default()
        };
        let ticker = self.bars.ticker(|column| parse_ticker(column, cell(6)))?;
        let m = &self.bars.mapping;
        let datetime = parse_date(&m.date, cell(0), &m.date_format)?;
        let prices = self.bars.prices(|column, slot| parse_price(column, cell(slot)))?;
        let volume = parse_volume(&m.volume, cell(5))?;
        self.bars.bar(ticker, datetime, prices, volume, (number, "line"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::CsvMapping;
    use std::path::Path;
    use uuid::Uuid;

    fn read(text: &str) -> Vec<Result<Bar, LineError>> {
        read_delimited(
            text.as_bytes(),
            FileBars::new(Path::new("T.csv"), &CsvMapping::default(), Some("T".into()), Uuid::nil()),
        )
        .expect("a header")
        .collect()
    }

    const HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume\n";

    #[test]
    fn a_quoted_field_may_hold_the_delimiter_quotes_and_line_breaks() {
        let text = format!(
            "{HEADER}2024-01-02,\"10.5\",11,9,10.5,\"note, with \"\"quotes\"\"\nand a line break\",100\n\
             2024-01-03,10,11,9,10.5,10.5,100\n"
        );
        let rows = read(&text);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].as_ref().map(|bar| bar.open).ok(), Some(10.5));
        assert!(rows[1].is_ok(), "{rows:?}");
        assert_eq!(rows[1].as_ref().map(|bar| bar.datetime.to_string()).ok().as_deref(), Some("2024-01-03"));
    }

    #[test]
    fn an_unclosed_quote_costs_its_line_only() {
        let text = format!("{HEADER}2024-01-02,\"10,11,9,10.5,10.5,100\n2024-01-03,10,11,9,10.5,10.5,100\n");
        let rows = read(&text);
        assert_eq!(rows.len(), 2);
        let error = rows[0].as_ref().expect_err("refused");
        assert_eq!((error.line, error.reason), (2, Reason::Malformed));
        assert!(rows[1].is_ok(), "{rows:?}");
    }
}
