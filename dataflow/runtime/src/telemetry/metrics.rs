use prometheus::Registry;
use prometheus::core::Collector;

/// Registers `metric` with `registry` and hands it back, so a service's
/// metrics struct can be built field by field.
pub fn register<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> Result<M, prometheus::Error> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

/// The commit the running binary was built from, as its `main` says at start.
static GIT_SHA: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Records the commit the binary was built from (`env!("PRICESTREAM_GIT_SHA")` of its build
/// script), for `pricestream_build_info`. Only the first call counts.
pub fn set_git_sha(sha: &'static str) {
    let _ = GIT_SHA.set(sha);
}

/// Registers what every service shows besides its own metrics: the process's CPU time,
/// memory and open files (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …)
/// and `pricestream_build_info{service, version, git_sha}` (value 1), which says what runs
/// where.
pub fn register_process_and_build(registry: &Registry, service: &str) -> Result<(), prometheus::Error> {
    #[cfg(target_os = "linux")]
    registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
    let info = prometheus::IntGaugeVec::new(
        prometheus::Opts::new(
            "pricestream_build_info",
            "The build that runs: service, version and commit (value 1).",
        ),
        &["service", "version", "git_sha"],
    )?;
    let sha = GIT_SHA.get().copied().unwrap_or("unknown");
    info.with_label_values(&[service, env!("CARGO_PKG_VERSION"), sha]).set(1);
    registry.register(Box::new(info))
}
