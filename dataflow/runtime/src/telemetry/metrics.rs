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

/// Registers what every service shows besides its own metrics: the process's CPU time,
/// memory and open files (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …)
/// and `pricestream_build_info{service, version}` (value 1), which says what runs where.
pub fn register_process_and_build(registry: &Registry, service: &str) -> Result<(), prometheus::Error> {
    #[cfg(target_os = "linux")]
    registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
    let info = prometheus::IntGaugeVec::new(
        prometheus::Opts::new(
            "pricestream_build_info",
            "The build that runs: service and version (value 1).",
        ),
        &["service", "version"],
    )?;
    info.with_label_values(&[service, env!("CARGO_PKG_VERSION")]).set(1);
    registry.register(Box::new(info))
}
