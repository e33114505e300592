//! The Yahoo Finance export layout (`Date,Open,High,Low,Close,Adj Close,Volume`).

use crate::SourceError;
use crate::mapping::CsvMapping;
use crate::open::{FileRows, open_mapped};
use std::path::Path;
use uuid::Uuid;

/// Reads a Yahoo-format daily file (CSV or gzip CSV; Parquet with the same columns too)
/// whose bars all belong to `ticker`. Each data line becomes a bar or a
/// [`LineError`](crate::LineError) naming the line and column.
pub fn read_yahoo_csv(path: &Path, ticker: &str, task_number: Uuid) -> Result<FileRows, SourceError> {
    open_mapped(path, &CsvMapping::default(), Some(ticker.to_owned()), task_number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LineError, Reason};
    use chrono::NaiveDate;
    use pricestream_records::Bar;

    fn read(text: &str) -> Vec<Result<Bar, LineError>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("abc-test.csv");
        std::fs::write(&path, text).expect("write");
        read_yahoo_csv(&path, "ABC", Uuid::nil()).expect("readable").collect()
    }

    #[test]
    fn reads_yahoo_rows() {
        let rows = read(
            "Date,Open,High,Low,Close,Adj Close,Volume\n\
             1999-01-22,1.750000,1.953125,1.552083,1.640625,1.518424,67867200\n",
        );
        let bar = rows[0].as_ref().expect("valid");
        assert_eq!(bar.datetime, NaiveDate::from_ymd_opt(1999, 1, 22).expect("date"));
        assert_eq!((bar.open, bar.high, bar.low, bar.close), (1.75, 1.953125, 1.552083, 1.640625));
        assert_eq!(bar.volume, 67_867_200);
        assert_eq!(bar.ticker, "ABC");
    }

    #[test]
    fn bad_lines_name_their_line_and_the_rest_go_through() {
        let rows = read(
            "Date,Open,High,Low,Close,Adj Close,Volume\n\
             2024-01-02,10,11,9,10.5,10.5,100\n\
             2024-01-03,null,11,9,10.5,10.5,100\n\
             2024-01-04,10,11\n\
             2024-13-05,10,11,9,10.5,10.5,100\n\
             2024-01-08,10,9,9.5,10.5,10.5,100\n\
             2024-01-09,10,11,9,10.5,10.5,100\n",
        );
        let errors: Vec<&LineError> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(rows.iter().filter(|r| r.is_ok()).count(), 2);
        assert_eq!(errors.len(), 4, "{text:?}");
        assert!(text[0].ends_with("abc-test.csv:3: Open is missing (`null`)"), "{}", text[0]);
        assert!(text[1].ends_with(":4: expected 7 fields as in the header, found 3"), "{}", text[1]);
        assert!(text[2].contains(":5: Date `2024-13-05` is not a `%Y-%m-%d` date"), "{}", text[2]);
        assert!(text[3].contains(":6: high 9 is below"), "{}", text[3]);
        let reasons: Vec<Reason> = errors.iter().map(|e| e.reason).collect();
        assert_eq!(
            reasons,
            [Reason::MissingValue, Reason::WrongColumnCount, Reason::BadDate, Reason::InconsistentOhlc]
        );
        assert_eq!(errors[1].raw, "2024-01-04,10,11");
    }

    #[test]
    fn a_file_without_the_close_column_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "Date,Open,High,Low,Volume\n").expect("write");
        let error = read_yahoo_csv(&path, "X", Uuid::nil()).err().expect("refused");
        assert!(error.to_string().contains("header has no `Close` column"), "{error}");
    }
}
