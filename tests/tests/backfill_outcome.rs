//! What a scheduled backfill Job leaves behind: its exit code and one last log line saying how
//! it ended, with the counts of a finished run (checked against the files, read without our
//! code) or the error of a failed one.

use pricestream_tests::{Lake, read_csv_naively, run_binary};
use serde_json::Value;

/// The last JSON log line on stderr.
fn last_log_line(stderr: &[u8]) -> anyhow::Result<Value> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().rev().find(|line| line.starts_with('{'));
    Ok(serde_json::from_str(line.ok_or_else(|| anyhow::anyhow!("no JSON log line in:\n{text}"))?)?)
}

#[test]
fn a_backfill_ends_with_a_log_line_saying_how_it_ended() -> anyhow::Result<()> {
    let lake = Lake::generate(2, 300, Some(3))?;
    let mut bars = 0;
    for file in std::fs::read_dir(&lake.data)? {
        bars += read_csv_naively(&file?.path())?.len();
    }

    let done = run_binary(
        "pricestream-extractor",
        &["--log-format", "json", "backfill", "--input", lake.data_arg()],
        &lake.ns,
    )?;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let last = last_log_line(&done.stderr)?;
    assert_eq!(last["message"], "Backfill finished.", "{last}");
    assert_eq!(last["bars_read"], bars, "{last}");
    assert_eq!(last["bars_written"], bars, "{last}");
    assert_eq!(last["rejected"], 0, "{last}");

    let missing = lake.dir.path().join("no-such-lake");
    let missing = missing.to_str().unwrap_or_default();
    let failed = run_binary(
        "pricestream-extractor",
        &["--log-format", "json", "backfill", "--input", missing],
        &lake.ns,
    )?;
    assert!(!failed.status.success(), "a backfill of a missing folder succeeded");
    let last = last_log_line(&failed.stderr)?;
    assert_eq!(last["level"], "ERROR", "{last}");
    assert_eq!(last["message"], "Backfill failed.", "{last}");
    assert!(last["error"].as_str().is_some_and(|error| error.contains("no-such-lake")), "{last}");
    Ok(())
}
