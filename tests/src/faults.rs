//! Faults for the fault tests: the local Kafka and Cassandra stopped and started through
//! `scripts/services` (a real broker or node going away and coming back), and the services
//! under test run as child processes whose logs and metrics the tests read.

use crate::{Namespace, binary, free_port, http_get, metric, stop_gracefully};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `scripts/services ARGS` on the local services (the addresses tests read from the
/// environment are left out, or the script would take them for external clusters).
pub fn services(args: &[&str]) -> anyhow::Result<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/services");
    let output = Command::new(&script)
        .args(args)
        .env_remove("KAFKA_BROKERS")
        .env_remove("CASSANDRA_CONTACT_POINTS")
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        bail!("scripts/services {} failed ({}):\n{text}", args.join(" "), output.status);
    }
    Ok(text)
}

/// Fails unless `service` (kafka or cassandra) is the local one `scripts/services` runs: the
/// fault tests restart it, which an external cluster does not allow.
pub fn require_local(service: &str) -> anyhow::Result<()> {
    let status = services(&["status"])?;
    let line = status.lines().find(|line| line.starts_with(service)).unwrap_or_default();
    if !line.contains("running (pid") {
        bail!(
            "the fault tests restart the local {service} of scripts/services, which is not running here ({line}); \
             run them through scripts/test, or start it with scripts/services up"
        );
    }
    Ok(())
}

/// Stops `service` gracefully (SIGTERM), as an operator's restart does.
pub fn stop_service(service: &str) -> anyhow::Result<()> {
    let said = services(&["stop", service])?;
    if !said.contains("stopped (pid") {
        bail!("scripts/services stop {service} did not stop it: {said}");
    }
    Ok(())
}

/// Starts `service` again and returns once it answers.
pub fn start_service(service: &str) -> anyhow::Result<()> {
    let said = services(&["start", service])?;
    if !said.contains("ready on") {
        bail!("scripts/services start {service} did not bring it back: {said}");
    }
    Ok(())
}

/// A service under test, run as a child process with its log in a file.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Its HTTP port (`/metrics`, `/healthz`, `/readyz`).
    pub port: u16,
    /// Its log file.
    pub log: PathBuf,
    /// A name for messages.
    pub name: String,
}

impl Running {
    /// Starts workspace binary `program` with `args` in `namespace`, logging to `dir/name.log`,
    /// with `env` on top of the namespace's environment.
    pub fn start(
        name: &str,
        program: &str,
        args: &[&str],
        namespace: &Namespace,
        env: &[(&str, String)],
        dir: &Path,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(binary(program)?)
            .args(args)
            .envs(namespace.env())
            .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("PRICESTREAM_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        Ok(Running { child, port, log, name: name.to_owned() })
    }

    /// `pricestream-analytics` with `args`, as [`Running::start`] does.
    pub fn analytics(name: &str, args: &[&str], namespace: &Namespace, dir: &Path) -> anyhow::Result<Self> {
        Running::start(name, "pricestream-analytics", args, namespace, &[], dir)
    }

    /// A metric's value (`name` may carry labels: `x_total{dependency="kafka"}`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric(self.port, name)
    }

    /// The HTTP status of `path`.
    pub fn status_of(&self, path: &str) -> Option<u16> {
        http_get(self.port, path).map(|(status, _)| status)
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// What each of its threads is doing now, from gdb when the machine has it (a service that
    /// stopped making progress shows where it waits); a note otherwise.
    pub fn thread_stacks(&self) -> String {
        let pid = self.child.id().to_string();
        let dump = Command::new("gdb")
            .args(["-p", &pid, "-batch", "-nx", "-ex", "set pagination off", "-ex", "thread apply all bt 25"])
            .output();
        match dump {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                // Only the frames: gdb's banner and symbol-loading lines say nothing.
                let frames: Vec<&str> =
                    text.lines().filter(|l| l.starts_with("Thread ") || l.starts_with('#')).collect();
                frames.join("\n")
            }
            Err(error) => format!("(no thread stacks: gdb did not run: {error})"),
        }
    }

    /// Its whole log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails, with its log, if it has exited.
    pub fn assert_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited ({status}); log:\n{}", self.name, self.log_tail(40));
        }
        Ok(())
    }

    /// Stops it with SIGTERM and returns how it exited.
    pub fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        stop_gracefully(&mut self.child)
    }

    /// Waits up to `timeout` for it to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(None)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Median and maximum of `values` (seconds), for the notes the tests print.
pub fn median_and_max(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    (median, sorted.last().copied().unwrap_or(f64::NAN))
}
