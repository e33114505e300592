//! `scripts/check-supply-chain` refuses what it is there to refuse: run against a copy of the
//! advisory database with one advisory planted against a crate the binaries link, it fails
//! naming that advisory; against the database as it is, it passes (as in scripts/test).

use anyhow::{Context, ensure};
use pricestream_tests::repo_paths::repo_root;
use std::path::Path;
use std::process::Command;

/// Copies the folder `from` into `to` (the advisory database is plain files).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn check(database: &Path) -> anyhow::Result<(bool, String)> {
    let output = Command::new(repo_root().join("scripts/check-supply-chain"))
        .env("ADVISORY_DB", database)
        .output()
        .context("running scripts/check-supply-chain")?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}

#[test]
fn an_advisory_against_a_linked_crate_fails_the_check() -> anyhow::Result<()> {
    let shared = repo_root().join("../shared/advisory-db");
    ensure!(
        shared.join("crates").is_dir(),
        "{} not found: the check needs ../shared beside the checkout",
        shared.display()
    );
    let (passed, text) = check(&shared)?;
    ensure!(passed, "the check fails on the snapshot as it is:\n{text}");

    let planted = tempfile::tempdir()?;
    copy_tree(&shared, planted.path())?;
    let crate_dir = planted.path().join("crates/serde_json");
    std::fs::create_dir_all(&crate_dir)?;
    std::fs::write(
        crate_dir.join("RUSTSEC-2099-0001.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"serde_json\"\ndate = \"2099-01-01\"\n\
         categories = [\"memory-corruption\"]\n\n[versions]\npatched = []\n```\n\n\
         # A planted advisory\n\nEvery version is affected; the test expects the check to refuse it.\n",
    )?;
    let (passed, text) = check(planted.path())?;
    ensure!(!passed, "the check passed with an advisory against serde_json:\n{text}");
    ensure!(text.contains("RUSTSEC-2099-0001"), "the failure does not name the advisory:\n{text}");
    Ok(())
}
