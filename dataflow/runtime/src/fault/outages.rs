use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use std::fmt::Display;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// A service the pipeline cannot work without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dependency {
    /// The Kafka brokers.
    Kafka,
    /// The Cassandra cluster.
    Cassandra,
}

impl Dependency {
    /// Both, in a fixed order.
    pub const ALL: [Dependency; 2] = [Dependency::Kafka, Dependency::Cassandra];

    /// The `dependency` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Kafka => "kafka",
            Dependency::Cassandra => "cassandra",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outage metrics of one service, labelled by `dependency` (`kafka`, `cassandra`).
#[derive(Clone)]
pub struct OutageMetrics {
    /// `pricestream_<component>_outages_total`: outages that began.
    pub outages: IntCounterVec,
    /// `pricestream_<component>_outage_active`: 1 while an outage is being waited out.
    pub active: IntGaugeVec,
    /// `pricestream_<component>_request_retries_total`: requests tried again after a transient
    /// failure.
    pub retries: IntCounterVec,
}

impl OutageMetrics {
    /// Registers the three metrics as `pricestream_<component>_…` in `registry`, every
    /// dependency's series present from the start (a rate sees 0 rather than nothing).
    pub fn register(registry: &Registry, component: &str) -> Result<Self, prometheus::Error> {
        let vec = |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), &["dependency"]);
        let metrics = OutageMetrics {
            outages: vec(
                &format!("pricestream_{component}_outages_total"),
                "Outages of a dependency (kafka, cassandra) that began: the first transient failure after a success.",
            )?,
            active: IntGaugeVec::new(
                Opts::new(
                    format!("pricestream_{component}_outage_active"),
                    "1 while an outage of the dependency is being waited out (/readyz answers 503), else 0.",
                ),
                &["dependency"],
            )?,
            retries: vec(
                &format!("pricestream_{component}_request_retries_total"),
                "Requests to a dependency tried again after a transient failure.",
            )?,
        };
        registry.register(Box::new(metrics.outages.clone()))?;
        registry.register(Box::new(metrics.active.clone()))?;
        registry.register(Box::new(metrics.retries.clone()))?;
        for dependency in Dependency::ALL {
            let label = [dependency.as_str()];
            metrics.outages.with_label_values(&label);
            metrics.active.with_label_values(&label).set(0);
            metrics.retries.with_label_values(&label);
        }
        Ok(metrics)
    }
}

/// One outage being waited out.
#[derive(Debug, Clone)]
struct Outage {
    since: Instant,
    what: String,
    error: String,
    /// Its end was logged already (it resumed while the service settled).
    announced_end: bool,
}

/// A failure this soon after an outage ended belongs to it: a broker or node that has just come
/// back answers some requests before others (leaders are still being elected, the gossip is
/// settling), and that is one outage, not several.
const SETTLING: Duration = Duration::from_secs(5);

/// The outages a process is waiting out right now, shared by everything that talks to Kafka
/// and Cassandra. An outage begins with the first transient failure of a request to a
/// dependency and ends with the next success of any request to it: one log line each, however
/// many requests fail meanwhile. A failure within [`SETTLING`] of its end resumes it (counted
/// once, announced once).
#[derive(Default)]
pub struct Outages {
    /// One bit per dependency in an outage: successes check it without taking the lock.
    down: AtomicU8,
    state: Mutex<State>,
    metrics: Option<OutageMetrics>,
}

#[derive(Default)]
struct State {
    current: [Option<Outage>; 2],
    /// The last outage that ended, and when.
    ended: [Option<(Outage, Instant)>; 2],
}

impl Outages {
    /// Outages reported through `metrics`.
    pub fn new(metrics: OutageMetrics) -> Self {
        Outages { metrics: Some(metrics), ..Outages::default() }
    }

    /// A request (`what`) to `dependency` failed with a transient `error`: the start of an
    /// outage unless one is already being waited out.
    pub fn failed(&self, dependency: Dependency, what: &str, error: &dyn Display) {
        if let Some(metrics) = &self.metrics {
            metrics.retries.with_label_values(&[dependency.as_str()]).inc();
        }
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = dependency as usize;
        if state.current[index].is_some() {
            tracing::debug!(%dependency, request = what, "Still waiting: {error}");
            return;
        }
        self.down.fetch_or(dependency.bit(), Ordering::SeqCst);
        if let Some(metrics) = &self.metrics {
            metrics.active.with_label_values(&[dependency.as_str()]).set(1);
        }
        if let Some((outage, ended)) = state.ended[index].take()
            && ended.elapsed() < SETTLING
        {
            tracing::debug!(%dependency, request = what, "The outage goes on while {dependency} settles: {error}");
            state.current[index] = Some(outage);
            return;
        }
        state.current[index] = Some(Outage {
            since: Instant::now(),
            what: what.to_owned(),
            error: error.to_string(),
            announced_end: false,
        });
        if let Some(metrics) = &self.metrics {
            metrics.outages.with_label_values(&[dependency.as_str()]).inc();
        }
        warn!(%dependency, request = what, "Outage: {dependency} does not answer; waiting it out. {error}");
    }

    /// A request to `dependency` succeeded: its outage, if any, is over.
    pub fn succeeded(&self, dependency: Dependency) {
        if self.down.load(Ordering::SeqCst) & dependency.bit() == 0 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = dependency as usize;
        let Some(outage) = state.current[index].take() else { return };
        self.down.fetch_and(!dependency.bit(), Ordering::SeqCst);
        if let Some(metrics) = &self.metrics {
            metrics.active.with_label_values(&[dependency.as_str()]).set(0);
        }
        let seconds = outage.since.elapsed().as_secs_f64();
        // Announced once: an outage resumed while the service settles ends quietly.
        if state.ended[index].is_none() && !outage.announced_end {
            info!(%dependency, seconds, "Outage over: {dependency} answers again after {:.1?}; resuming.", outage.since.elapsed());
        } else {
            tracing::debug!(%dependency, seconds, "Outage over again.");
        }
        state.ended[index] = Some((Outage { announced_end: true, ..outage }, Instant::now()));
    }

    /// Whether any dependency is being waited out.
    pub fn any(&self) -> bool {
        self.down.load(Ordering::SeqCst) != 0
    }

    /// Whether `dependency` is being waited out.
    pub fn is_down(&self, dependency: Dependency) -> bool {
        self.down.load(Ordering::SeqCst) & dependency.bit() != 0
    }

    /// One line per outage being waited out: which dependency, for how long, and the error.
    pub fn describe(&self) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Dependency::ALL
            .iter()
            .filter_map(|dependency| {
                let outage = state.current[*dependency as usize].as_ref()?;
                Some(format!(
                    "waiting for {dependency} ({} failing for {:.0?}): {}",
                    outage.what,
                    Duration::from_secs(outage.since.elapsed().as_secs()),
                    outage.error
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_counted_once_however_many_requests_fail() -> Result<(), prometheus::Error> {
        let registry = Registry::new();
        let metrics = OutageMetrics::register(&registry, "test")?;
        let outages = Outages::new(metrics.clone());
        assert!(!outages.any());
        for _ in 0..3 {
            outages.failed(Dependency::Cassandra, "write features", &"connection refused");
        }
        assert!(outages.is_down(Dependency::Cassandra) && !outages.is_down(Dependency::Kafka));
        let described = outages.describe();
        assert_eq!(described.len(), 1);
        assert!(described[0].contains("cassandra") && described[0].contains("connection refused"));
        outages.succeeded(Dependency::Kafka);
        assert!(outages.any());
        outages.succeeded(Dependency::Cassandra);
        assert!(!outages.any());
        // Right after it came back: the same outage, still settling.
        outages.failed(Dependency::Cassandra, "write features", &"connection refused");
        assert!(outages.is_down(Dependency::Cassandra));
        let get = |vec: &IntCounterVec| vec.with_label_values(&["cassandra"]).get();
        assert_eq!((get(&metrics.outages), get(&metrics.retries)), (1, 4));
        assert_eq!(metrics.active.with_label_values(&["cassandra"]).get(), 1);
        assert_eq!(metrics.active.with_label_values(&["kafka"]).get(), 0);
        Ok(())
    }
}
