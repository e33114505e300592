//! Which columns of a file hold which bar field: the Yahoo layout or a configured mapping.

use chrono::NaiveDate;
use chrono::format::{Item, StrftimeItems};
use pricestream_records::Problems;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// The layout of the files of a source (`[...format]` table, `kind = "yahoo"` or `kind = "csv"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileFormat {
    /// Yahoo Finance export: `Date,Open,High,Low,Close,Adj Close,Volume`, comma-separated.
    #[default]
    Yahoo,
    /// Any delimited (or Parquet) file whose columns are named by the mapping.
    Csv(CsvMapping),
}

impl FileFormat {
    /// The column mapping this format stands for (Yahoo: `CsvMapping::default`).
    pub fn mapping(&self) -> CsvMapping {
        match self {
            FileFormat::Yahoo => CsvMapping::default(),
            FileFormat::Csv(mapping) => mapping.clone(),
        }
    }

    /// Records every problem under `prefix` (e.g. `extract.format`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        if let FileFormat::Csv(mapping) = self {
            mapping.validate(prefix, problems);
        }
    }
}

/// Header names of the columns that hold each bar field; matched trimmed and case-insensitively.
/// The same names are looked up in Parquet files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvMapping {
    /// Column with the trading day.
    pub date: String,
    /// Column with the opening price.
    pub open: String,
    /// Column with the highest price.
    pub high: String,
    /// Column with the lowest price.
    pub low: String,
    /// Column with the closing price.
    pub close: String,
    /// Column with the traded volume (a whole number; `1.2e6` and `1234.0` are accepted).
    pub volume: String,
    /// Column with the ticker; when absent the ticker comes from the file name.
    pub ticker: Option<String>,
    /// chrono `strftime` format of the date column (`%Y-%m-%d`, `%d/%m/%Y`, `%Y%m%d`, …).
    pub date_format: String,
    /// Field separator, one ASCII character (`,`, `;`, `\t`, `|`).
    pub delimiter: char,
}

fn default_date_format() -> String {
    "%Y-%m-%d".into()
}

fn default_delimiter() -> char {
    ','
}

impl Default for CsvMapping {
    /// The Yahoo layout.
    fn default() -> Self {
        CsvMapping {
            date: "Date".into(),
            open: "Open".into(),
            high: "High".into(),
            low: "Low".into(),
            close: "Close".into(),
            volume: "Volume".into(),
            ticker: None,
            date_format: default_date_format(),
            delimiter: default_delimiter(),
        }
    }
}

impl CsvMapping {
    /// The bar fields and the column names that hold them, ticker last when mapped.
    pub(crate) fn columns(&self) -> Vec<(&'static str, &str)> {
        let mut columns = vec![
            ("date", self.date.as_str()),
            ("open", self.open.as_str()),
            ("high", self.high.as_str()),
            ("low", self.low.as_str()),
            ("close", self.close.as_str()),
            ("volume", self.volume.as_str()),
        ];
        if let Some(ticker) = &self.ticker {
            columns.push(("ticker", ticker.as_str()));
        }
        columns
    }

    /// Records every problem under `prefix` (e.g. `extract.format`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |k: &str| format!("{prefix}.{k}");
        let columns = self.columns();
        for (i, (field, name)) in columns.iter().enumerate() {
            problems.check(!name.trim().is_empty(), &key(field), "must name a column, got an empty string");
            let clash = columns[..i].iter().find(|(_, other)| other.trim().eq_ignore_ascii_case(name.trim()));
            if let Some((other, _)) = clash.filter(|_| !name.trim().is_empty()) {
                problems.add(&key(field), format_args!("names the same column `{name}` as `{other}`"));
            }
        }
        problems.check(
            self.delimiter.is_ascii() && !matches!(self.delimiter, '"' | '\n' | '\r'),
            &key("delimiter"),
            format_args!(
                "must be one ASCII character other than a quote or newline, got {:?}",
                self.delimiter
            ),
        );
        if let Err(why) = check_date_format(&self.date_format) {
            problems.add(&key("date_format"), format_args!("{why}, got `{}`", self.date_format));
        }
    }
}

/// Checks that `format` is a valid chrono format that names a whole date.
fn check_date_format(format: &str) -> Result<(), &'static str> {
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err("is not a valid chrono format");
    }
    let sample = NaiveDate::from_ymd_opt(2024, 1, 22).ok_or("cannot build a sample date")?;
    let midnight = sample.and_hms_opt(0, 0, 0).ok_or("cannot build a sample time")?;
    let mut text = String::new();
    write!(text, "{}", midnight.format_with_items(items.iter().cloned()))
        .map_err(|_| "must only use date and time specifiers (%Y, %m, %d, %H, …)")?;
    match NaiveDate::parse_from_str(&text, format) {
        Ok(date) if date == sample => Ok(()),
        _ => Err("must name year, month and day"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        format: FileFormat,
    }

    #[test]
    fn reads_both_kinds_from_toml() {
        let yahoo: Section = toml::from_str("[format]\nkind = \"yahoo\"\n").expect("yahoo");
        assert_eq!(yahoo.format, FileFormat::Yahoo);
        let csv: Section = toml::from_str(
            "[format]\nkind = \"csv\"\ndate = \"day\"\nticker = \"symbol\"\n\
             delimiter = \";\"\ndate_format = \"%d/%m/%Y\"\n",
        )
        .expect("csv");
        let mapping = csv.format.mapping();
        assert_eq!((mapping.date.as_str(), mapping.open.as_str()), ("day", "Open"));
        assert_eq!((mapping.ticker.as_deref(), mapping.delimiter), (Some("symbol"), ';'));
    }

    #[test]
    fn unknown_mapping_keys_are_errors() {
        let error =
            toml::from_str::<Section>("[format]\nkind = \"csv\"\nclose_column = \"c\"\n").expect_err("typo");
        assert!(error.to_string().contains("unknown field `close_column`"), "{error}");
    }

    #[test]
    fn reports_every_mapping_problem() {
        let mapping = CsvMapping {
            open: String::new(),
            close: "date".into(),
            delimiter: '"',
            date_format: "%Y-%m".into(),
            ..CsvMapping::default()
        };
        let problems =
            Problems::collect(|problems| FileFormat::Csv(mapping).validate("extract.format", problems));
        let text = problems.to_string();
        assert_eq!(problems.messages().len(), 4, "{text}");
        assert!(text.contains("`extract.format.open` must name a column"), "{text}");
        assert!(text.contains("`extract.format.close` names the same column `date` as `date`"), "{text}");
        assert!(text.contains("`extract.format.delimiter`"), "{text}");
        assert!(text.contains("`extract.format.date_format` must name year, month and day"), "{text}");
    }

    #[test]
    fn accepts_common_date_formats_and_refuses_broken_ones() {
        for ok in ["%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S"] {
            assert_eq!(check_date_format(ok), Ok(()), "{ok}");
        }
        assert!(check_date_format("%Q").is_err());
        assert!(check_date_format("%H:%M").is_err());
    }
}
