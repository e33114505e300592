use super::{LineError, SourceError};
use chrono::NaiveDate;
use pricestream_dataflow::records::{Bar, Timeframe};
use std::path::Path;
use uuid::Uuid;

/// Column positions found in the header, matched by name so column order may vary.
struct Columns {
    date: usize,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: usize,
}

impl Columns {
    fn from_header(header: &csv::StringRecord, path: &Path) -> Result<Self, SourceError> {
        let find = |name: &'static str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or(SourceError::MissingColumn { path: path.to_owned(), missing: name })
        };
        Ok(Columns {
            date: find("Date")?,
            open: find("Open")?,
            high: find("High")?,
            low: find("Low")?,
            close: find("Close")?,
            volume: find("Volume")?,
        })
    }

    fn width(&self) -> usize {
        [self.date, self.open, self.high, self.low, self.close, self.volume].into_iter().max().unwrap_or(0)
            + 1
    }
}

/// Reads a Yahoo-format daily CSV file (`Date,Open,High,Low,Close,Adj Close,Volume`).
/// Each data line becomes a bar or a [`LineError`] naming the line and column.
pub fn read_yahoo_csv(
    path: &Path,
    ticker: &str,
    task_number: Uuid,
) -> Result<impl Iterator<Item = Result<Bar, LineError>> + use<>, SourceError> {
    let io = |source| SourceError::Io { path: path.to_owned(), source };
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => io(source),
            other => io(std::io::Error::other(format!("{other:?}"))),
        })?;
    let header = reader.headers().map_err(|e| io(std::io::Error::other(e.to_string())))?.clone();
    let columns = Columns::from_header(&header, path)?;
    let (file, ticker) = (path.to_owned(), ticker.to_owned());
    Ok(reader.into_records().map(move |record| {
        let line_error = |line: u64, message: String| LineError { file: file.clone(), line, message };
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            line_error(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        parse_bar(&record, &columns, &ticker, task_number).map_err(|message| line_error(line, message))
    }))
}

fn parse_bar(
    record: &csv::StringRecord,
    columns: &Columns,
    ticker: &str,
    task_number: Uuid,
) -> Result<Bar, String> {
    if record.len() < columns.width() {
        return Err(format!("expected at least {} fields, found {}", columns.width(), record.len()));
    }
    let field = |index: usize| record.get(index).unwrap_or_default().trim();
    let date = field(columns.date);
    let datetime = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| format!("Date `{date}` is not a YYYY-MM-DD date"))?;
    let bar = Bar {
        ticker: ticker.to_owned(),
        timeframe: Timeframe::Day,
        datetime,
        open: parse_price("Open", field(columns.open))?,
        high: parse_price("High", field(columns.high))?,
        low: parse_price("Low", field(columns.low))?,
        close: parse_price("Close", field(columns.close))?,
        volume: parse_volume(field(columns.volume))?,
        task_number,
    };
    bar.validate().map_err(|e| e.to_string())?;
    Ok(bar)
}

fn parse_price(column: &str, text: &str) -> Result<f64, String> {
    text.parse::<f64>().map_err(|_| match text {
        "" | "null" | "NaN" => format!("{column} is missing (`{text}`)"),
        _ => format!("{column} `{text}` is not a number"),
    })
}

fn parse_volume(text: &str) -> Result<i64, String> {
    if let Ok(volume) = text.parse::<i64>() {
        return Ok(volume);
    }
    // Some exports write volumes as `1.2e6` or `1234.0`.
    match text.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e18 => Ok(v as i64),
        _ => Err(format!("Volume `{text}` is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let errors: Vec<String> =
            rows.iter().filter_map(|r| r.as_ref().err()).map(ToString::to_string).collect();
        assert_eq!(rows.iter().filter(|r| r.is_ok()).count(), 2);
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].ends_with("abc-test.csv:3: Open is missing (`null`)"), "{}", errors[0]);
        assert!(errors[1].ends_with(":4: expected at least 7 fields, found 3"), "{}", errors[1]);
        assert!(errors[2].ends_with(":5: Date `2024-13-05` is not a YYYY-MM-DD date"), "{}", errors[2]);
        assert!(errors[3].contains(":6: high 9 is below"), "{}", errors[3]);
    }

    #[test]
    fn a_file_without_the_close_column_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "Date,Open,High,Low,Volume\n").expect("write");
        let error = read_yahoo_csv(&path, "X", Uuid::nil()).err().expect("refused");
        assert!(error.to_string().contains("header has no Close column"), "{error}");
    }
}
