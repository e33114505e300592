//! A real Prometheus scrapes both services during an end-to-end run, with the chart's
//! alert rules loaded. Every metric the docs promise is there, every PromQL expression of
//! the dashboards and rules parses and evaluates, every pipeline panel returns data, and
//! no rule fails to evaluate.

use pricestream_tests::repo_paths::repo_root;
use pricestream_tests::{Namespace, binary, free_port, generate_lake, metric, stop_gracefully, wait_for};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Dashboard variables as Grafana would substitute them for this run.
const NAMESPACE: &str = "e2e";

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/pricestream")
}

fn spawn(name: &str, args: &[&str], ns: &Namespace, port: u16, log: &Path) -> anyhow::Result<Child> {
    Ok(Command::new(binary(name)?)
        .args(args)
        .envs(ns.env())
        .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?)
}

/// `GET /api/v1/<path>` on Prometheus, as JSON. HTTP/1.0, so the body is not chunked.
fn api(port: u16, path: &str) -> anyhow::Result<Value> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(stream, "GET /api/v1/{path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    serde_json::from_str(body).map_err(|e| anyhow::anyhow!("{response}: {e}"))
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The result vector of an instant query; an error names the query.
fn query(port: u16, promql: &str) -> anyhow::Result<Vec<Value>> {
    let answer = api(port, &format!("query?query={}", encode(promql)))?;
    anyhow::ensure!(answer["status"] == "success", "`{promql}` failed: {answer}");
    Ok(answer["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Every `expr` string in a dashboard, with its panel title.
fn dashboard_queries(node: &Value, title: &str, out: &mut Vec<(String, String)>) {
    match node {
        Value::Object(map) => {
            let title = map.get("title").and_then(Value::as_str).unwrap_or(title);
            if let Some(expr) = map.get("expr").and_then(Value::as_str) {
                out.push((
                    title.to_owned(),
                    expr.replace("$namespace", NAMESPACE).replace("$__rate_interval", "1m"),
                ));
            }
            for value in map.values() {
                dashboard_queries(value, title, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| dashboard_queries(item, title, out)),
        _ => {}
    }
}

fn prometheus_config(extractor: u16, analytics: u16, rules: &Path) -> String {
    // The labels the chart's ServiceMonitors attach: fixed job names, namespace, pod.
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n\
         \x20 - job_name: pricestream-extractor\n    static_configs:\n      - targets: ['127.0.0.1:{extractor}']\n\
         \x20       labels: {{namespace: {NAMESPACE}, pod: extractor-0}}\n\
         \x20 - job_name: pricestream-analytics\n    static_configs:\n      - targets: ['127.0.0.1:{analytics}']\n\
         \x20       labels: {{namespace: {NAMESPACE}, pod: analytics-0, statefulset: analytics}}\n",
        rules = rules.display()
    )
}

#[tokio::test]
async fn prometheus_scrapes_every_metric_and_every_dashboard_and_rule_query_works() -> anyhow::Result<()> {
    let prometheus = which("prometheus").ok_or_else(|| {
        anyhow::anyhow!("prometheus is not installed: run scripts/check-deploy (Debian package `prometheus`)")
    })?;
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let (data, watched) = (dir.path().join("data"), dir.path().join("watched"));
    std::fs::create_dir_all(&watched)?;
    generate_lake(data.to_str().unwrap_or_default(), 3, 60, None, &ns)?;
    let config = dir.path().join("extractor.toml");
    std::fs::write(&config, "[follow]\nfile_poll_interval_ms = 200\nfile_settle_ms = 200\n")?;

    let (extractor_port, analytics_port, prometheus_port) = (free_port()?, free_port()?, free_port()?);
    let config_arg = config.to_str().unwrap_or_default();
    let watched_arg = watched.to_str().unwrap_or_default();
    let mut extractor = spawn(
        "pricestream-extractor",
        &["--config", config_arg, "follow", "--input", watched_arg],
        &ns,
        extractor_port,
        &dir.path().join("extractor.log"),
    )?;
    // Models train on this little history too, so the model panels have data.
    let analytics_config = dir.path().join("analytics.toml");
    std::fs::write(&analytics_config, "[model]\nn_estimators = 10\n\n[serving]\nmin_training_rows = 10\n")?;
    let mut analytics = spawn(
        "pricestream-analytics",
        &["--config", analytics_config.to_str().unwrap_or_default(), "run", "--workers", "2"],
        &ns,
        analytics_port,
        &dir.path().join("analytics.log"),
    )?;
    let prometheus_yml = dir.path().join("prometheus.yml");
    std::fs::write(
        &prometheus_yml,
        prometheus_config(extractor_port, analytics_port, &chart().join("rules/pricestream.rules.yaml")),
    )?;
    let mut server = Command::new(prometheus)
        .arg(format!("--config.file={}", prometheus_yml.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log"))?)
        .spawn()?;

    let result = async {
        // Files land in the watched directory, one with a bad line (for the rejected-lines panel).
        for entry in std::fs::read_dir(&data)? {
            let path = entry?.path();
            std::fs::copy(&path, watched.join(path.file_name().unwrap_or_default()))?;
        }
        std::fs::write(
            watched.join("bad.csv"),
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,x,1,1,1,10\n",
        )?;
        wait_for("the mart rows", Duration::from_secs(90), || {
            metric(analytics_port, "pricestream_analytics_feature_rows_written_total")
                .is_some_and(|n| n >= 180.0)
        })?;
        wait_for("Prometheus to scrape the rows", Duration::from_secs(60), || {
            query(prometheus_port, "pricestream_analytics_feature_rows_written_total")
                .ok()
                .and_then(|r| r.first().and_then(|s| s["value"][1].as_str().map(str::to_owned)))
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|n| n >= 180.0)
        })?;
        wait_for("predictions", Duration::from_secs(90), || {
            metric(analytics_port, "pricestream_analytics_predictions_written_total")
                .is_some_and(|n| n >= 1.0)
        })?;
        wait_for("Prometheus to scrape the rejected line", Duration::from_secs(30), || {
            query(prometheus_port, "pricestream_extractor_lines_rejected_total").is_ok_and(|r| !r.is_empty())
        })?;
        // A few more scrapes, so that rates have two samples.
        std::thread::sleep(Duration::from_secs(3));

        // Every documented metric is a scraped series.
        for name in [
            "pricestream_extractor_bars_read_total",
            "pricestream_extractor_bars_written_total",
            "pricestream_extractor_lines_rejected_total",
            "pricestream_extractor_batch_seconds_bucket",
            "pricestream_analytics_records_consumed_total",
            "pricestream_analytics_records_replayed_total",
            "pricestream_analytics_feature_rows_written_total",
            "pricestream_analytics_epochs_completed_total",
            "pricestream_analytics_cassandra_write_seconds_bucket",
            "pricestream_analytics_end_to_end_seconds_bucket",
            "pricestream_analytics_consumer_lag",
            "pricestream_analytics_workers_running",
            "pricestream_analytics_predictions_written_total",
            "pricestream_analytics_model_trainings_total",
            "pricestream_analytics_model_training_seconds_bucket",
            "pricestream_analytics_model_holdout_rmse",
            "pricestream_analytics_model_gate_weight",
            "pricestream_analytics_model_versions_serving_total",
            "pricestream_analytics_model_device",
            "pricestream_analytics_model_version",
            "pricestream_analytics_prediction_latency_seconds_bucket",
            "pricestream_analytics_messages_rejected_total",
            "pricestream_analytics_cassandra_write_errors_total",
        ] {
            anyhow::ensure!(!query(prometheus_port, name)?.is_empty(), "no series {name}");
        }
        // Both services: their process metrics and which build runs: the checkout's commit, as
        // git itself names it.
        let head = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo_root()).output()?;
        let sha = String::from_utf8(head.stdout)?.trim().to_owned();
        anyhow::ensure!(sha.len() == 40, "git rev-parse HEAD gave {sha:?}");
        for service in ["extractor", "analytics"] {
            let job = format!("pricestream-{service}");
            for promql in [
                format!("process_cpu_seconds_total{{job=\"{job}\"}} >= 0"),
                format!(
                    "pricestream_build_info{{job=\"{job}\",service=\"{service}\",version=~\".+\",git_sha=\"{sha}\"}} == 1"
                ),
            ] {
                anyhow::ensure!(!query(prometheus_port, &promql)?.is_empty(), "no series for {promql}");
            }
        }

        // Every dashboard query parses and every pipeline panel has data.
        let mut queries = Vec::new();
        for entry in std::fs::read_dir(chart().join("dashboards"))? {
            let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(entry?.path())?)?;
            dashboard_queries(&dashboard, "", &mut queries);
        }
        anyhow::ensure!(queries.len() >= 10, "only {} dashboard queries found", queries.len());
        // The GPU panels read the DCGM exporter's metrics, which only a GPU node has: here
        // they must parse, not return data.
        let empty: Vec<String> = queries
            .iter()
            .filter_map(|(title, expr)| match query(prometheus_port, expr) {
                Ok(result) if result.is_empty() && !expr.contains("DCGM_") => {
                    Some(format!("{title}: `{expr}` returned nothing"))
                }
                Ok(_) => None,
                Err(e) => Some(format!("{title}: {e}")),
            })
            .collect();
        anyhow::ensure!(empty.is_empty(), "dashboard queries without data:\n{}", empty.join("\n"));

        // Every rule loaded, evaluated without error, and its expression runs as a query too.
        let rules = api(prometheus_port, "rules")?;
        let groups = rules["data"]["groups"].as_array().cloned().unwrap_or_default();
        let loaded: Vec<Value> =
            groups.iter().flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default()).collect();
        let in_file = std::fs::read_to_string(chart().join("rules/pricestream.rules.yaml"))?;
        anyhow::ensure!(
            loaded.len() == in_file.matches("- alert:").count() + in_file.matches("- record:").count(),
            "Prometheus loaded {} rules: {rules}",
            loaded.len()
        );
        for rule in &loaded {
            anyhow::ensure!(rule["health"] != "err", "rule {} fails: {}", rule["name"], rule["lastError"]);
            query(prometheus_port, rule["query"].as_str().unwrap_or_default())?;
        }
        anyhow::Ok(())
    }
    .await;

    let _ = server.kill();
    let _ = server.wait();
    let stopped = (stop_gracefully(&mut analytics), stop_gracefully(&mut extractor));
    let logs = ["analytics.log", "extractor.log", "prometheus.log"]
        .iter()
        .map(|name| {
            format!("--- {name}\n{}", std::fs::read_to_string(dir.path().join(name)).unwrap_or_default())
        })
        .collect::<String>();
    result.map_err(|e| e.context(logs))?;
    anyhow::ensure!(stopped.0?.success() && stopped.1?.success(), "a service did not stop cleanly");
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}
