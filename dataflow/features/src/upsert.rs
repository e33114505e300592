//! The feature graph's input for a service that reads Kafka with several workers: deliveries
//! (closes and indicator values, each with its [`Version`]) are routed to the worker of their
//! series, and reduced there to the newest version per key (upsert).
//!
//! Routing inside the dataflow makes the state independent of where a delivery came from: a
//! series whose records sit in several partitions (partitions added to a topic, a producer that
//! changed its partitioner) or are read by several workers still has one upsert state. Ordering
//! by version rather than by arrival makes it independent of timing: a correction replayed in
//! the same epoch as the value it corrects, from another partition, still wins.
//!
//! Deliveries are applied as they arrive, in the order of their epochs: the service feeds epoch
//! `t + 1` only once every worker's output of epoch `t` is complete, so an older epoch's
//! deliveries never arrive after a newer one's.

use super::inputs::BlockCollection;
use super::latest::{Latest, Version};
use super::values::{Close, Indicator};
use chrono::NaiveDate;
use differential_dataflow::AsCollection;
use pricestream_records::{Bar, IndicatorRecord, Timeframe};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::{InputHandle, Scope};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// A value of a delivery: a bar's close or an indicator value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Delivered {
    /// The bar's close (the only part of a bar a feature row uses).
    Close(Close),
    /// One indicator value.
    Indicator(Indicator),
}

/// One value as read, with the key it belongs to and its version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The series' ticker.
    pub ticker: String,
    /// The series' timeframe.
    pub timeframe: Timeframe,
    /// The bar's date.
    pub date: NaiveDate,
    /// The value.
    pub value: Delivered,
    /// Its version: the newest one per key wins.
    pub version: Version,
}

impl Delivery {
    /// The adjusted close of `bar` (see [`Bar::adjusted_close`]).
    pub fn of_bar(bar: &Bar, version: Version) -> Self {
        Delivery {
            ticker: bar.ticker.to_string(),
            timeframe: bar.timeframe,
            date: bar.datetime,
            value: Delivered::Close(Close::of(bar)),
            version,
        }
    }

    /// The value of `record`.
    pub fn of_indicator(record: &IndicatorRecord, version: Version) -> Self {
        Delivery {
            ticker: record.ticker.to_string(),
            timeframe: record.timeframe,
            date: record.datetime,
            value: Delivered::Indicator(Indicator::from(&record.value)),
            version,
        }
    }
}

/// The worker-independent hash of a series: deliveries, and the feature rows of the series, are
/// routed by it (`hash % workers`).
pub fn series_hash(ticker: &str, timeframe: Timeframe) -> u64 {
    // `DefaultHasher::new()` has fixed keys: every process computes the same hash.
    let mut hasher = std::hash::DefaultHasher::new();
    ticker.hash(&mut hasher);
    timeframe.as_str().hash(&mut hasher);
    hasher.finish()
}

/// The input side of [`upsert_deliveries`]: deliveries are sent here, on any worker.
pub struct UpsertInput<T: Timestamp + TotalOrder + Clone> {
    handle: InputHandle<T, CapacityContainerBuilder<Vec<Delivery>>>,
}

impl<T: Timestamp + TotalOrder + Clone> Default for UpsertInput<T> {
    fn default() -> Self {
        UpsertInput { handle: InputHandle::new() }
    }
}

impl<T: Timestamp + TotalOrder + Clone> UpsertInput<T> {
    /// The collection to pass to [`super::feature_graph`]: the deliveries routed by series and
    /// reduced to the newest version per key.
    pub fn to_collection<'scope>(&mut self, scope: Scope<'scope, T>) -> BlockCollection<'scope, T> {
        upsert_deliveries(scope.input_from(&mut self.handle))
    }

    /// Sends one delivery at the current time.
    pub fn send(&mut self, delivery: Delivery) {
        self.handle.send(delivery);
    }

    /// Moves the input to `time`.
    pub fn advance_to(&mut self, time: T) {
        self.handle.advance_to(time);
    }

    /// Sends buffered deliveries into the dataflow.
    pub fn flush(&mut self) {
        self.handle.flush();
    }

    /// The current input time.
    pub fn time(&self) -> &T {
        self.handle.time()
    }
}

/// Routes `deliveries` to the worker of their series and keeps there the newest version per
/// key: an older or equal version changes nothing, a newer one replaces the value. Once a time
/// is complete (or deliveries of another time arrive), each block of days its deliveries changed
/// is sent once, as it was and as it is: a block whose days arrive in many messages of an epoch
/// is still sent once.
pub fn upsert_deliveries<'scope, T: Timestamp + TotalOrder>(
    deliveries: timely::dataflow::StreamVec<'scope, T, Delivery>,
) -> BlockCollection<'scope, T> {
    let route = Exchange::new(|delivery: &Delivery| series_hash(&delivery.ticker, delivery.timeframe));
    deliveries
        .unary_frontier(route, "Upsert: newest version per key", |_capability, _info| {
            let mut latest = Latest::default();
            // The time of the changes not yet sent.
            let mut open: Option<Capability<T>> = None;
            let mut updates = Vec::new();
            move |(input, frontier), output| {
                let mut send = |latest: &mut Latest, capability: Capability<T>| {
                    let time = capability.time().clone();
                    latest.take_changes(|update, diff| updates.push((update, time.clone(), diff)));
                    output.session(&capability).give_container(&mut updates);
                };
                input.for_each(|capability, deliveries| {
                    // A plain stream's message carries one time: its stamp's least.
                    let Some(capability) = capability.retain_least(0) else { return };
                    if let Some(earlier) = open.take_if(|open| open.time() != capability.time()) {
                        send(&mut latest, earlier);
                    }
                    for delivery in deliveries.drain(..) {
                        apply(&mut latest, delivery);
                    }
                    open.get_or_insert(capability);
                });
                if let Some(done) = open.take_if(|open| !frontier.less_equal(open.time())) {
                    send(&mut latest, done);
                }
            }
        })
        .as_collection()
}

/// Applies one delivery to the latest values.
///
/// The values of one indicator kind in one series belong to one set of settings (periods,
/// multipliers): the newest version's. A value computed with other settings that is newer than
/// every value seen replaces them all (the extractor sends a series again with new periods; a
/// date that falls inside the longer lookback now has no value, and its old one goes); one that
/// is older is ignored. Either way the result does not depend on the order of arrival.
fn apply(latest: &mut Latest, delivery: Delivery) {
    let Delivery { ticker, timeframe, date, value, version } = delivery;
    if latest.day(&ticker, timeframe, date, true).is_none() {
        return;
    }
    if let Delivered::Indicator(indicator) = value
        && !settle_settings(latest, &ticker, timeframe, &indicator, version)
    {
        return;
    }
    let Some(day) = latest.day(&ticker, timeframe, date, true) else { return };
    let slot = match value {
        Delivered::Close(_) => 0,
        Delivered::Indicator(indicator) => 1 + indicator.kind() as usize,
    };
    if version <= day.versions[slot] {
        return;
    }
    day.versions[slot] = version;
    match value {
        Delivered::Close(close) => day.close = Some(close),
        Delivered::Indicator(indicator) => day.indicators[slot - 1] = Some(indicator),
    }
}

/// Keeps the settings of `indicator`'s kind in its series: returns false for a value of settings
/// a newer value already replaced; a value of new settings newer than every value seen retracts
/// the values of other settings.
fn settle_settings(
    latest: &mut Latest,
    ticker: &str,
    timeframe: Timeframe,
    indicator: &Indicator,
    version: Version,
) -> bool {
    let (kind, settings) = (indicator.kind() as usize, indicator.settings());
    let Some(series) = latest.series_mut(ticker, timeframe) else { return true };
    match series.settings[kind] {
        Some((current, newest)) if current != settings => {
            if version <= newest {
                return false;
            }
            series.settings[kind] = Some((settings, version));
            latest.change_days(ticker, timeframe, |day| {
                let other = day.indicators[kind].is_some_and(|old| old.settings() != settings);
                if other {
                    day.indicators[kind] = None;
                }
                other
            });
        }
        Some((current, newest)) => series.settings[kind] = Some((current, newest.max(version))),
        None => series.settings[kind] = Some((settings, version)),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeatureRecord, feature_graph};
    use pricestream_records::IndicatorValue;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::{Arc, Mutex};

    fn close(ticker: &str, day: u32, close: f64, timestamp_ms: i64, offset: i64) -> Delivery {
        Delivery {
            ticker: ticker.into(),
            timeframe: Timeframe::Day,
            date: NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default(),
            value: Delivered::Close(Close::from(close)),
            version: Version { timestamp_ms, offset },
        }
    }

    /// The (ticker, day, close) of every row after feeding `epochs` on `workers` workers, each
    /// delivery sent by the worker `send_on` picks.
    fn rows_after(
        workers: usize,
        epochs: Vec<Vec<Delivery>>,
        send_on: fn(usize, usize) -> usize,
    ) -> Vec<(String, u32, f64)> {
        let collected: Arc<Mutex<Vec<(FeatureRecord, isize)>>> = Arc::default();
        let sink = Arc::clone(&collected);
        let epochs = Arc::new(epochs);
        let config = timely::Config::process(workers);
        let guards = timely::execute(config, move |worker| {
            let (index, peers) = (worker.index(), worker.peers());
            let mut input = UpsertInput::<u64>::default();
            let probe = timely::dataflow::ProbeHandle::new();
            let local: Rc<RefCell<Vec<(FeatureRecord, isize)>>> = Rc::default();
            let out = Rc::clone(&local);
            worker.dataflow(|scope| {
                use timely::dataflow::operators::{Inspect, Probe};
                feature_graph(input.to_collection(scope), 1)
                    .inner
                    .inspect(move |(record, _, diff)| out.borrow_mut().push((record.clone(), *diff)))
                    .probe_with(&probe);
            });
            for (epoch, deliveries) in epochs.iter().enumerate() {
                for (n, delivery) in deliveries.iter().enumerate() {
                    if send_on(n, peers) == index {
                        input.send(delivery.clone());
                    }
                }
                input.advance_to(epoch as u64 + 1);
                input.flush();
                worker.step_while(|| probe.less_than(&(epoch as u64 + 1)));
            }
            sink.lock().map(|mut all| all.extend(local.take())).ok();
        });
        drop(guards);
        let mut net = std::collections::BTreeMap::<(String, u32, u64), isize>::new();
        for (record, diff) in collected.lock().map(|all| all.clone()).unwrap_or_default() {
            let key = (
                record.key.0.ticker.clone(),
                chrono::Datelike::day(&record.key.1),
                record.close.adjusted.get().to_bits(),
            );
            *net.entry(key).or_default() += diff;
        }
        net.into_iter()
            .filter(|(_, diff)| *diff != 0)
            .map(|((ticker, day, bits), diff)| {
                assert_eq!(diff, 1, "{ticker} {day}: multiplicity {diff}");
                (ticker, day, f64::from_bits(bits))
            })
            .collect()
    }

    #[test]
    fn the_newest_version_wins_whatever_worker_or_order_delivers_it() {
        // A correction (newer timestamp) delivered before the value it corrects, by another
        // worker, in the same epoch; an exact re-delivery; a stale value in a later epoch.
        let epochs = vec![
            vec![
                close("A", 2, 11.0, 200, 0),
                close("B", 2, 5.0, 100, 3),
                close("A", 2, 10.0, 100, 7),
                close("B", 2, 5.0, 100, 3),
            ],
            vec![close("A", 2, 9.0, 150, 9), close("A", 3, 12.0, 300, 1)],
        ];
        let want = vec![("A".to_owned(), 2, 11.0), ("A".into(), 3, 12.0), ("B".into(), 2, 5.0)];
        for workers in [1, 2, 3] {
            assert_eq!(
                rows_after(workers, epochs.clone(), |n, peers| n % peers),
                want,
                "{workers} worker(s)"
            );
            assert_eq!(
                rows_after(workers, epochs.clone(), |_, _| 0),
                want,
                "{workers} worker(s), all fed on one"
            );
        }
    }

    fn sma(day: u32, period: i32, value: f64, timestamp_ms: i64) -> Delivery {
        Delivery {
            ticker: "A".into(),
            timeframe: Timeframe::Day,
            date: NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default(),
            value: Delivered::Indicator(Indicator::from(&IndicatorValue::Sma {
                time_period: period,
                sma: value,
            })),
            version: Version { timestamp_ms, offset: 0 },
        }
    }

    /// The SMA (period, value) per day after feeding `epochs` to one worker.
    fn smas_after(epochs: Vec<Vec<Delivery>>) -> Vec<(u32, i32, f64)> {
        let collected: Arc<Mutex<Vec<(FeatureRecord, isize)>>> = Arc::default();
        let sink = Arc::clone(&collected);
        timely::execute_directly(move |worker| {
            let mut input = UpsertInput::<u64>::default();
            let probe = timely::dataflow::ProbeHandle::new();
            let out = Arc::clone(&sink);
            worker.dataflow(|scope| {
                use timely::dataflow::operators::{Inspect, Probe};
                feature_graph(input.to_collection(scope), 1)
                    .inner
                    .inspect(move |(record, _, diff)| {
                        out.lock().map(|mut all| all.push((record.clone(), *diff))).ok();
                    })
                    .probe_with(&probe);
            });
            for (epoch, deliveries) in epochs.iter().enumerate() {
                deliveries.iter().for_each(|delivery| input.send(delivery.clone()));
                input.advance_to(epoch as u64 + 1);
                input.flush();
                worker.step_while(|| probe.less_than(&(epoch as u64 + 1)));
            }
        });
        let mut net = std::collections::BTreeMap::<FeatureRecord, isize>::new();
        for (record, diff) in collected.lock().map(|all| all.clone()).unwrap_or_default() {
            *net.entry(record).or_default() += diff;
        }
        net.into_iter()
            .filter(|(_, diff)| *diff > 0)
            .flat_map(|(record, _)| {
                let day = chrono::Datelike::day(&record.key.1);
                record.indicators.values().into_iter().filter_map(move |value| match value.to_value() {
                    IndicatorValue::Sma { time_period, sma } => Some((day, time_period, sma)),
                    _ => None,
                })
            })
            .collect()
    }

    #[test]
    fn new_periods_replace_every_value_of_the_old_ones_in_any_order() {
        let bars = (1..=4).map(|day| close("A", day, 10.0, 1, i64::from(day))).collect::<Vec<_>>();
        let old = vec![sma(2, 2, 1.0, 10), sma(3, 2, 2.0, 10), sma(4, 2, 3.0, 10)];
        // A longer period: day 2 now lies inside the lookback and has no value.
        let new = vec![sma(3, 3, 5.0, 20), sma(4, 3, 6.0, 20)];
        let want = vec![(3, 3, 5.0), (4, 3, 6.0)];
        assert_eq!(smas_after(vec![bars.clone(), old.clone(), new.clone()]), want);
        assert_eq!(
            smas_after(vec![[bars.clone(), new.clone(), old.clone()].concat()]),
            want,
            "old ones late"
        );
        assert_eq!(
            smas_after(vec![bars.clone(), [old[..1].to_vec(), new, old[1..].to_vec()].concat()]),
            want
        );
        assert_eq!(smas_after(vec![bars, old]), vec![(2, 2, 1.0), (3, 2, 2.0), (4, 2, 3.0)]);
    }

    #[test]
    fn equal_timestamps_are_ordered_by_offset() {
        let epochs = vec![vec![close("A", 2, 2.0, 100, 5), close("A", 2, 1.0, 100, 4)]];
        assert_eq!(rows_after(2, epochs, |n, peers| n % peers), vec![("A".to_owned(), 2, 2.0)]);
    }
}
