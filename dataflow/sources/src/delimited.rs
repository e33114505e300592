//! Reads delimited text (CSV, `;`- or tab-separated; plain or gzip) with a header line,
//! one bar per line.

use super::SourceError;
use super::dedup::SeenDates;
use super::lines::{BoundedLines, Line, LineRef, MAX_LINE_BYTES};
use super::mapping::CsvMapping;
use super::plain_row::PlainRows;
use super::rejection::{LineError, Reason, Refusal, raw_text};
use super::split::{Cells, split_ascii, split_fields, split_plain};
use super::values::{check_bar, parse_date, parse_price, parse_ticker, parse_volume};
use pricestream_records::{Bar, Ticker, Timeframe};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Position in a data line of each mapped field, in [`CsvMapping::columns`] order.
#[derive(Debug)]
struct Columns {
    positions: Vec<usize>,
    width: usize,
}

/// Bars of a delimited text; see [`read_delimited`].
pub(crate) struct DelimitedRows<R> {
    lines: BoundedLines<R>,
    parser: LineParser,
}

/// Turns one data line into a bar; apart from the lines, everything a file's rows need.
struct LineParser {
    file: PathBuf,
    mapping: CsvMapping,
    columns: Columns,
    file_ticker: Option<Ticker>,
    task_number: Uuid,
    seen: SeenDates,
    /// Field bounds of the line being parsed, reused from line to line.
    bounds: Vec<(usize, usize)>,
    /// The delimiter as a byte, when plain ASCII lines can be split on it directly.
    ascii_delimiter: Option<u8>,
    /// The one-pass reading of the usual line, when the file's layout allows it.
    plain_rows: Option<PlainRows>,
}

/// Reads the header of `reader` (the first line that is not blank) and finds the mapped
/// columns; the data lines are read as the result is iterated.
pub(crate) fn read_delimited<R: BufRead>(
    reader: R,
    file: &Path,
    mapping: &CsvMapping,
    file_ticker: Option<String>,
    task_number: Uuid,
) -> Result<DelimitedRows<R>, SourceError> {
    let mut lines = BoundedLines::new(reader, MAX_LINE_BYTES);
    let bad_header = |message: String| SourceError::BadHeader { path: file.to_owned(), message };
    let header = loop {
        match lines.next() {
            None => return Err(SourceError::Empty { path: file.to_owned() }),
            Some((_, Err(source))) => return Err(SourceError::Io { path: file.to_owned(), source }),
            Some((_, Ok(Line::TooLong { length, .. }))) => {
                return Err(bad_header(format!("the header line is {length} bytes long")));
            }
            Some((_, Ok(Line::Text(bytes)))) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Some((_, Ok(Line::Text(bytes)))) => break String::from_utf8_lossy(&bytes).into_owned(),
        }
    };
    let header = header.trim_start_matches('\u{feff}');
    let names = split_fields(header, mapping.delimiter).map_err(bad_header)?;
    let mut positions = Vec::new();
    for (field, column) in mapping.columns() {
        let found = names.iter().position(|name| name.trim().eq_ignore_ascii_case(column.trim()));
        positions.push(found.ok_or_else(|| SourceError::MissingColumn {
            path: file.to_owned(),
            field,
            column: column.to_owned(),
            header: raw_text(header.as_bytes()),
        })?);
    }
    if mapping.ticker.is_none() && file_ticker.is_none() {
        return Err(SourceError::NoTicker { path: file.to_owned() });
    }
    let iso_dates = mapping.date_format == "%Y-%m-%d";
    let plain_rows = PlainRows::new(&positions, names.len(), mapping.delimiter, iso_dates);
    let parser = LineParser {
        file: file.to_owned(),
        mapping: mapping.clone(),
        plain_rows: plain_rows.filter(|_| file_ticker.is_some()),
        columns: Columns { positions, width: names.len() },
        file_ticker: file_ticker.map(Ticker::from),
        task_number,
        seen: SeenDates::default(),
        bounds: Vec::new(),
        ascii_delimiter: u8::try_from(mapping.delimiter).ok().filter(|&b| b.is_ascii() && b != b'"'),
    };
    Ok(DelimitedRows { lines, parser })
}

impl<R: BufRead> Iterator for DelimitedRows<R> {
    type Item = Result<Bar, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (number, line) = self.lines.next_line()?;
            let parser = &mut self.parser;
            let refuse = |refusal, raw: &[u8]| LineError::new(parser.file.clone(), number, refusal, raw);
            let bytes = match line {
                Ok(LineRef::Text(bytes)) => bytes,
                Ok(LineRef::TooLong { head, length }) => {
                    let message = format!("line is {length} bytes, over the {MAX_LINE_BYTES}-byte limit");
                    return Some(Err(refuse(Refusal::new(Reason::LineTooLong, message), head)));
                }
                Err(error) => {
                    let message = format!("cannot read the file past line {}: {error}", number - 1);
                    return Some(Err(refuse(Refusal::new(Reason::ReadError, message), b"")));
                }
            };
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(
                parser
                    .parse_line(number, bytes)
                    .map_err(|refusal| LineError::new(parser.file.clone(), number, refusal, bytes)),
            );
        }
    }
}

impl LineParser {
    fn parse_line(&mut self, number: u64, bytes: &[u8]) -> Result<Bar, Refusal> {
        let bar = match self.read_plain(bytes) {
            Some(bar) => bar,
            None => self.read_fields(bytes)?,
        };
        check_bar(&bar)?;
        match self.mapping.ticker {
            Some(_) => self.seen.check(&bar.ticker, bar.datetime, number, "line")?,
            // Every bar has the file's ticker.
            None => self.seen.check_sole(bar.datetime, number, "line")?,
        }
        Ok(bar)
    }

    /// The bar of a usual line, read in one pass; `None` leaves the line to [`Self::read_fields`].
    #[inline]
    fn read_plain(&self, bytes: &[u8]) -> Option<Bar> {
        let (rows, ticker) = (self.plain_rows.as_ref()?, self.file_ticker.as_ref()?);
        let row = rows.read(bytes)?;
        let [open, high, low, close] = row.prices;
        Some(Bar {
            ticker: ticker.clone(),
            timeframe: Timeframe::Day,
            datetime: row.date,
            open,
            high,
            low,
            close,
            volume: row.volume,
            task_number: self.task_number,
        })
    }

    /// The bar of any line: split into fields (quotes honoured), each read and checked.
    fn read_fields(&mut self, bytes: &[u8]) -> Result<Bar, Refusal> {
        let fields = match self.ascii_delimiter {
            Some(delimiter) if split_ascii(bytes, delimiter, &mut self.bounds) => {
                Cells::Plain { text: ascii_text(bytes), bounds: &self.bounds }
            }
            _ => split_any(bytes, self.mapping.delimiter, &mut self.bounds)?,
        };
        if fields.len() != self.columns.width {
            let message =
                format!("expected {} fields as in the header, found {}", self.columns.width, fields.len());
            return Err(Refusal::new(Reason::WrongColumnCount, message));
        }
        let cell = |slot: usize| self.columns.positions.get(slot).and_then(|&i| fields.get(i)).unwrap_or("");
        let m = &self.mapping;
        let ticker = match (&m.ticker, &self.file_ticker) {
            (Some(column), _) => parse_ticker(column, cell(6))?,
            (None, Some(ticker)) => ticker.clone(),
            (None, None) => {
                return Err(Refusal::new(Reason::BadTicker, "no ticker column and no file ticker"));
            }
        };
        Ok(Bar {
            ticker,
            timeframe: Timeframe::Day,
            datetime: parse_date(&m.date, cell(0), &m.date_format)?,
            open: parse_price(&m.open, cell(1))?,
            high: parse_price(&m.high, cell(2))?,
            low: parse_price(&m.low, cell(3))?,
            close: parse_price(&m.close, cell(4))?,
            volume: parse_volume(&m.volume, cell(5))?,
            task_number: self.task_number,
        })
    }
}

/// The fields of a line that is not plain ASCII: UTF-8 checked, quotes honoured.
fn split_any<'a>(
    bytes: &'a [u8],
    delimiter: char,
    bounds: &'a mut Vec<(usize, usize)>,
) -> Result<Cells<'a>, Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let message = format!("line is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to());
        Refusal::new(Reason::NotUtf8, message)
    })?;
    if memchr::memchr(b'"', bytes).is_some() {
        let fields = split_fields(text, delimiter).map_err(|m| Refusal::new(Reason::Malformed, m))?;
        return Ok(Cells::Quoted(fields));
    }
    split_plain(text, delimiter, bounds);
    Ok(Cells::Plain { text, bounds })
}

/// `bytes` as text, once [`split_ascii`] found them all ASCII.
#[allow(unsafe_code, reason = "skipping a UTF-8 check that the ASCII check already covers")]
fn ascii_text(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: only called on bytes `split_ascii` accepted, which are all below 0x80, and
    // ASCII is valid UTF-8.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn parser(header: &str) -> LineParser {
        let rows = read_delimited(
            header.as_bytes(),
            Path::new("T.csv"),
            &CsvMapping::default(),
            Some("T".into()),
            Uuid::nil(),
        );
        rows.map(|rows| rows.parser).expect("a header")
    }

    /// A field of a Yahoo line: usually plain, often something the general path reads or
    /// refuses in its own way.
    fn field(rng: &mut impl Rng, column: usize) -> String {
        let pick =
            |rng: &mut dyn rand::RngCore, pool: &[&str]| pool[rng.random_range(0..pool.len())].to_owned();
        if rng.random_bool(0.7) {
            return match column {
                0 => format!(
                    "20{:02}-{:02}-{:02}",
                    rng.random_range(0..30),
                    rng.random_range(1..13),
                    rng.random_range(1..29)
                ),
                6 => rng.random_range(0..10_000_000_u32).to_string(),
                _ => format!(
                    "{}.{:0width$}",
                    rng.random_range(0..3000),
                    rng.random_range(0..1_000_000),
                    width = rng.random_range(0..7)
                )
                .trim_end_matches('.')
                .to_owned(),
            };
        }
        pick(
            rng,
            &[
                "",
                " ",
                "0",
                "0.0",
                "12.",
                ".5",
                ".",
                "1e5",
                " 12.5",
                "12.5 ",
                "null",
                "NaN",
                "-3.2",
                "+3.2",
                "12345678901234567890",
                "123456789012345.5",
                "\"12.5\"",
                "\"1,5\"",
                "12,5",
                "2015-13-01",
                "2015-02-30",
                "2015-1-2",
                " 2015-01-02",
                "2015-01-02",
                "1529778",
                "-5",
                "1.0",
                "é",
                "n/a",
                "\t7",
            ],
        )
    }

    #[test]
    fn the_one_pass_reading_gives_what_the_general_path_gives() {
        let header = "Date,Open,High,Low,Close,Adj Close,Volume";
        let (mut fast, mut general) = (parser(header), parser(header));
        assert!(fast.plain_rows.is_some());
        general.plain_rows = None;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let mut read_plain = 0;
        for number in 0..200_000 {
            let width = [6, 7, 7, 7, 7, 7, 8][rng.random_range(0..7)];
            let mut line = (0..width).map(|column| field(&mut rng, column)).collect::<Vec<_>>().join(",");
            if rng.random_bool(0.02) {
                line.push('\r');
            }
            read_plain += usize::from(fast.read_plain(line.as_bytes()).is_some());
            let (one_pass, split) =
                (fast.parse_line(number, line.as_bytes()), general.parse_line(number, line.as_bytes()));
            assert_eq!(one_pass, split, "{line:?}");
        }
        // Both kinds of line were tried, many times.
        assert!((10_000..150_000).contains(&read_plain), "{read_plain} lines read in one pass");
    }
}
