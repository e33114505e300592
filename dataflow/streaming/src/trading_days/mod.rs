//! The trading-day frontier in the service (`docs/trading-days.md`).
//!
//! Every worker summarises the daily bars it wrote in an epoch ([`BarSummary`]) and sends the
//! summary on the signals dataflow, before marking the epoch written. Once every worker has
//! written the epoch, worker 0 has every summary: it feeds them to the [`Frontier`], publishes
//! the days it declares on the `trading-days` topic (waiting out Kafka outages) and tells every
//! worker the next day to declare, so that their next summaries keep the days that matter.
//!
//! Each worker's model stage learns of a declared day when the signal reaches it, at the same
//! epoch on every worker, and a daily policy retrains its global scope then.
//!
//! The topic is the frontier's memory: at start worker 0 reads it back and goes on after the
//! last day declared for its calendar. A day is published before anything else is told of it,
//! so a crash cannot lose a declaration (the day is declared again after the restart, from the
//! replayed bars) nor repeat one (the topic already has it).

mod metrics;
mod settings;
mod summary;

pub use metrics::TradingDayMetrics;
pub use settings::TradingDaySettings;
pub use summary::BarSummary;

use crate::Shared;
use crate::liveness::Stage;
use crate::signals::Signal;
use crate::worker::Epochs;
use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use pricestream_kafka::{Batch, KafkaError, read_topic};
use pricestream_runtime::fault::{Dependency, Patience, wait_out_blocking, wait_out_for};
use pricestream_trading_days::{DayEvent, Frontier};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How long one read of the trading-days topic at start may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One worker's part in the frontier.
pub struct DayWatch {
    /// Worker 0's frontier; `None` on the other workers and when the frontier is off.
    frontier: Option<Frontier>,
    enabled: bool,
    /// The next day to declare, as worker 0 last said.
    known_next: Option<NaiveDate>,
    /// Days declared in this run that the model stage was told of.
    declared_seen: usize,
    summary: BarSummary,
}

impl DayWatch {
    /// The part of worker `index` (the cluster-wide index).
    pub fn new(shared: &Shared, index: usize) -> anyhow::Result<Self> {
        let settings = &shared.config.trading_days;
        let frontier = match settings.enabled && index == 0 {
            true => {
                let calendar = settings
                    .load_calendar()
                    .map_err(|errors| anyhow::anyhow!("trading_days.holidays_file: {}", errors.join("; ")))?;
                Some(Frontier::new(calendar, settings.frontier()))
            }
            false => None,
        };
        Ok(DayWatch {
            frontier,
            enabled: settings.enabled,
            known_next: None,
            declared_seen: 0,
            summary: BarSummary::default(),
        })
    }

    /// Notes the daily bars of `batch`, written (or about to be) by this worker.
    pub fn note(&mut self, batch: &Batch) {
        if self.enabled {
            self.summary.add(batch, self.known_next);
        }
    }

    /// The signal that tells worker 0 about the bars noted since the last one; `live` when they
    /// were read now rather than replayed at start.
    pub fn signal(&mut self, live: bool) -> Option<Signal> {
        (self.enabled && !self.summary.is_empty()).then(|| Signal::Bars { live, bars: self.summary.take() })
    }
}

impl Epochs<'_> {
    /// Worker 0 at start: the frontier goes on after the last day the topic has for its
    /// calendar. Sent to every worker with the epoch's signals.
    pub(crate) fn resume_days(&mut self, epoch: u64) -> anyhow::Result<()> {
        let Some(frontier) = self.days.frontier.as_mut() else { return Ok(()) };
        let shared = self.shared;
        let topic = &shared.sink.trading_days_topic;
        let patience = Patience::Forever { stop: Some(&shared.stop) };
        shared.liveness.at(self.worker.index(), epoch, Stage::Starting);
        let values = wait_out_blocking(
            &shared.outages,
            Dependency::Kafka,
            "read the trading days declared",
            patience,
            KafkaError::fault,
            || read_topic(&shared.config.kafka, topic, READ_TIMEOUT),
        )
        .with_context(|| format!("cannot read the trading days declared from {topic}"))?;
        let calendar = frontier.calendar().name.clone();
        let last = values
            .iter()
            .filter_map(|value| serde_json::from_slice::<DayEvent>(value).ok())
            .filter(|event| event.calendar == calendar)
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
    /// every worker's bars, publishes the days it declares and tells the workers; the others
    /// learn the next day.
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
        let bars = self.graph.signals.take_bars_before(epoch + 1);
        let Some(frontier) = self.days.frontier.as_mut() else {
            self.days.known_next = self.graph.signals.log().trading_days_next_before(epoch + 1);
            return Ok(());
        };
        let shared = self.shared;
        let metrics = &shared.metrics.trading_days;
        let now = Instant::now();
        for (live, bars) in bars {
            for late in frontier.bars(&bars, live, now) {
                metrics.late_bars.inc();
                warn!(ticker = late.ticker, day = %late.day, "A bar arrived after its trading day was declared without it; applied as a restatement.");
            }
        }
        let declared = frontier.declare(now, Utc::now());
        let next = frontier.next();
        if !declared.is_empty() {
            let topic = &shared.sink.trading_days_topic;
            let patience = Patience::Forever { stop: Some(&shared.stop) };
            let publish = wait_out_for(&shared.outages, "publish trading days", patience, || {
                shared
                    .sink
                    .publisher
                    .publish_derived(topic, declared.iter().map(|day| (day.calendar.as_str(), day)))
            });
            self.graph.drive(self.worker, shared, epoch, Stage::Writing, publish)?;
            metrics.declare_seconds.observe(written_at.elapsed().as_secs_f64());
            for day in &declared {
                let status = serde_json::to_value(day.status).ok();
                let status = status.as_ref().and_then(|s| s.as_str()).unwrap_or_default();
                metrics.declared.with_label_values(&[status]).inc();
                metrics.missing.set(day.missing.len() as i64);
                let midnight =
                    day.day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
                metrics.last_declared.set(midnight);
                info!(day = %day.day, status, expected = day.expected, arrived = day.arrived, missing = ?day.missing, "Declared a trading day.");
            }
        }
        if next != self.days.known_next || !declared.is_empty() {
            self.days.known_next = next;
            self.graph.signals.send(Signal::TradingDays { next, declared });
        }
        Ok(())
    }
}
