use super::SourceError;
use std::path::{Path, PathBuf};

/// The `*.csv` files directly under `dir`, sorted by name so runs are repeatable.
pub fn list_csv_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io { path: dir.to_owned(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The ticker a file holds: its name up to the first `-`, `_` or `.`, upper-cased
/// (`nvda-1999-2014.csv` → `NVDA`).
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
        assert_eq!(ticker("-x.csv"), None);
    }

    #[test]
    fn lists_only_csv_files_in_name_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["b.csv", "a.CSV", "notes.txt"] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        let names: Vec<String> = list_csv_files(dir.path())
            .expect("listed")
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(names, ["a.CSV", "b.csv"]);
    }
}
