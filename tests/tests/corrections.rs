//! A bar corrected in the middle of NVDA: the extractor re-sends exactly the
//! indicator values that TA-Lib says change, with TA-Lib's new values, and
//! nothing else.

use pricestream_records::IndicatorRecord;
use pricestream_records::wire;
use pricestream_tests::talib::{INDICATOR_COLUMNS, Outputs, fields, reference, same};
use pricestream_tests::{Namespace, cassandra, kafka, run_ok, shared_market_data};
use std::collections::{BTreeMap, BTreeSet};

fn changed(before: &[Outputs], after: &[Outputs]) -> BTreeSet<(usize, &'static str)> {
    let mut out = BTreeSet::new();
    for (index, (old, new)) in before.iter().zip(after).enumerate() {
        for (name, columns) in INDICATOR_COLUMNS {
            if columns.iter().any(|&c| !same(old[c], new[c])) {
                out.insert((index, name));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_corrected_bar_resends_exactly_what_talib_says_changed() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let original = std::fs::read_to_string(shared_market_data()?.join("nvda-1999-2014.csv"))?;
    let (first, second) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let first_file = first.path().join("nvda-1999-2014.csv");
    std::fs::write(&first_file, &original)?;

    // Revise the close of bar 2000 to the middle of its range.
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let target = 2000;
    let fields_of: Vec<String> = lines[target + 1].split(',').map(str::to_owned).collect();
    let (high, low): (f64, f64) = (fields_of[2].parse()?, fields_of[3].parse()?);
    let new_close = (high + low) / 2.0;
    assert_ne!(fields_of[4].parse::<f64>()?, new_close);
    let mut revised_fields = fields_of.clone();
    revised_fields[4] = format!("{new_close}");
    lines[target + 1] = revised_fields.join(",");
    let date = fields_of[0].clone();
    let second_file = second.path().join("nvda-1999-2014.csv");
    std::fs::write(&second_file, lines.join("\n") + "\n")?;

    let before = reference(&first_file)?;
    let after = reference(&second_file)?;
    let expected = changed(&before, &after);
    assert!(expected.len() > 100, "a close change moves EMA/RSI/MACD far down the tail");

    run_ok(
        "pricestream-extractor",
        &["backfill", "--input", first.path().to_str().unwrap_or_default()],
        &ns,
    )?;
    let first_run = kafka::read_topic(&ns.indicators_topic())?.len();
    let summary = String::from_utf8_lossy(
        &run_ok(
            "pricestream-extractor",
            &["backfill", "--input", second.path().to_str().unwrap_or_default()],
            &ns,
        )?
        .stdout,
    )
    .into_owned();
    assert!(summary.lines().any(|l| l.split_whitespace().eq(["bars", "written", "1"])), "{summary}");

    // The messages of the second run: exactly the changed (date, indicator) pairs, TA-Lib's new values.
    let dates: Vec<&str> =
        original.lines().skip(1).map(|l| l.split(',').next().unwrap_or_default()).collect();
    let index_of: BTreeMap<&str, usize> = dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let resent: Vec<IndicatorRecord> = kafka::read_topic(&ns.indicators_topic())?[first_run..]
        .iter()
        .map(|m| wire::decode(&m.payload))
        .collect::<Result<_, _>>()?;
    let mut got = BTreeSet::new();
    for record in &resent {
        let index = index_of[record.datetime.to_string().as_str()];
        let (name, values) = fields(&record.value);
        let columns = INDICATOR_COLUMNS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).unwrap_or_default();
        for (value, &column) in values.iter().zip(columns) {
            let want = after[index][column];
            assert!(
                (value - want).abs() <= 1e-9 * want.abs().max(1e-12),
                "{name} at {}: {value} vs {want}",
                record.datetime
            );
        }
        assert!(got.insert((index, name)), "{name} at {} sent twice", record.datetime);
    }
    assert_eq!(got, expected);

    // Cassandra holds the revised bar and TA-Lib's revised SMA.
    let session = cassandra::session().await?;
    let stored = cassandra::bars(&session, &ns.dwh_keyspace, "NVDA").await?;
    assert_eq!(stored[&date.parse()?].0.ohlc[3], new_close);
    let sma = cassandra::sma(&session, &ns.dwh_keyspace, "NVDA").await?;
    for (index, outputs) in after.iter().enumerate().filter(|(_, o)| !o[0].is_nan()) {
        let stored = sma[&dates[index].parse()?].1;
        assert!((stored - outputs[0]).abs() <= 1e-9 * outputs[0].abs(), "sma at {}", dates[index]);
    }
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
