//! What the workers of a cluster tell each other, on a dataflow of its own whose frontier is
//! the commit barrier.
//!
//! Each worker holds the input at the epoch it is working on, and advances it past an epoch
//! once it has written every row of that epoch. Once the frontier passes epoch `t` (every
//! worker wrote every epoch up to `t`), every signal sent at a time up to `t` has also been
//! seen by every worker, so decisions taken on "the signals before `t + 1`" are the same on
//! every worker:
//! * `Failed`: a worker failed; nobody commits anything past the last epoch all wrote;
//! * `Stop`: a stop was requested (a SIGTERM reaches one process); everyone stops at the same
//!   epoch, so no worker leaves while another still routes rows to it;
//! * `AtEnd`: with `--exit-at-end`, a worker has read its partitions to their end;
//! * `Stale`: a worker's committed progress was made with other row-shaping settings;
//! * `Generation`: the fencing generation the cluster runs under;
//! * `Written`, `TradingDays`: the daily bars and forecasts a worker wrote, for the trading-day
//!   frontier, and the days worker 0 declared from them (see [`crate::trading_days`]).

use chrono::NaiveDate;
use pricestream_trading_days::DayEvent;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::{Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

/// One signal, as sent by one worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Signal {
    /// The sender failed and stops; the reason for the log.
    Failed(String),
    /// A stop was requested at the sender.
    Stop,
    /// The sender has read its input to the end (`--exit-at-end`).
    AtEnd,
    /// The sender's committed progress was made with other row-shaping settings.
    Stale,
    /// The fencing generation, taken by worker 0 at start.
    Generation(i64),
    /// Daily bars and forecasts the sender wrote.
    Written(DaysWritten),
    /// Worker 0 declared trading days.
    TradingDays {
        /// The next day to declare.
        next: Option<NaiveDate>,
        /// The days declared, in order.
        declared: Vec<DayEvent>,
    },
}

/// What one worker wrote of the trading days in an epoch, for worker 0's frontier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DaysWritten {
    /// Read now, not replayed at start.
    pub live: bool,
    /// Daily bars as (ticker, day): each ticker's newest day, and every day from the next to
    /// declare.
    pub bars: Vec<(String, NaiveDate)>,
    /// Forecasts written, as (ticker, as-of day).
    pub forecasts: Vec<(String, NaiveDate)>,
    /// Rows left without a forecast because their scope had no model, as (ticker, day).
    pub unserved: Vec<(String, NaiveDate)>,
    /// The sender has caught up with its input: a live epoch read less than it could take.
    pub caught_up: bool,
}

/// Every signal seen, with its time and sender.
#[derive(Debug, Default)]
pub struct SignalLog {
    seen: Vec<(u64, usize, Signal)>,
}

impl SignalLog {
    fn before(&self, epoch: u64) -> impl Iterator<Item = (usize, &Signal)> {
        self.seen.iter().filter(move |(time, _, _)| *time < epoch).map(|(_, from, signal)| (*from, signal))
    }

    /// The first failure sent before `epoch`: its worker and reason.
    pub fn failure_before(&self, epoch: u64) -> Option<(usize, String)> {
        self.before(epoch).find_map(|(from, signal)| match signal {
            Signal::Failed(reason) => Some((from, reason.clone())),
            _ => None,
        })
    }

    /// Whether a stop was requested before `epoch`.
    pub fn stop_before(&self, epoch: u64) -> bool {
        self.before(epoch).any(|(_, signal)| *signal == Signal::Stop)
    }

    /// Whether all `peers` workers had read their input to the end before `epoch`.
    pub fn all_at_end_before(&self, epoch: u64, peers: usize) -> bool {
        let mut at_end: Vec<usize> = self
            .before(epoch)
            .filter(|(_, signal)| **signal == Signal::AtEnd)
            .map(|(from, _)| from)
            .collect();
        at_end.sort_unstable();
        at_end.dedup();
        at_end.len() == peers
    }

    /// The workers that said their progress is stale, before `epoch`.
    pub fn stale_before(&self, epoch: u64) -> Vec<usize> {
        self.before(epoch).filter(|(_, signal)| **signal == Signal::Stale).map(|(from, _)| from).collect()
    }

    /// The days-written signals sent before `epoch`, taken out of the log (they are many).
    pub fn take_written_before(&mut self, epoch: u64) -> Vec<(usize, DaysWritten)> {
        let mut written = Vec::new();
        self.seen.retain_mut(|(time, from, signal)| match signal {
            Signal::Written(days) if *time < epoch => {
                written.push((*from, std::mem::take(days)));
                false
            }
            _ => true,
        });
        written
    }

    /// The next trading day to declare, as last said before `epoch`.
    pub fn trading_days_next_before(&self, epoch: u64) -> Option<NaiveDate> {
        self.before(epoch)
            .filter_map(|(_, signal)| match signal {
                Signal::TradingDays { next, .. } => Some(*next),
                _ => None,
            })
            .last()
            .flatten()
    }

    /// How many trading days were declared before `epoch`.
    pub fn trading_days_declared_before(&self, epoch: u64) -> usize {
        self.before(epoch)
            .map(|(_, signal)| match signal {
                Signal::TradingDays { declared, .. } => declared.len(),
                _ => 0,
            })
            .sum()
    }

    /// The generation announced before `epoch`.
    pub fn generation_before(&self, epoch: u64) -> Option<i64> {
        self.before(epoch).find_map(|(_, signal)| match signal {
            Signal::Generation(generation) => Some(*generation),
            _ => None,
        })
    }
}

/// This worker's end of the signals dataflow.
pub struct Signals {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<(usize, Signal)>>>,
    probe: ProbeHandle<u64>,
    log: Rc<RefCell<SignalLog>>,
    index: usize,
}

impl Signals {
    /// Builds the dataflow on `worker`.
    pub fn build(worker: &mut Worker) -> Self {
        let log: Rc<RefCell<SignalLog>> = Rc::default();
        let seen = Rc::clone(&log);
        let index = worker.index();
        let (input, probe) = worker.dataflow(|scope| {
            let (input, stream) = scope.new_input::<(usize, Signal)>();
            let (probe, _) = stream
                .broadcast()
                .inspect_core(move |event| {
                    // A plain stream's message travels under one time: its stamp's least.
                    if let Ok((stamp, signals)) = event
                        && let Some(time) = stamp.least()
                    {
                        let mut log = seen.borrow_mut();
                        log.seen.extend(signals.iter().map(|(from, signal)| (*time, *from, signal.clone())));
                    }
                })
                .probe();
            (input, probe)
        });
        Signals { input, probe, log, index }
    }

    /// Sends `signal` to every worker, at the epoch this worker is in.
    pub fn send(&mut self, signal: Signal) {
        self.input.send((self.index, signal));
        self.input.flush();
    }

    /// Marks every epoch before `epoch` as written by this worker.
    pub fn advance_to(&mut self, epoch: u64) {
        self.input.advance_to(epoch);
        self.input.flush();
    }

    /// Whether some worker has not yet written every epoch before `epoch`.
    pub fn waiting_for(&self, epoch: u64) -> bool {
        self.probe.less_than(&epoch)
    }

    /// What was seen.
    pub fn log(&self) -> std::cell::Ref<'_, SignalLog> {
        self.log.borrow()
    }

    /// The days-written signals sent before `epoch`, taken out of the log.
    pub fn take_written_before(&mut self, epoch: u64) -> Vec<(usize, DaysWritten)> {
        self.log.borrow_mut().take_written_before(epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_only_count_signals_sent_before_the_epoch() {
        let log = SignalLog {
            seen: vec![
                (3, 1, Signal::AtEnd),
                (4, 0, Signal::AtEnd),
                (5, 1, Signal::Stop),
                (0, 0, Signal::Generation(7)),
                (0, 1, Signal::Stale),
                (6, 0, Signal::Failed("disk".into())),
            ],
        };
        assert!(!log.all_at_end_before(4, 2) && log.all_at_end_before(5, 2));
        assert!(!log.all_at_end_before(9, 3));
        assert!(!log.stop_before(5) && log.stop_before(6));
        assert_eq!(log.failure_before(6), None);
        assert_eq!(log.failure_before(7), Some((0, "disk".into())));
        assert_eq!((log.generation_before(1), log.stale_before(1)), (Some(7), vec![1]));
    }

    #[test]
    fn every_worker_sees_every_signal_once_the_barrier_passes() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = std::sync::Arc::clone(&seen);
        let guards = timely::execute(timely::Config::process(3), move |worker| {
            let mut signals = Signals::build(worker);
            if worker.index() == 2 {
                signals.send(Signal::Stop);
            }
            signals.advance_to(1);
            while signals.waiting_for(1) {
                worker.step();
            }
            let stopped = signals.log().stop_before(1);
            out.lock().map(|mut all| all.push((worker.index(), stopped))).ok();
        });
        assert!(guards.is_ok());
        drop(guards);
        let mut all = seen.lock().map(|all| all.clone()).unwrap_or_default();
        all.sort_unstable();
        assert_eq!(all, [(0, true), (1, true), (2, true)]);
    }
}
