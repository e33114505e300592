//! The one entry point for data files: opens a file whatever its container (plain text,
//! gzip, Parquet — told from its first bytes, not its name) and yields its bars.

use super::SourceError;
use super::delimited::read_delimited;
use super::files::ticker_from_path;
use super::mapping::{CsvMapping, FileFormat};
use super::parquet_file::read_parquet;
use super::rejection::LineError;
use super::validate::FileBars;
use flate2::read::MultiGzDecoder;
use pricestream_records::Bar;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use uuid::Uuid;

/// Bytes read from a file per system call: 8 KiB (the default) made a backfill of 500
/// files 24,000 calls, each with its own overhead.
const READ_BUFFER: usize = 64 * 1024;

/// The bars of one file, in file order, each one a bar or the [`LineError`] that refused
/// its line; nothing after the last item, and after a [`Reason::ReadError`](super::Reason) item.
pub type FileRows = Box<dyn Iterator<Item = Result<Bar, LineError>> + Send>;

/// How a file's bytes are packed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Text,
    Gzip,
    Parquet,
}

fn container(magic: &[u8]) -> Container {
    match magic {
        [b'P', b'A', b'R', b'1', ..] => Container::Parquet,
        [0x1f, 0x8b, ..] => Container::Gzip,
        _ => Container::Text,
    }
}

/// Opens the data file at `path`: delimited text (plain or gzip-compressed) or Parquet,
/// told apart by content. The ticker comes from the format's ticker column, or else from
/// the file name (`ticker_from_path`). Bars are validated ([`Bar::validate`]), and a
/// date seen twice for a ticker is refused on the later line; bars are not sorted.
///
/// An empty file (no header line) is a [`SourceError::Empty`]; a header with no data
/// lines yields no bars.
pub fn open_file(path: &Path, format: &FileFormat, task_number: Uuid) -> Result<FileRows, SourceError> {
    let mapping = format.mapping();
    let file_ticker = match mapping.ticker {
        Some(_) => None,
        None => Some(ticker_from_path(path)?),
    };
    open_mapped(path, &mapping, file_ticker, task_number)
}

/// [`open_file`] with the mapping and the file's ticker given.
pub(crate) fn open_mapped(
    path: &Path,
    mapping: &CsvMapping,
    file_ticker: Option<String>,
    task_number: Uuid,
) -> Result<FileRows, SourceError> {
    let bars = FileBars::new(path, mapping, file_ticker, task_number);
    let io = |source| SourceError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = Vec::with_capacity(4);
    (&mut file).take(4).read_to_end(&mut magic).map_err(io)?;
    if magic.is_empty() {
        return Err(SourceError::Empty { path: path.to_owned() });
    }
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(match container(&magic) {
        Container::Parquet => Box::new(read_parquet(file, bars)?),
        Container::Gzip => {
            let text = BufReader::with_capacity(READ_BUFFER, MultiGzDecoder::new(BufReader::new(file)));
            Box::new(read_delimited(text, bars)?)
        }
        Container::Text => {
            let text = BufReader::with_capacity(READ_BUFFER, file);
            Box::new(read_delimited(text, bars)?)
        }
    })
}
