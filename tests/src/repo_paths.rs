//! Where the checkout and the team's market data are, for the tests of every crate.
//! Crates below `pricestream-tests` in the dependency graph include this file by path.

use std::path::{Path, PathBuf};

/// The root of the checkout: the nearest folder above the crate that holds `Cargo.lock`.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.ancestors().find(|dir| dir.join("Cargo.lock").is_file());
    root.unwrap_or(manifest).to_path_buf()
}

/// The team's real daily bars: `PRICESTREAM_MARKET_DATA_DIR`, or `../shared/data/market`
/// beside the checkout.
pub fn market_data_dir() -> PathBuf {
    std::env::var_os("PRICESTREAM_MARKET_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data/market"))
}

/// The text of one market-data file and its path; panics saying where it was looked for.
pub fn read_market_file(name: &str) -> (PathBuf, String) {
    let path = market_data_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => (path, text),
        Err(e) => panic!(
            "cannot read {} ({e}); set PRICESTREAM_MARKET_DATA_DIR to the folder holding {name}",
            path.display()
        ),
    }
}
