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
