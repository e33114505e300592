//! Helpers for the end-to-end tests: where the services and binaries are,
//! unique names per test, and independent readers of what landed in Kafka
//! and Cassandra.
//!
//! The services are the real local Kafka and Cassandra started by
//! `scripts/services up` (or the clusters named by `KAFKA_BROKERS` and
//! `CASSANDRA_CONTACT_POINTS`).

use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod backtest_report;
pub mod cassandra;
pub mod faults;
pub mod kafka;
pub mod loopback_api;
pub mod mart;
pub mod repo_paths;
pub mod snapshot;
pub mod talib;

/// Kafka bootstrap brokers under test.
pub fn kafka_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Cassandra contact points under test.
pub fn cassandra_contact_points() -> Vec<String> {
    std::env::var("CASSANDRA_CONTACT_POINTS")
        .unwrap_or_else(|_| "127.0.0.1:9042".into())
        .split(',')
        .map(|p| p.trim().to_owned())
        .collect()
}

/// Names private to one test, so tests can run in parallel against one cluster.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Topic prefix (`e2e-<id>.`).
    pub topic_prefix: String,
    /// Warehouse keyspace.
    pub dwh_keyspace: String,
    /// Mart keyspace.
    pub mart_keyspace: String,
    /// Consumer group of the analytics service.
    pub group_id: String,
}

impl Namespace {
    /// Fresh names, unique to this call.
    pub fn unique() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        Namespace {
            topic_prefix: format!("e2e-{id}."),
            dwh_keyspace: format!("e2e_{id}_dwh"),
            mart_keyspace: format!("e2e_{id}_mart"),
            group_id: format!("e2e-{id}"),
        }
    }

    /// The bars topic.
    pub fn bars_topic(&self) -> String {
        format!("{}bars", self.topic_prefix)
    }

    /// The indicators topic.
    pub fn indicators_topic(&self) -> String {
        format!("{}indicators", self.topic_prefix)
    }

    /// The dead-letter topic.
    pub fn dead_letter_topic(&self) -> String {
        format!("{}dead-letter", self.topic_prefix)
    }

    /// The same topics and warehouse, with a mart keyspace and consumer group of its own:
    /// a second deployment of the analytics service reading the same input.
    pub fn own_mart(&self, name: &str) -> Namespace {
        let mut own = self.clone();
        own.mart_keyspace = format!("{}_{name}", self.mart_keyspace);
        own.group_id = format!("{}-{name}", self.group_id);
        own
    }

    /// Environment that points a binary at these names and the services under test.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KAFKA_BROKERS", kafka_brokers()),
            ("CASSANDRA_CONTACT_POINTS", cassandra_contact_points().join(",")),
            ("PRICESTREAM_TOPIC_PREFIX", self.topic_prefix.clone()),
            ("PRICESTREAM_DWH_KEYSPACE", self.dwh_keyspace.clone()),
            ("PRICESTREAM_MART_KEYSPACE", self.mart_keyspace.clone()),
            ("PRICESTREAM_GROUP_ID", self.group_id.clone()),
            ("PRICESTREAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ]
    }
}

/// Path of a workspace binary, next to the test executable's `deps/` folder.
/// `cargo build --workspace` must have built it (the test command does).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(Path::parent).context("test executable has no target dir")?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!("{} not found; run `cargo build --workspace` first", path.display());
    }
    Ok(path)
}

/// Runs a workspace binary with `args` in `namespace`, returning its output.
pub fn run_binary(name: &str, args: &[&str], namespace: &Namespace) -> anyhow::Result<Output> {
    let output = Command::new(binary(name)?)
        .args(args)
        .envs(namespace.env())
        .env_remove("PRICESTREAM_CONFIG")
        .output()
        .with_context(|| format!("cannot run {name}"))?;
    Ok(output)
}

/// Runs a binary and fails with its stderr unless it exits successfully.
pub fn run_ok(name: &str, args: &[&str], namespace: &Namespace) -> anyhow::Result<Output> {
    let output = run_binary(name, args, namespace)?;
    if !output.status.success() {
        bail!("{name} {args:?} failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    Ok(output)
}

/// The model settings of every analytics run in the tests that do not test the model itself:
/// small trees and a version every 100 labels, so that the debug build trains each in a moment
/// (`run --exit-at-end` waits for every version its schedule decides).
pub const TEST_MODEL_SETTINGS: &str =
    "[model]\nn_estimators = 10\nmax_depth = 3\nthreads = 1\n\n[serving]\nretrain_every_rows = 100\n";

/// Writes `dir/name`: an analytics config of [`TEST_MODEL_SETTINGS`] and the other sections
/// in `extra`.
pub fn analytics_config(dir: &Path, name: &str, extra: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, format!("{TEST_MODEL_SETTINGS}\n{extra}"))?;
    Ok(path)
}

/// `pricestream-analytics run --workers N --exit-at-end` in `namespace` with
/// [`TEST_MODEL_SETTINGS`]: the mart, predictions and models built from everything on the
/// topics, then exit.
pub fn analytics_to_end(workers: usize, namespace: &Namespace) -> anyhow::Result<Output> {
    let dir = tempfile::tempdir()?;
    let config = analytics_config(dir.path(), "analytics.toml", "")?;
    let (config, workers) = (config.to_str().unwrap_or_default(), workers.to_string());
    run_ok(
        "pricestream-analytics",
        &["--config", config, "run", "--workers", &workers, "--exit-at-end"],
        namespace,
    )
}

/// Writes synthetic Yahoo CSV files of `tickers` × `days` daily bars into the folder `out`
/// (`pricestream-extractor generate`, with `seed` or the command's default one).
pub fn generate_lake(
    out: &str,
    tickers: impl ToString,
    days: impl ToString,
    seed: Option<u64>,
    namespace: &Namespace,
) -> anyhow::Result<()> {
    let (tickers, days, seed) = (tickers.to_string(), days.to_string(), seed.map(|seed| seed.to_string()));
    let mut args = vec!["generate", "--tickers", &tickers, "--days", &days, "--out", out];
    if let Some(seed) = &seed {
        args.extend(["--seed", seed.as_str()]);
    }
    run_ok("pricestream-extractor", &args, namespace).map(|_| ())
}

/// A test's own names and a temporary folder whose `data/` holds a generated lake.
pub struct Lake {
    /// The test's topics, keyspaces and consumer group.
    pub ns: Namespace,
    /// The temporary folder (removed on drop); free for the test's other files.
    pub dir: tempfile::TempDir,
    /// The lake: one Yahoo CSV per ticker.
    pub data: PathBuf,
}

impl Lake {
    /// `tickers` × `days` synthetic bars (see [`generate_lake`]) under fresh names.
    pub fn generate(tickers: usize, days: usize, seed: Option<u64>) -> anyhow::Result<Lake> {
        let ns = Namespace::unique();
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        generate_lake(data.to_str().context("temporary path is not UTF-8")?, tickers, days, seed, &ns)?;
        Ok(Lake { ns, dir, data })
    }

    /// The lake's folder as a command-line argument.
    pub fn data_arg(&self) -> &str {
        self.data.to_str().unwrap_or_default()
    }

    /// `pricestream-extractor backfill` of the whole lake into the test's topics and warehouse.
    pub fn backfill(&self) -> anyhow::Result<Output> {
        run_ok("pricestream-extractor", &["backfill", "--input", self.data_arg()], &self.ns)
    }
}

/// One daily bar as read back, or as expected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlcv {
    /// Open, high, low, close.
    pub ohlc: [f64; 4],
    /// Volume.
    pub volume: i64,
}

/// Reads a Yahoo CSV the simplest possible way, independently of the
/// extractor's reader: `(date text) -> Ohlcv`, skipping lines that do not parse.
pub fn read_csv_naively(path: &Path) -> anyhow::Result<BTreeMap<String, Ohlcv>> {
    let text = std::fs::read_to_string(path)?;
    let mut rows = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 7 {
            continue;
        }
        let num = |i: usize| f[i].parse::<f64>();
        if let (Ok(o), Ok(h), Ok(l), Ok(c), Ok(v)) = (num(1), num(2), num(3), num(4), f[6].parse::<i64>()) {
            rows.insert(f[0].to_owned(), Ohlcv { ohlc: [o, h, l, c], volume: v });
        }
    }
    Ok(rows)
}

/// The team's real daily bars (`../shared/data/market` beside the checkout).
pub fn shared_market_data() -> anyhow::Result<PathBuf> {
    let dir = repo_paths::market_data_dir();
    if !dir.is_dir() {
        bail!("{} not found: the tests need ../shared beside the checkout", dir.display());
    }
    Ok(dir)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET path` on 127.0.0.1:`port`: the status code and body, or `None` if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// Polls `check` every 200 ms until it holds or `timeout` passes.
pub fn wait_for(
    what: &str,
    timeout: std::time::Duration,
    mut check: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    bail!("timed out waiting for {what}")
}

/// Waits until 127.0.0.1:`port``path` answers 200 (`/healthz`, `/readyz`).
pub fn wait_for_ok(port: u16, path: &str, timeout: std::time::Duration) -> anyhow::Result<()> {
    wait_for(path, timeout, || http_get(port, path).is_some_and(|(status, _)| status == 200))
}

/// The value of an unlabelled metric on 127.0.0.1:`port`/metrics.
pub fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    body.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Sends SIGTERM and waits up to 30 s for the process to exit; kills it after that.
pub fn stop_gracefully(child: &mut std::process::Child) -> anyhow::Result<std::process::ExitStatus> {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if std::time::Instant::now() > deadline {
            child.kill()?;
            bail!("process {} did not stop within 30 s of SIGTERM", child.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Stops a service started by a test (see [`stop_gracefully`]) once the test's `result` is
/// known: the result with the service's stderr (`log`) attached when it failed, or a failure
/// when the service did not exit cleanly.
pub fn stop_after(
    service: &mut std::process::Child,
    log: &Path,
    result: anyhow::Result<()>,
) -> anyhow::Result<()> {
    let status = stop_gracefully(service);
    let stderr = std::fs::read_to_string(log).unwrap_or_default();
    result.map_err(|e| e.context(format!("service stderr:\n{stderr}")))?;
    let status = status?;
    anyhow::ensure!(status.success(), "service exited with {status}:\n{stderr}");
    Ok(())
}

/// A Parquet file as pyarrow and pandas read it: `{"types": {column: arrow type}, "columns":
/// [names in order], "rows": [{column: value}]}`, dates as ISO text, missing values null.
pub fn read_parquet_with_pandas(path: &Path) -> anyhow::Result<serde_json::Value> {
    let script = r#"
import json, sys
import pandas as pd, pyarrow.parquet as pq
schema = pq.read_schema(sys.argv[1])
frame = pd.read_parquet(sys.argv[1])
rows = []
for record in frame.to_dict(orient="records"):
    rows.append({k: (None if v is None or (isinstance(v, float) and v != v) else (v.isoformat() if hasattr(v, "isoformat") else v)) for k, v in record.items()})
print(json.dumps({"types": {f.name: str(f.type) for f in schema}, "columns": list(frame.columns), "rows": rows}, default=int))
"#;
    let output = Command::new("python3").arg("-c").arg(script).arg(path).output()?;
    anyhow::ensure!(output.status.success(), "pandas: {}", String::from_utf8_lossy(&output.stderr));
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Runs `command` for at most `limit`, stopping it early once its stderr holds `marker`;
/// its exit status (`None` when it was stopped) and its stderr.
pub fn run_until(
    mut command: Command,
    limit: Duration,
    marker: Option<&str>,
) -> anyhow::Result<(Option<i32>, String)> {
    let log = tempfile::NamedTempFile::new()?;
    let mut child = command.stdout(Stdio::null()).stderr(log.reopen()?).spawn()?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        let seen =
            marker.is_some_and(|m| std::fs::read_to_string(log.path()).unwrap_or_default().contains(m));
        if seen || Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok((status, std::fs::read_to_string(log.path())?))
}
