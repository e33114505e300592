//! Corporate actions from data-lake files: comma-separated text, plain or gzip (told from the
//! first bytes, as for bars), with a header naming the columns of [`ACTION_COLUMNS`] in any
//! order. Each data record is one action, checked in `validate/action.rs`; a bad record is
//! refused with its line and reason and never stops the good ones.

use super::SourceError;
use super::delimited::{TextRecords, check_width, read_header};
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

/// The actions of one file, in file order, each one an action or the [`LineError`] that
/// refused its record.
pub type ActionRows = Box<dyn Iterator<Item = Result<CorporateAction, LineError>> + Send>;

/// Opens the corporate-actions file at `path` (plain or gzip-compressed CSV). A missing
/// column, an empty file or a Parquet file is a [`SourceError`]; a header alone yields nothing.
pub fn open_actions_file(path: &Path) -> Result<ActionRows, SourceError> {
    let io = |source| SourceError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = Vec::with_capacity(4);
    (&mut file).take(4).read_to_end(&mut magic).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    match magic.as_slice() {
        [] => Err(SourceError::Empty { path: path.to_owned() }),
        [b'P', b'A', b'R', b'1'] => Err(SourceError::BadHeader {
            path: path.to_owned(),
            message: "corporate actions are read from CSV, plain or gzip; this is a Parquet file".to_owned(),
        }),
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
    Ok(Box::new(ActionRecords { records, positions, width: header.names.len() }))
}

struct ActionRecords<R> {
    records: TextRecords<R>,
    /// Where each of [`ACTION_COLUMNS`] is in a record.
    positions: [usize; ACTION_COLUMNS.len()],
    width: usize,
}

impl<R: BufRead> Iterator for ActionRecords<R> {
    type Item = Result<CorporateAction, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (positions, width) = (self.positions, self.width);
        self.records.next_parsed(|_, fields| {
            check_width(fields, width)?;
            // The record is valid UTF-8 (checked whole), and so is each of its fields.
            let cell = |slot: usize| {
                let bytes = fields.get(positions[slot]).unwrap_or_default();
                std::str::from_utf8(bytes).unwrap_or_default()
            };
            let [ticker, ex_date, kind, ratio, amount] = [0, 1, 2, 3, 4].map(cell);
            parse_action(&ActionCells { ticker, ex_date, kind, ratio, amount })
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
        assert!(matches!(open_actions_file(&path), Err(SourceError::BadHeader { .. })));
    }
}
