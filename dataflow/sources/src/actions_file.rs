//! Corporate actions from data-lake files: comma-separated text, plain or gzip, or Parquet (told
//! from the first bytes, as for bars), with the columns of [`ACTION_COLUMNS`] in any order. Each data record is one action, checked in `validate/action.rs`; a bad record is
//! refused with its line and reason and never stops the good ones.

use super::SourceError;
use super::delimited::{TextRecords, check_width, read_header};
use super::parquet_file::{ParquetRecords, cell_text, open_parquet};
use super::rejection::{LineError, raw_text};
use super::validate::{ActionCells, parse_action};
use flate2::read::MultiGzDecoder;
use pricestream_records::CorporateAction;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The columns of a corporate-actions file: `ticker`, `ex_date` (`YYYY-MM-DD`), `kind`
/// (`split` or `cash_dividend`), `ratio` (a split's new shares per old share) and `amount` (a
/// dividend's cash per share); the number the kind does not use is left empty.
pub const ACTION_COLUMNS: [&str; 5] = ["ticker", "ex_date", "kind", "ratio", "amount"];

/// An optional column: `active` (or empty) or `withdrawn`, an action that is to be removed.
pub const STATUS_COLUMN: &str = "status";

/// The actions of one file, in file order, each one an action or the [`LineError`] that
/// refused its record.
pub type ActionRows = Box<dyn Iterator<Item = Result<CorporateAction, LineError>> + Send>;

/// Opens the corporate-actions file at `path` (CSV, plain or gzip-compressed, or Parquet). A
/// missing column or an empty file is a [`SourceError`]; a header alone yields nothing.
pub fn open_actions_file(path: &Path) -> Result<ActionRows, SourceError> {
    let io = |source| SourceError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = Vec::with_capacity(4);
    (&mut file).take(4).read_to_end(&mut magic).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    match magic.as_slice() {
        [] => Err(SourceError::Empty { path: path.to_owned() }),
        [b'P', b'A', b'R', b'1'] => {
            let mut columns: Vec<(&'static str, &str)> =
                ACTION_COLUMNS.map(|column| (column, column)).to_vec();
            columns.push((STATUS_COLUMN, STATUS_COLUMN));
            // The status column is optional: without one, read the file for the others.
            match open_parquet(file, path, &columns) {
                Ok(records) => Ok(Box::new(ParquetActions(records, true))),
                Err(SourceError::MissingColumn { field: STATUS_COLUMN, .. }) => {
                    let file = File::open(path).map_err(io)?;
                    Ok(Box::new(ParquetActions(open_parquet(file, path, &columns[..5])?, false)))
                }
                Err(error) => Err(error),
            }
        }
        [0x1f, 0x8b, ..] => read_actions(BufReader::new(MultiGzDecoder::new(BufReader::new(file))), path),
        _ => read_actions(BufReader::new(file), path),
    }
}

fn read_actions<R: BufRead + Send + 'static>(reader: R, path: &Path) -> Result<ActionRows, SourceError> {
    let (header, records) = read_header(reader, path, b',')?;
    let mut positions = [0; ACTION_COLUMNS.len()];
    for (position, column) in positions.iter_mut().zip(ACTION_COLUMNS) {
        *position = header.position(column).ok_or_else(|| SourceError::MissingColumn {
            path: path.to_owned(),
            field: column,
            column: column.to_owned(),
            header: raw_text(header.text.as_bytes()),
        })?;
    }
    let status = header.position(STATUS_COLUMN);
    Ok(Box::new(ActionRecords { records, positions, status, width: header.names.len() }))
}

struct ActionRecords<R> {
    records: TextRecords<R>,
    /// Where each of [`ACTION_COLUMNS`] is in a record.
    positions: [usize; ACTION_COLUMNS.len()],
    /// Where the optional [`STATUS_COLUMN`] is, if there is one.
    status: Option<usize>,
    width: usize,
}

impl<R: BufRead> Iterator for ActionRecords<R> {
    type Item = Result<CorporateAction, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (positions, status, width) = (self.positions, self.status, self.width);
        self.records.next_parsed(|_, fields| {
            check_width(fields, width)?;
            // The record is valid UTF-8 (checked whole), and so is each of its fields.
            let cell = |slot: usize| {
                let bytes = fields.get(positions[slot]).unwrap_or_default();
                std::str::from_utf8(bytes).unwrap_or_default()
            };
            let [ticker, ex_date, kind, ratio, amount] = [0, 1, 2, 3, 4].map(cell);
            let status = status.and_then(|at| fields.get(at)).and_then(|b| std::str::from_utf8(b).ok());
            parse_action(&ActionCells {
                ticker,
                ex_date,
                kind,
                ratio,
                amount,
                status: status.unwrap_or_default(),
            })
        })
    }
}

/// The actions of a Parquet file: each cell read as the text a CSV file would hold
/// ([`cell_text`]), then checked as a CSV record is; the flag says whether it has a status column.
struct ParquetActions(ParquetRecords, bool);

impl Iterator for ParquetActions {
    type Item = Result<CorporateAction, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let with_status = self.1;
        self.0.next_parsed(|_, cells| {
            let [ticker, ex_date, kind, ratio, amount] =
                [0, 1, 2, 3, 4].map(|slot| cell_text(cells.get(slot), cells.is_nanos(slot)));
            let status = if with_status { cell_text(cells.get(5), false) } else { String::new() };
            parse_action(&ActionCells {
                ticker: &ticker,
                ex_date: &ex_date,
                kind: &kind,
                ratio: &ratio,
                amount: &amount,
                status: &status,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::Reason;
    use pricestream_records::ActionKind;
    use std::io::Write;
    use std::path::PathBuf;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        (dir, path)
    }

    const FILE: &str = "kind,ticker,ex_date,ratio,amount\n\
        split,NVDA,2024-06-10,10,\n\
        cash_dividend,ORCL,2024-07-11,,0.40\n\
        split,AAPL,2020-08-31,four,\n\
        \"cash_dividend\",\"MSFT\",\"2024-08-15\",\"\",\"0.75\"\n";

    fn read(path: &Path) -> Vec<Result<CorporateAction, LineError>> {
        open_actions_file(path).expect("opens").collect()
    }

    #[test]
    fn plain_and_gzip_files_give_the_same_actions_and_refusals() {
        let (_plain_dir, plain) = write("actions.csv", FILE.as_bytes());
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(FILE.as_bytes()).expect("compressed");
        let (_gzip_dir, gzipped) = write("actions.csv.gz", &gzip.finish().expect("compressed"));
        for path in [plain, gzipped] {
            let rows = read(&path);
            assert_eq!(rows.len(), 4, "{rows:?}");
            let kinds: Vec<Option<ActionKind>> =
                rows.iter().map(|r| r.as_ref().ok().map(|a| a.kind)).collect();
            assert_eq!(
                kinds,
                [
                    Some(ActionKind::Split { ratio: 10.0 }),
                    Some(ActionKind::CashDividend { amount: 0.40 }),
                    None,
                    Some(ActionKind::CashDividend { amount: 0.75 })
                ]
            );
            let refused = rows[2].as_ref().expect_err("refused");
            assert_eq!((refused.line, refused.reason), (4, Reason::BadNumber));
            assert!(refused.message.contains("ratio `four`"), "{refused}");
        }
    }

    #[test]
    fn a_missing_column_or_a_parquet_file_is_a_source_error() {
        let (_dir, path) = write("actions.csv", b"ticker,ex_date,kind,ratio\nNVDA,2024-06-10,split,10\n");
        let error = open_actions_file(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("amount"), "{error}");
        let (_dir, path) = write("actions.parquet", b"PAR1 and more");
        assert!(matches!(open_actions_file(&path), Err(SourceError::Parquet { .. })));
    }

    /// One action row: ticker, ex-date (days since 1970-01-01), kind, ratio, amount.
    type ParquetAction<'a> = (&'a str, i32, &'a str, Option<f64>, Option<f64>);

    /// A Parquet file of actions: string ticker and kind, a DATE ex-date, nullable numbers, and
    /// a status column when `status` is given (one per row).
    fn write_parquet(path: &Path, rows: &[ParquetAction<'_>], status: Option<&[&str]>) {
        use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type};
        let status_column = if status.is_some() { "required binary status (UTF8);" } else { "" };
        let schema = parquet::schema::parser::parse_message_type(&format!(
            "message actions {{
                required binary ticker (UTF8);
                required int32 ex_date (DATE);
                required binary kind (UTF8);
                optional double ratio;
                optional double amount;
                {status_column}
            }}"
        ))
        .expect("schema");
        let props = std::sync::Arc::new(parquet::file::properties::WriterProperties::builder().build());
        let file = std::fs::File::create(path).expect("create");
        let mut writer =
            parquet::file::writer::SerializedFileWriter::new(file, std::sync::Arc::new(schema), props)
                .expect("writer");
        let mut group = writer.next_row_group().expect("row group");
        let mut column = 0;
        while let Some(mut col) = group.next_column().expect("column") {
            let text =
                |strings: Vec<&str>| -> Vec<ByteArray> { strings.into_iter().map(ByteArray::from).collect() };
            match column {
                0 => col.typed::<ByteArrayType>().write_batch(
                    &text(rows.iter().map(|r| r.0).collect()),
                    None,
                    None,
                ),
                1 => col.typed::<Int32Type>().write_batch(
                    &rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                    None,
                    None,
                ),
                2 => col.typed::<ByteArrayType>().write_batch(
                    &text(rows.iter().map(|r| r.2).collect()),
                    None,
                    None,
                ),
                5 => col.typed::<ByteArrayType>().write_batch(
                    &text(status.unwrap_or_default().to_vec()),
                    None,
                    None,
                ),
                _ => {
                    let cells: Vec<Option<f64>> =
                        rows.iter().map(|r| if column == 3 { r.3 } else { r.4 }).collect();
                    let levels: Vec<i16> = cells.iter().map(|c| i16::from(c.is_some())).collect();
                    let values: Vec<f64> = cells.iter().flatten().copied().collect();
                    col.typed::<DoubleType>().write_batch(&values, Some(&levels), None)
                }
            }
            .expect("written");
            col.close().expect("close column");
            column += 1;
        }
        group.close().expect("close group");
        writer.close().expect("close file");
    }

    #[test]
    fn a_parquet_file_gives_the_same_actions_as_its_csv() {
        // 2024-06-10 and 2024-07-11 are days 19884 and 19915 after 1970-01-01.
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("actions.parquet");
        let rows = [
            ("NVDA", 19884, "split", Some(10.0), None),
            ("orcl", 19915, "cash_dividend", None, Some(0.4)),
            ("NVDA", 19886, "split", None, None),
        ];
        write_parquet(&path, &rows, None);
        let (_csv_dir, csv) = write("actions.csv", FILE.as_bytes());
        let from_csv: Vec<CorporateAction> = read(&csv).into_iter().take(2).flatten().collect();
        let read = read(&path);
        assert_eq!(read.len(), 3, "{read:?}");
        let actions: Vec<CorporateAction> = read.iter().take(2).flatten().cloned().collect();
        assert_eq!(actions, from_csv);
        let refused = read[2].as_ref().expect_err("a split without a ratio");
        assert_eq!((refused.line, refused.reason), (3, Reason::MissingValue));
    }

    #[test]
    fn a_status_column_withdraws_an_action_in_csv_and_in_parquet() {
        let text = "ticker,ex_date,kind,ratio,amount,status\nNVDA,2024-06-10,split,10,,withdrawn\nORCL,2024-07-11,cash_dividend,,0.4,\nNVDA,2024-06-11,split,2,,gone\n";
        let (_csv_dir, csv) = write("actions.csv", text.as_bytes());
        let dir = tempfile::tempdir().expect("a temporary folder");
        let parquet = dir.path().join("actions.parquet");
        let rows = [
            ("NVDA", 19884, "split", Some(10.0), None),
            ("ORCL", 19915, "cash_dividend", None, Some(0.4)),
            ("NVDA", 19885, "split", Some(2.0), None),
        ];
        write_parquet(&parquet, &rows, Some(&["withdrawn", "", "gone"]));
        // A CSV file numbers its header line 1, a Parquet file its first row.
        for (path, line) in [(csv, 4), (parquet, 3)] {
            let read = read(&path);
            let flags: Vec<bool> = read.iter().take(2).flatten().map(|a| a.withdrawn).collect();
            assert_eq!(flags, [true, false], "{}", path.display());
            let refused = read[2].as_ref().expect_err("an unknown status");
            assert_eq!((refused.line, refused.reason), (line, Reason::BadAction), "{}", path.display());
        }
    }
}
