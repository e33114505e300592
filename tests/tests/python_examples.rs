//! The Python examples against the real services: `features_table.py --follow` keeps its frame
//! equal to the mart while new bars arrive, and `read_export.py` reads a query's Parquet export.

use pricestream_tests::repo_paths::{INSTALL_HINT, repo_root};
use pricestream_tests::{Namespace, analytics_to_end, cassandra, kafka_brokers, run_ok, shared_market_data};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Writes the first `bars` of NVDA's file into `dir`.
fn nvda(dir: &Path, bars: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(shared_market_data()?.join("nvda-1999-2014.csv"))?;
    let lines: Vec<&str> = text.lines().take(bars + 1).collect();
    std::fs::write(dir.join("nvda-1999-2014.csv"), lines.join("\n") + "\n")?;
    Ok(())
}

fn python() -> String {
    std::env::var("PRICESTREAM_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Waits for a line of `lines` that contains `text`.
fn wait_line(lines: &mpsc::Receiver<String>, text: &str, seen: &mut Vec<String>) -> anyhow::Result<()> {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| anyhow::anyhow!("no line with {text:?}; saw {seen:?} ({INSTALL_HINT})"))?;
        seen.push(line.clone());
        if line.contains(text) {
            return Ok(());
        }
    }
}

#[tokio::test]
async fn the_changelog_example_follows_the_mart_and_the_export_example_reads_it() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    nvda(dir.path(), 200)?;
    run_ok("pricestream-extractor", &["backfill", "--input", dir.path().to_str().unwrap_or_default()], &ns)?;
    analytics_to_end(2, &ns)?;

    // The example reads the changelog to its end, then follows it.
    let csv = dir.path().join("followed.csv");
    let topic = format!("{}features", ns.topic_prefix);
    let mut example = Command::new(python())
        .arg(repo_root().join("examples/python/features_table.py"))
        .args(["--brokers", &kafka_brokers(), "--topic", &topic, "--follow", "--csv"])
        .arg(&csv)
        .stderr(Stdio::piped())
        .spawn()?;
    let (send, lines) = mpsc::channel();
    let stderr = example.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    wait_line(&lines, "200 rows: the mart as of now", &mut seen)?;

    // 200 more bars: the followed frame grows to the mart's 400 rows, then stopping writes it.
    nvda(dir.path(), 400)?;
    run_ok("pricestream-extractor", &["backfill", "--input", dir.path().to_str().unwrap_or_default()], &ns)?;
    analytics_to_end(2, &ns)?;
    wait_line(&lines, "400 rows after", &mut seen)?;
    // The last changes of the run may still be coming: wait until a second passes without any.
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        seen.push(line);
    }
    // SIGTERM: a background start (CI) may have left SIGINT ignored.
    Command::new("kill").args(["-TERM", &example.id().to_string()]).status()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = example.try_wait()? {
            break status;
        }
        if std::time::Instant::now() > deadline {
            example.kill()?;
            anyhow::bail!("features_table.py --follow did not stop on SIGTERM: {seen:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    anyhow::ensure!(status.success(), "features_table.py --follow ended with {status}: {seen:?}");

    let session = cassandra::session().await?;
    let mart = cassandra::features(&session, &ns.mart_keyspace, "NVDA").await?;
    let text = std::fs::read_to_string(&csv)?;
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap_or_default().split(',').collect();
    let at = |name: &str| header.iter().position(|c| *c == name).ok_or_else(|| anyhow::anyhow!("no {name}"));
    let (date, close, label) = (at("dateTime")?, at("close")?, at("label")?);
    let followed: Vec<(String, f64, Option<f64>)> = rows
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let label = cells[label].parse().ok();
            Ok((cells[date][..10].to_owned(), cells[close].parse()?, label))
        })
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(followed.len(), mart.len(), "the followed frame has the mart's rows");
    assert_eq!(mart.len(), 400);
    for ((date, close, label), (stored_date, _, stored_close, _, _, stored_label)) in
        followed.iter().zip(&mart)
    {
        assert_eq!(date, &stored_date.to_string());
        assert_eq!((*close, *label), (*stored_close, *stored_label), "{date}");
    }

    // The export example reads a Parquet export, and splits it as a training set.
    let parquet = dir.path().join("nvda.parquet");
    let out = parquet.to_str().unwrap_or_default();
    run_ok("pricestream-analytics", &["query", "features", "--ticker", "NVDA", "--out", out], &ns)?;
    let read = Command::new(python())
        .arg(repo_root().join("examples/python/read_export.py"))
        .args([out, "--training"])
        .output()?;
    let stderr = String::from_utf8_lossy(&read.stderr);
    anyhow::ensure!(read.status.success(), "read_export.py: {stderr}");
    assert!(stderr.contains("400 rows, 31 columns"), "{stderr}");
    assert!(stderr.contains("label (398,)"), "two rows have no label yet: {stderr}");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}
