//! Every kind of bad line is refused with its reason, line and raw text; the rest go through.

use super::{HEADER, read_all, split, write};
use crate::{CsvMapping, FileFormat, MAX_LINE_BYTES, RAW_MAX_BYTES, Reason, SourceError, open_file};
use uuid::Uuid;

#[test]
fn each_bad_line_gets_its_reason_and_the_good_ones_pass() {
    let text = format!(
        "{HEADER}\
         2024-01-02,10,11,9,10.5,10.5,100\n\
         2024-01-03,10,11,9\n\
         2024-01-04,\"10,11,9,10.5,10.5,100\n\
         2024-01-05,ten,11,9,10.5,10.5,100\n\
         2024-01-08,NaN,11,9,10.5,10.5,100\n\
         2024-01-09,-1,11,9,10.5,10.5,100\n\
         2024-01-10,0,11,9,10.5,10.5,100\n\
         2024-01-11,10,10.2,9,10.5,10.5,100\n\
         2024-01-12,10,11,10.2,10.5,10.5,100\n\
         2024-01-16,10,11,9,10.5,10.5,-7\n\
         01/17/2024,10,11,9,10.5,10.5,100\n\
         2024-01-02,10,11,9,10.5,10.5,100\n\
         2024-01-18,,11,9,10.5,10.5,100\n\
         2024-01-19,10,11,9,10.5,10.5,1.5\n\
         \n\
         2024-01-22,10,11,9,10.5,10.5,100\r\n"
    );
    let (_dir, path) = write("abc.csv", text.as_bytes());
    let (bars, errors) = split(read_all(&path, &FileFormat::Yahoo));
    let got: Vec<(u64, Reason)> = errors.iter().map(|e| (e.line, e.reason)).collect();
    assert_eq!(
        got,
        [
            (3, Reason::WrongColumnCount),
            (4, Reason::Malformed),
            (5, Reason::BadNumber),
            (6, Reason::BadPrice),
            (7, Reason::BadPrice),
            (8, Reason::BadPrice),
            (9, Reason::InconsistentOhlc),
            (10, Reason::InconsistentOhlc),
            (11, Reason::NegativeVolume),
            (12, Reason::BadDate),
            (13, Reason::DuplicateDate),
            (14, Reason::MissingValue),
            (15, Reason::BadNumber),
        ]
    );
    let dates: Vec<String> = bars.iter().map(|b| b.datetime.to_string()).collect();
    assert_eq!(dates, ["2024-01-02", "2024-01-22"]);
    assert!(bars.iter().all(|b| b.ticker == "ABC"));
    let duplicate = &errors[10];
    assert_eq!(duplicate.message, "duplicate date 2024-01-02, first seen on line 2");
    assert_eq!(duplicate.raw, "2024-01-02,10,11,9,10.5,10.5,100");
    assert!(duplicate.to_string().ends_with("abc.csv:13: duplicate date 2024-01-02, first seen on line 2"));
}

#[test]
fn a_line_that_is_not_utf8_is_refused_and_the_next_read() {
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"2024-01-02,10,11,9,10.5,10.5,1\xff0\n2024-01-03,10,11,9,10.5,10.5,100\n");
    let (_dir, path) = write("abc.csv", &bytes);
    let (bars, errors) = split(read_all(&path, &FileFormat::Yahoo));
    assert_eq!(bars.len(), 1);
    assert_eq!((errors[0].line, errors[0].reason), (2, Reason::NotUtf8));
    assert!(errors[0].raw.ends_with("1\u{fffd}0"), "{}", errors[0].raw);
}

#[test]
fn a_data_line_that_is_only_a_byte_order_mark_is_refused_on_its_own() {
    // The file's own mark, before the header, is not data; one on a later line is.
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(HEADER.as_bytes());
    bytes.extend_from_slice(b"\xef\xbb\xbf\n\x0e\n2024-01-03,10,11,9,10.5,10.5,100\n");
    let (_dir, path) = write("abc.csv", &bytes);
    let (bars, errors) = split(read_all(&path, &FileFormat::Yahoo));
    assert_eq!(bars.len(), 1);
    assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 3]);
    assert!(errors[0].raw.starts_with('\u{feff}'), "{:?}", errors[0].raw);
}

#[test]
fn a_10_mb_line_is_refused_with_bounded_memory() {
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"2024-01-02,10,11,9,10.5,10.5,100\n");
    bytes.extend(std::iter::repeat_n(b'9', 10 * 1024 * 1024));
    bytes.extend_from_slice(b"\n2024-01-03,10,11,9,10.5,10.5,100\n");
    let (_dir, path) = write("abc.csv", &bytes);
    let (bars, errors) = split(read_all(&path, &FileFormat::Yahoo));
    assert_eq!(bars.len(), 2);
    assert_eq!((errors[0].line, errors[0].reason), (3, Reason::LineTooLong));
    assert_eq!(errors[0].raw.len(), RAW_MAX_BYTES);
    let expected = format!("line is {} bytes, over the {MAX_LINE_BYTES}-byte limit", 10 * 1024 * 1024);
    assert_eq!(errors[0].message, expected);
}

#[test]
fn an_empty_file_is_a_source_error_and_a_header_alone_gives_no_bars() {
    let (_dir, path) = write("abc.csv", b"");
    let error = open_file(&path, &FileFormat::Yahoo, Uuid::nil()).err().expect("empty");
    assert!(matches!(error, SourceError::Empty { .. }), "{error}");
    assert!(error.to_string().contains("the file is empty"), "{error}");
    let (_dir, path) = write("abc.csv", b"\n \r\n");
    assert!(matches!(open_file(&path, &FileFormat::Yahoo, Uuid::nil()), Err(SourceError::Empty { .. })));
    let (_dir, path) = write("abc.csv", HEADER.as_bytes());
    assert_eq!(read_all(&path, &FileFormat::Yahoo).len(), 0);
}

#[test]
fn a_mapped_file_with_a_ticker_column_and_its_own_date_format() {
    let mapping = CsvMapping {
        date: "day".into(),
        open: "o".into(),
        high: "h".into(),
        low: "l".into(),
        close: "c".into(),
        volume: "v".into(),
        ticker: Some("symbol".into()),
        date_format: "%d.%m.%Y".into(),
        delimiter: ';',
    };
    let text = "\u{feff}symbol;day;o;h;l;c;v\n\
                aapl;02.01.2024;187,15;188;183;185;1\n\
                aapl;02.01.2024;187;188;183;185;1\n\
                msft;02.01.2024;370;375;366;370;25000000\n\
                aapl;02.01.2024;187;188;183;185;1\n\
                ;03.01.2024;187;188;183;185;1\n";
    let (_dir, path) = write("lake.csv", text.as_bytes());
    let (bars, errors) = split(read_all(&path, &FileFormat::Csv(mapping)));
    let tickers: Vec<&str> = bars.iter().map(|b| b.ticker.as_str()).collect();
    assert_eq!(tickers, ["AAPL", "MSFT"]);
    let got: Vec<(u64, Reason)> = errors.iter().map(|e| (e.line, e.reason)).collect();
    assert_eq!(got, [(2, Reason::BadNumber), (5, Reason::DuplicateDate), (6, Reason::BadTicker)]);
    assert_eq!(errors[1].message, "duplicate date 2024-01-02, first seen on line 3");
}

#[test]
fn a_file_without_a_ticker_in_its_name_needs_a_ticker_column() {
    let (_dir, path) = write("-.csv", HEADER.as_bytes());
    let error = open_file(&path, &FileFormat::Yahoo, Uuid::nil()).err().expect("no ticker");
    assert!(matches!(error, SourceError::NoTicker { .. }), "{error}");
}
