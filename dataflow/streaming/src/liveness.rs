//! Liveness: every worker tells every other one, about once a second, what it is doing; a
//! process is stuck when a peer has gone silent (frozen, partitioned, dead) or when one of its
//! own workers has made no progress for `cluster.liveness_timeout_ms` while no outage explains
//! it. `/healthz` then fails (so Kubernetes restarts the pod) and says which peer or stage.

use pricestream_runtime::fault::Outages;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandle;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::{Inspect, Probe};
use timely::worker::Worker;

/// What a worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Connecting, agreeing on the generation and the settings.
    Starting,
    /// Rebuilding the state from the input topics.
    Replaying,
    /// Reading an epoch's input.
    Reading,
    /// Computing an epoch's rows and forecasts.
    Computing,
    /// Writing an epoch's outputs.
    Writing,
    /// Waiting until every worker has written an epoch.
    WaitingForPeers,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Replaying => "replaying the input",
            Stage::Reading => "reading",
            Stage::Computing => "computing",
            Stage::Writing => "writing",
            Stage::WaitingForPeers => "waiting for the other workers",
        }
    }
}

/// One heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beat {
    /// The sender (index in the cluster).
    pub worker: usize,
    /// The epoch it is in.
    pub epoch: u64,
    /// What it is doing.
    pub stage: Stage,
}

#[derive(Debug, Clone, Copy)]
struct Heard {
    at: Instant,
    beat: Beat,
}

#[derive(Debug, Clone, Copy)]
struct Progress {
    since: Instant,
    epoch: u64,
    stage: Stage,
}

/// The liveness of the cluster as this process sees it, shared with `/healthz`.
pub struct Liveness {
    timeout: Duration,
    /// When this process's first worker started: nothing is judged before (the cluster may
    /// still be forming, waiting for its peers to be scheduled).
    started: Mutex<Option<Instant>>,
    workers_per_process: usize,
    /// The last beat heard from each worker of the cluster.
    heard: Mutex<Vec<Option<Heard>>>,
    /// The last progress of each of this process's workers, by index in the cluster.
    local: Mutex<Vec<Option<Progress>>>,
}

impl Liveness {
    /// For a cluster of `peers` workers, `workers_per_process` in each process.
    pub fn new(timeout: Duration, peers: usize, workers_per_process: usize) -> Self {
        Liveness {
            timeout,
            started: Mutex::new(None),
            workers_per_process: workers_per_process.max(1),
            heard: Mutex::new(vec![None; peers]),
            local: Mutex::new(vec![None; peers]),
        }
    }

    /// How often a worker beats.
    pub fn beat_interval(&self) -> Duration {
        (self.timeout / 8).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    fn heard(&self, beat: Beat) {
        let mut heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = heard.get_mut(beat.worker) {
            *slot = Some(Heard { at: Instant::now(), beat });
        }
    }

    fn start(&self) {
        self.started.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(Instant::now);
    }

    /// Worker `worker` of this process made progress: it is now at `stage` of `epoch`.
    pub fn progressed(&self, worker: usize, epoch: u64, stage: Stage) {
        self.start();
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = local.get_mut(worker) {
            *slot = Some(Progress { since: Instant::now(), epoch, stage });
        }
    }

    /// Worker `worker` of this process moved to `stage` of `epoch`; progress only if it changed.
    pub fn at(&self, worker: usize, epoch: u64, stage: Stage) {
        self.start();
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = local.get_mut(worker)
            && slot.is_none_or(|p| p.epoch != epoch || p.stage != stage)
        {
            *slot = Some(Progress { since: Instant::now(), epoch, stage });
        }
    }

    fn process_of(&self, worker: usize) -> usize {
        worker / self.workers_per_process
    }

    /// `Ok` while the cluster makes progress; otherwise what is stuck.
    pub fn check(&self, outages: &Outages) -> Result<(), String> {
        let now = Instant::now();
        let Some(started) = *self.started.lock().unwrap_or_else(|p| p.into_inner()) else { return Ok(()) };
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Silence: a peer that sends nothing (frozen, cut off or dead) holds up every epoch. A
        // peer blocked on a dependency this process also waits out may be silent for as long.
        for (worker, heard) in heard.iter().enumerate() {
            if local.get(worker).is_some_and(Option::is_some) || outages.any() {
                continue;
            }
            let last = heard.map_or(started, |heard| heard.at);
            let silent = now.duration_since(last);
            if silent > self.timeout {
                let was = heard.map_or_else(
                    || "never heard".to_owned(),
                    |heard| format!("last {} in epoch {}", heard.beat.stage.as_str(), heard.beat.epoch),
                );
                return Err(format!(
                    "no heartbeat from worker {worker} (process {}) for {:.0?} ({was}): it is frozen, cut off or gone",
                    self.process_of(worker),
                    Duration::from_secs(silent.as_secs())
                ));
            }
        }
        // A stage without progress that no outage explains: a wedged sink, a lost message.
        for (worker, progress) in local.iter().enumerate() {
            let Some(progress) = progress else { continue };
            let stalled = now.duration_since(progress.since);
            let explained = outages.any() || progress.stage == Stage::WaitingForPeers;
            if stalled > self.timeout && !explained {
                return Err(format!(
                    "worker {worker} has been {} in epoch {} for {:.0?}",
                    progress.stage.as_str(),
                    progress.epoch,
                    Duration::from_secs(stalled.as_secs())
                ));
            }
        }
        Ok(())
    }
}

/// This worker's end of the heartbeat dataflow.
pub struct Heartbeat {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<Beat>>>,
    last: Option<Instant>,
    interval: Duration,
    index: usize,
}

impl Heartbeat {
    /// Builds the dataflow on `worker`; beats heard are recorded in `liveness`.
    pub fn build(worker: &mut Worker, liveness: &std::sync::Arc<Liveness>) -> Self {
        let index = worker.index();
        let recorded = std::sync::Arc::clone(liveness);
        let input = worker.dataflow(|scope| {
            let (input, stream) = scope.new_input::<Beat>();
            stream.broadcast().inspect(move |beat| recorded.heard(*beat)).probe();
            input
        });
        Heartbeat { input, last: None, interval: liveness.beat_interval(), index }
    }

    /// Sends a beat unless one went out less than the beat interval ago.
    pub fn beat(&mut self, epoch: u64, stage: Stage) {
        if self.last.is_some_and(|last| last.elapsed() < self.interval) {
            return;
        }
        self.last = Some(Instant::now());
        self.input.send(Beat { worker: self.index, epoch, stage });
        self.input.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_peer_or_a_stalled_local_stage_is_stuck_an_outage_or_a_barrier_is_not() {
        let timeout = Duration::from_millis(200);
        let liveness = Liveness::new(timeout, 4, 2);
        let outages = Outages::default();
        for worker in 0..4 {
            liveness.heard(Beat { worker, epoch: 3, stage: Stage::Reading });
        }
        liveness.progressed(0, 3, Stage::Writing);
        liveness.progressed(1, 3, Stage::WaitingForPeers);
        assert_eq!(liveness.check(&outages), Ok(()));
        std::thread::sleep(timeout + Duration::from_millis(50));
        liveness.heard(Beat { worker: 2, epoch: 3, stage: Stage::Reading });
        let stuck = liveness.check(&outages).expect_err("worker 3 went silent");
        assert!(stuck.contains("no heartbeat from worker 3 (process 1)"), "{stuck}");
        liveness.heard(Beat { worker: 3, epoch: 3, stage: Stage::Reading });
        let stuck = liveness.check(&outages).expect_err("worker 0 is stalled");
        assert!(stuck.contains("worker 0 has been writing in epoch 3"), "{stuck}");
        outages.failed(pricestream_runtime::fault::Dependency::Cassandra, "write", &"down");
        assert_eq!(liveness.check(&outages), Ok(()), "an outage explains a slow write");
        liveness.at(0, 3, Stage::Writing);
        outages.succeeded(pricestream_runtime::fault::Dependency::Cassandra);
        assert!(liveness.check(&outages).is_err(), "the same stage again is no progress");
        liveness.at(0, 4, Stage::Reading);
        assert_eq!(liveness.check(&outages), Ok(()));
    }
}
