//! Which files a source reads, and the ticker a file's name stands for.

use super::SourceError;
use std::path::{Path, PathBuf};

/// File name endings [`list_files`] picks up, compared case-insensitively.
pub const DATA_FILE_SUFFIXES: [&str; 4] = [".csv", ".csv.gz", ".parquet", ".pq"];

/// The data files named by `input`, sorted by path so runs are repeatable:
/// - a directory: the files directly in it whose names end in one of `DATA_FILE_SUFFIXES`;
/// - a glob (`data/*.csv.gz`, `lake/**/*.parquet`): the matching files with those endings;
/// - a file: that file, whatever its name.
///
/// No match gives an empty list; the caller decides whether that is an error.
pub fn list_files(input: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io { path: input.to_owned(), source };
    let text = input.to_string_lossy();
    let mut files = Vec::new();
    if input.is_dir() {
        for entry in std::fs::read_dir(input).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if is_data_file(&path) && path.is_file() {
                files.push(path);
            }
        }
    } else if input.is_file() {
        files.push(input.to_owned());
    } else if text.contains(['*', '?', '[']) {
        let bad_glob = |source| SourceError::BadGlob { pattern: text.to_string(), source };
        for entry in glob::glob(&text).map_err(bad_glob)? {
            let path = entry.map_err(|e| SourceError::Io { path: e.path().to_owned(), source: e.into() })?;
            if is_data_file(&path) && path.is_file() {
                files.push(path);
            }
        }
    } else {
        return Err(io(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory")));
    }
    files.sort();
    Ok(files)
}

/// True when the name of `path` ends in one of [`DATA_FILE_SUFFIXES`].
pub fn is_data_file(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    DATA_FILE_SUFFIXES.iter().any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
}

/// The ticker a file holds: its name up to the first `-`, `_` or `.`, upper-cased
/// (`nvda-1999-2014.csv` → `NVDA`, `aapl.csv.gz` → `AAPL`, `msft_daily.parquet` → `MSFT`).
pub fn ticker_from_path(path: &Path) -> Result<String, SourceError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let ticker = name.split(['-', '_', '.']).next().unwrap_or_default().to_ascii_uppercase();
    if ticker.is_empty() || !ticker.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(SourceError::NoTicker { path: path.to_owned() });
    }
    Ok(ticker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_is_the_upper_cased_name_prefix() {
        let ticker = |p: &str| ticker_from_path(Path::new(p)).ok();
        assert_eq!(ticker("data/nvda-1999-2014.csv").as_deref(), Some("NVDA"));
        assert_eq!(ticker("orcl_daily.csv").as_deref(), Some("ORCL"));
        assert_eq!(ticker("GEN002.csv").as_deref(), Some("GEN002"));
        assert_eq!(ticker("lake/aapl.csv.gz").as_deref(), Some("AAPL"));
        assert_eq!(ticker("msft_2024.parquet").as_deref(), Some("MSFT"));
        assert_eq!(ticker("-x.csv"), None);
    }

    fn names(files: &[PathBuf]) -> Vec<String> {
        files.iter().filter_map(|p| p.file_name()?.to_str().map(str::to_owned)).collect()
    }

    fn lake() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["b.csv", "a.CSV", "c.csv.gz", "d.parquet", "notes.txt", "e.gz", ".csv"] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        std::fs::create_dir(dir.path().join("sub.csv")).expect("dir");
        dir
    }

    #[test]
    fn lists_data_files_of_a_directory() {
        let dir = lake();
        let got = names(&list_files(dir.path()).expect("listed"));
        assert_eq!(got, ["a.CSV", "b.csv", "c.csv.gz", "d.parquet"]);
    }

    #[test]
    fn lists_data_files_matching_a_glob() {
        let dir = lake();
        let pattern = dir.path().join("*.csv*");
        assert_eq!(names(&list_files(&pattern).expect("listed")), ["b.csv", "c.csv.gz"]);
        let none = dir.path().join("*.json");
        assert!(list_files(&none).expect("listed").is_empty());
    }

    #[test]
    fn a_single_file_is_taken_as_it_is_and_a_missing_path_is_an_error() {
        let dir = lake();
        let notes = dir.path().join("notes.txt");
        assert_eq!(list_files(&notes).expect("listed"), [notes]);
        let error = list_files(&dir.path().join("nope")).expect_err("missing");
        assert!(error.to_string().contains("nope"), "{error}");
        let error = list_files(&dir.path().join("[*.csv")).expect_err("bad glob");
        assert!(error.to_string().contains("pattern"), "{error}");
    }
}
