//! Where a worker spends its time and what it keeps: per-operator busy time from timely's
//! schedule events, and per-arrangement update counts from differential's batch events.

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

/// What the loggers have collected so far on one worker.
#[derive(Default)]
pub struct Profile {
    /// Operator id → name, for operators inside a dataflow (not the dataflow itself).
    names: HashMap<usize, String>,
    /// Operator id → time spent scheduled.
    busy: HashMap<usize, Duration>,
    /// Operator id → when its current activation started.
    started: HashMap<usize, Duration>,
    /// Operator id → updates held by its trace.
    arranged: HashMap<usize, i64>,
}

impl Profile {
    /// Updates held by every trace of this worker.
    pub fn arranged_total(&self) -> i64 {
        self.arranged.values().sum()
    }

    /// `(name, busy time, arranged updates)` per operator, busiest first.
    pub fn operators(&self) -> Vec<(String, Duration, i64)> {
        let mut rows: Vec<_> = self
            .names
            .iter()
            .map(|(id, name)| {
                let busy = self.busy.get(id).copied().unwrap_or_default();
                (name.clone(), busy, self.arranged.get(id).copied().unwrap_or(0))
            })
            .filter(|(_, busy, arranged)| !busy.is_zero() || *arranged != 0)
            .collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.1));
        rows
    }

    fn on_differential(&mut self, event: DifferentialEvent) {
        // Batch, merge and drop events balance (see `DifferentialEvent`), so their running sum
        // is the number of updates the trace holds now.
        let (operator, change) = match event {
            DifferentialEvent::Batch(e) => (e.operator, e.length as i64),
            DifferentialEvent::Merge(e) => match e.complete {
                Some(merged) => (e.operator, merged as i64 - (e.length1 + e.length2) as i64),
                None => return,
            },
            DifferentialEvent::Drop(e) => (e.operator, -(e.length as i64)),
            _ => return,
        };
        *self.arranged.entry(operator).or_default() += change;
    }

    fn on_timely(&mut self, at: Duration, event: TimelyEvent) {
        match event {
            TimelyEvent::Operates(e) if e.addr.len() > 1 => {
                self.names.insert(e.id, e.name);
            }
            TimelyEvent::Schedule(e) => match e.start_stop {
                StartStop::Start => {
                    self.started.insert(e.id, at);
                }
                StartStop::Stop => {
                    if let Some(start) = self.started.remove(&e.id) {
                        *self.busy.entry(e.id).or_default() += at.saturating_sub(start);
                    }
                }
            },
            _ => {}
        }
    }
}

/// Starts collecting on `worker`; call before building the dataflow. Trace sizes are always
/// counted (cheap: one event per batch); operator names and busy times only with `timing`, as
/// timely logs every activation.
pub fn install(worker: &mut Worker, timing: bool) -> Rc<RefCell<Profile>> {
    let profile = Rc::new(RefCell::new(Profile::default()));
    if let Some(mut registry) = worker.log_register() {
        let sink = Rc::clone(&profile);
        registry.insert::<DifferentialEventBuilder, _>("differential/arrange", move |_, batch| {
            if let Some(batch) = batch {
                let mut profile = sink.borrow_mut();
                batch.drain(..).for_each(|(_, event)| profile.on_differential(event));
            }
        });
        if timing {
            let sink = Rc::clone(&profile);
            registry.insert::<TimelyEventBuilder, _>("timely", move |_, batch| {
                if let Some(batch) = batch {
                    let mut profile = sink.borrow_mut();
                    batch.drain(..).for_each(|(at, event)| profile.on_timely(at, event));
                }
            });
        }
    }
    profile
}
