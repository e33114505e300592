//! NVDA through the extractor and the analytics service into the feature mart, compared cell by
//! cell with the seed's `combineDatasets` computed independently by pandas + TA-Lib
//! (`tests/oracle/seed_join.py`); then a bar corrected in the middle rewrites exactly the mart rows
//! whose values change, and the mart is the seed's table of the corrected file.

use anyhow::Context;
use chrono::NaiveDate;
use pricestream_tests::mart::{self, FeatureTable};
use pricestream_tests::{Namespace, analytics_to_end, cassandra, run_ok, shared_market_data};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const FILE: &str = "nvda-1999-2014.csv";
/// The analytics service's default `features.horizon_bars`.
const HORIZON_BARS: u32 = 2;
/// How many lines of a long list a failure message shows.
const SHOWN: usize = 20;

fn first<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().take(SHOWN).map(|item| format!("\n  {item}")).collect()
}

fn assert_mart_is(got: &FeatureTable, want: &FeatureTable, when: &str) {
    let differences = mart::differences(got, want);
    assert!(
        differences.is_empty(),
        "{when}: the mart ({} rows) differs from the seed join ({} rows) in {} cell(s) (mart vs oracle):{}",
        got.len(),
        want.len(),
        differences.len(),
        first(&differences)
    );
}

fn backfill(dir: &Path, ns: &Namespace) -> anyhow::Result<()> {
    run_ok("pricestream-extractor", &["backfill", "--input", dir.to_str().unwrap_or_default()], ns)?;
    Ok(())
}

fn analytics(ns: &Namespace) -> anyhow::Result<()> {
    analytics_to_end(2, ns)?;
    Ok(())
}

/// The dates whose write time differs, or that only one side has.
fn rewritten(before: &BTreeMap<NaiveDate, i64>, after: &BTreeMap<NaiveDate, i64>) -> BTreeSet<NaiveDate> {
    before.keys().chain(after.keys()).filter(|date| before.get(date) != after.get(date)).copied().collect()
}

#[tokio::test]
async fn the_mart_is_the_seed_join_and_a_correction_rewrites_exactly_the_rows_that_change()
-> anyhow::Result<()> {
    let ns = Namespace::unique();
    let original = std::fs::read_to_string(shared_market_data()?.join(FILE))?;
    let (first_dir, second_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let first_file = first_dir.path().join(FILE);
    std::fs::write(&first_file, &original)?;

    // The correction: the close of bar 2000 moves to the middle of its range.
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let target = 2000;
    let mut fields: Vec<String> = lines[target + 1].split(',').map(str::to_owned).collect();
    let (high, low): (f64, f64) = (fields[2].parse()?, fields[3].parse()?);
    let new_close = (high + low) / 2.0;
    assert_ne!(fields[4].parse::<f64>()?, new_close);
    fields[4] = format!("{new_close}");
    lines[target + 1] = fields.join(",");
    let corrected_date: NaiveDate = fields[0].parse()?;
    let second_file = second_dir.path().join(FILE);
    std::fs::write(&second_file, lines.join("\n") + "\n")?;

    let before = mart::seed_join(&first_file, HORIZON_BARS)?;
    let after = mart::seed_join(&second_file, HORIZON_BARS)?;
    assert_eq!(before.len(), 4_012, "the shared data set changed");

    // A fresh run: every bar of the file, every column the seed's.
    backfill(first_dir.path(), &ns)?;
    analytics(&ns)?;
    let session = cassandra::session().await?;
    assert_mart_is(&mart::features(&session, &ns.mart_keyspace, "NVDA").await?, &before, "fresh run");
    let written_before = mart::close_writetimes(&session, &ns.mart_keyspace, "NVDA").await?;

    // The corrected file through both services again (the analytics service restarts).
    backfill(second_dir.path(), &ns)?;
    analytics(&ns)?;
    assert_mart_is(
        &mart::features(&session, &ns.mart_keyspace, "NVDA").await?,
        &after,
        "after the correction",
    );

    // Exactly the rows whose values change were written again: the corrected bar, the row whose
    // label is its close, and the rows whose indicators move.
    let expected = mart::changed_dates(&before, &after);
    let dates: Vec<&NaiveDate> = before.keys().collect();
    let index =
        dates.iter().position(|date| **date == corrected_date).context("corrected date not in the oracle")?;
    let labelled = *dates[index - HORIZON_BARS as usize];
    assert!(expected.contains(&corrected_date), "{corrected_date} unchanged in the oracle");
    assert!(expected.contains(&labelled), "{labelled} (label) unchanged in the oracle");
    let written_after = mart::close_writetimes(&session, &ns.mart_keyspace, "NVDA").await?;
    let got = rewritten(&written_before, &written_after);
    assert!(
        got == expected,
        "{} row(s) rewritten, {} expected; rewritten but unchanged ({}):{}\nchanged but not rewritten ({}):{}",
        got.len(),
        expected.len(),
        got.difference(&expected).count(),
        first(got.difference(&expected)),
        expected.difference(&got).count(),
        first(expected.difference(&got)),
    );

    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}
