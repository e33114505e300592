//! `pricestream-extractor follow`: new and grown files are picked up while it
//! runs, and a restart mid-way leaves no gap and no duplicate in Kafka or
//! Cassandra.

use pricestream_records::wire;
use pricestream_records::{Bar, IndicatorRecord};
use pricestream_tests::{
    Namespace, binary, cassandra, free_port, generate_lake, kafka, metric, stop_gracefully, wait_for,
};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const DAYS: usize = 120;
/// Rows per ticker and indicator after TA-Lib's lookbacks with default periods.
const LOOKBACKS: [usize; 7] = [19, 19, 14, 33, 8, 19, 13];

fn start_follow(ns: &Namespace, input: &Path, config: &Path, port: u16) -> anyhow::Result<Child> {
    Ok(Command::new(binary("pricestream-extractor")?)
        .args([
            "--config",
            config.to_str().unwrap_or_default(),
            "follow",
            "--input",
            input.to_str().unwrap_or_default(),
        ])
        .envs(ns.env())
        .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

/// Writes the header and data lines `range` of each generated file into `dir`.
fn write_part(generated: &Path, dir: &Path, lines: std::ops::Range<usize>) -> anyhow::Result<()> {
    for name in ["gen000.csv", "gen001.csv"] {
        let text = std::fs::read_to_string(generated.join(name))?;
        let all: Vec<&str> = text.lines().collect();
        let mut part = String::from(all[0]);
        part.push('\n');
        for line in &all[1 + lines.start..1 + lines.end] {
            part.push_str(line);
            part.push('\n');
        }
        std::fs::write(dir.join(name), part)?;
    }
    Ok(())
}

#[tokio::test]
async fn a_restart_mid_way_leaves_no_gap_and_no_duplicate() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let (generated, watched, config_dir) = (tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?);
    let out = generated.path().to_str().unwrap_or_default();
    generate_lake(out, 2, 120, Some(3), &ns)?;
    let config = config_dir.path().join("follow.toml");
    std::fs::write(&config, "[follow]\nfile_poll_interval_ms = 200\nfile_settle_ms = 200\n")?;

    // First half, then a clean stop.
    write_part(generated.path(), watched.path(), 0..DAYS / 2)?;
    let port = free_port()?;
    let mut follow = start_follow(&ns, watched.path(), &config, port)?;
    let first = wait_for("the first half", Duration::from_secs(60), || {
        metric(port, "pricestream_extractor_bars_written_total") == Some(DAYS as f64)
    });
    let status = stop_gracefully(&mut follow)?;
    first?;
    assert!(status.success(), "follow exited with {status}");

    // The files grow while nothing runs; a new process picks up exactly the rest.
    write_part(generated.path(), watched.path(), 0..DAYS)?;
    let port = free_port()?;
    let mut follow = start_follow(&ns, watched.path(), &config, port)?;
    let second = wait_for("the second half", Duration::from_secs(60), || {
        metric(port, "pricestream_extractor_bars_written_total") == Some(DAYS as f64)
            && metric(port, "pricestream_extractor_bars_unchanged_total") == Some(DAYS as f64)
    });
    // And while it runs, a new file is picked up too.
    let late = tempfile::tempdir()?;
    let late_dir = late.path().to_str().unwrap_or_default();
    generate_lake(late_dir, 1, 30, Some(4), &ns)?;
    std::fs::copy(late.path().join("gen000.csv"), watched.path().join("late-new.csv"))?;
    let third = second.and_then(|()| {
        wait_for("the new file", Duration::from_secs(60), || {
            metric(port, "pricestream_extractor_bars_written_total") == Some((DAYS + 30) as f64)
        })
    });
    let status = stop_gracefully(&mut follow)?;
    third?;
    assert!(status.success(), "follow exited with {status}");

    // Kafka: every bar and indicator value exactly once.
    let bars: Vec<Bar> = kafka::read_topic(&ns.bars_topic())?
        .iter()
        .map(|m| wire::decode(&m.payload))
        .collect::<Result<_, _>>()?;
    let unique: BTreeSet<(String, String)> =
        bars.iter().map(|b| (b.ticker.to_string(), b.datetime.to_string())).collect();
    assert_eq!((bars.len(), unique.len()), (2 * DAYS + 30, 2 * DAYS + 30));
    let values: Vec<IndicatorRecord> = kafka::read_topic(&ns.indicators_topic())?
        .iter()
        .map(|m| wire::decode(&m.payload))
        .collect::<Result<_, _>>()?;
    let unique: BTreeSet<String> = values
        .iter()
        .map(|v| format!("{} {} {:?}", v.ticker, v.datetime, std::mem::discriminant(&v.value)))
        .collect();
    let per_ticker = |days: usize| LOOKBACKS.iter().map(|l| days.saturating_sub(*l)).sum::<usize>();
    let expected = 2 * per_ticker(DAYS) + per_ticker(30);
    assert_eq!((values.len(), unique.len()), (expected, expected));

    // Cassandra: every bar, no gap.
    let session = cassandra::session().await?;
    for ticker in ["GEN000", "GEN001"] {
        assert_eq!(cassandra::bars(&session, &ns.dwh_keyspace, ticker).await?.len(), DAYS, "{ticker}");
    }
    assert_eq!(cassandra::bars(&session, &ns.dwh_keyspace, "LATE").await?.len(), 30);
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
