//! Where the checkout, the team's market data and the oracles are, for the tests of every crate.
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

/// How to install what the oracles need.
pub const INSTALL_HINT: &str = "python3 -m pip install -r tests/oracle/requirements.txt \
     (add --break-system-packages if pip refuses to install into the system Python)";

/// A command that runs the oracle `tests/oracle/<script>` with `PRICESTREAM_PYTHON` (default
/// `python3`).
pub fn oracle_command(script: &str) -> std::process::Command {
    let python = std::env::var("PRICESTREAM_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = std::process::Command::new(python);
    command.arg(repo_root().join("tests/oracle").join(script));
    command
}

/// Runs an oracle to its end and returns its stdout. Panics, saying how to install what is
/// missing, when Python cannot be started or the oracle fails: a missing oracle is a failure,
/// never a skip.
pub fn oracle_output(name: &str, command: &mut std::process::Command) -> Vec<u8> {
    let python = command.get_program().to_string_lossy().into_owned();
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run `{python}` ({e}): the {name} oracle needs Python 3: {INSTALL_HINT}")
    });
    assert!(
        output.status.success(),
        "the {name} oracle failed ({}): {}\nInstall it with: {INSTALL_HINT}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
