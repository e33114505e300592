//! Worker 0 declares the trading days and publishes them; every worker learns of them.

use crate::liveness::Stage;
use crate::signals::Signal;
use crate::worker::Epochs;
use anyhow::Context as _;
use chrono::Utc;
use pricestream_kafka::{KafkaError, read_topic};
use pricestream_runtime::fault::{Dependency, Patience, wait_out_blocking, wait_out_for};
use pricestream_trading_days::DayEvent;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How long one read of the trading-days topic at start may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

impl Epochs<'_> {
    /// Worker 0 at start: the frontier goes on after the last day the topic has for its
    /// calendar. Sent to every worker with the epoch's signals.
    pub(crate) fn resume_days(&mut self, epoch: u64) -> anyhow::Result<()> {
        let Some(frontier) = self.days.frontier.as_mut() else { return Ok(()) };
        let shared = self.shared;
        let topic = &shared.sink.trading_days_topic;
        let patience = Patience::Forever { stop: Some(&shared.stop) };
        shared.liveness.at(self.worker.index(), epoch, Stage::Starting);
        let what = "read the trading days declared";
        let values =
            wait_out_blocking(&shared.outages, Dependency::Kafka, what, patience, KafkaError::fault, || {
                read_topic(&shared.config.kafka, topic, READ_TIMEOUT)
            })
            .with_context(|| format!("cannot read the trading days declared from {topic}"))?;
        let calendar = frontier.calendar().name.clone();
        let last = values
            .iter()
            .filter_map(|value| serde_json::from_slice::<DayEvent>(value).ok())
            .filter(|event| event.calendar == calendar && event.status.declares_the_day())
            .map(|event| event.day)
            .max();
        if let Some(last) = last {
            frontier.resume(last);
            info!(calendar, %last, next = ?frontier.next(), "Trading days: going on after the last day declared.");
        }
        let next = frontier.next();
        self.days.known_next = next;
        self.graph.signals.send(Signal::TradingDays { next, declared: Vec::new() });
        Ok(())
    }

    /// After every worker wrote `epoch` (this worker's write ended at `written_at`): every
    /// worker tells its model stage of the days declared since; worker 0 feeds the frontier
    /// every worker's bars and forecasts, publishes the days it declares and the forecast
    /// markers, and tells the workers; the others learn the next day.
    pub(crate) fn declare_days(&mut self, epoch: u64, written_at: Instant) -> anyhow::Result<()> {
        if !self.days.enabled {
            return Ok(());
        }
        let declared = self.graph.signals.log().trading_days_declared_before(epoch + 1);
        if declared > self.days.declared_seen {
            self.days.declared_seen = declared;
            if let Some(stage) = &mut self.stage {
                stage.trading_day_declared();
            }
        }
        let written = self.graph.signals.take_written_before(epoch + 1);
        let days = &mut self.days;
        let Some(frontier) = days.frontier.as_mut() else {
            days.known_next = self.graph.signals.log().trading_days_next_before(epoch + 1);
            return Ok(());
        };
        let metrics = &self.shared.metrics.trading_days;
        let now = Instant::now();
        for (from, written) in written {
            if written.caught_up {
                days.caught_up_workers.insert(from);
            }
            for late in frontier.bars(&written.bars, written.live, now) {
                metrics.late_bars.inc();
                warn!(ticker = late.ticker, day = %late.day, "A bar arrived after its trading day was declared without it; applied as a restatement.");
            }
            if let Some(watch) = days.watch.as_mut() {
                watch.written(&written.forecasts);
                watch.unserved(&written.unserved);
            }
        }
        if days.caught_up_workers.len() == self.worker.peers() {
            frontier.start(now);
        }
        let at = Utc::now();
        let mut declared = Vec::new();
        for day in frontier.declare(now, at) {
            if let Some(watch) = days.watch.as_mut() {
                watch.declared(day.event.day, day.arrived);
            }
            declared.push(day.event);
        }
        let next = frontier.next();
        let calendar = frontier.calendar().name.clone();
        // The days first, then the markers of their forecasts: one key, one partition, in order.
        let mut events = declared.clone();
        events.extend(days.watch.as_mut().map(|watch| watch.complete(&calendar, at)).unwrap_or_default());
        self.publish_days(epoch, &events)?;
        if !declared.is_empty() {
            metrics.declare_seconds.observe(written_at.elapsed().as_secs_f64());
        }
        if next != self.days.known_next || !declared.is_empty() {
            self.days.known_next = next;
            self.graph.signals.send(Signal::TradingDays { next, declared });
        }
        Ok(())
    }

    /// Publishes `events` on the trading-days topic, waiting out Kafka outages, and counts them.
    fn publish_days(&mut self, epoch: u64, events: &[DayEvent]) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let shared = self.shared;
        let topic = &shared.sink.trading_days_topic;
        let patience = Patience::Forever { stop: Some(&shared.stop) };
        let publish = wait_out_for(&shared.outages, "publish trading days", patience, || {
            shared
                .sink
                .publisher
                .publish_derived(topic, events.iter().map(|day| (day.calendar.as_str(), day)))
        });
        self.graph.drive(self.worker, shared, epoch, Stage::Writing, publish)?;
        let metrics = &shared.metrics.trading_days;
        for day in events {
            let status = day.status.as_str();
            metrics.declared.with_label_values(&[status]).inc();
            if day.status.declares_the_day() {
                metrics.missing.set(day.missing.len() as i64);
                let midnight =
                    day.day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
                metrics.last_declared.set(midnight);
                info!(day = %day.day, status, expected = day.expected, arrived = day.arrived, missing = ?day.missing, "Declared a trading day.");
            } else {
                info!(day = %day.day, forecasts = day.arrived, bars = day.expected, without_a_model = ?day.missing, "Every forecast of a trading day is written.");
            }
        }
        Ok(())
    }
}
