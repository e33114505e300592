//! The trading-day frontier in the service (`docs/trading-days.md`).
//!
//! Every worker summarises the daily bars and forecasts it wrote in an epoch ([`BarSummary`],
//! [`DaysWritten`]) and sends the summary on the signals dataflow, before marking the epoch
//! written. Once every worker has written the epoch, worker 0 has every summary: it feeds them
//! to the [`Frontier`], publishes the days it declares on the `trading-days` topic (waiting out
//! Kafka outages), then the "forecasts complete" marker of each declared day whose every
//! forecast is written ([`ForecastWatch`]), and tells every worker the next day to declare, so
//! that their next summaries keep the days that matter.
//!
//! Each worker's model stage learns of a declared day when the signal reaches it, at the same
//! epoch on every worker, and a daily policy retrains its global scope then.
//!
//! The topic is the frontier's memory: at start worker 0 reads it back and goes on after the
//! last day declared for its calendar. A day is published before anything else is told of it,
//! so a crash cannot lose a declaration (the day is declared again after the restart, from the
//! replayed bars) nor repeat one (the topic already has it).

mod declare;
mod metrics;
mod settings;
mod summary;

pub use metrics::TradingDayMetrics;
pub use settings::TradingDaySettings;
pub use summary::BarSummary;

use crate::Shared;
use crate::signals::{DaysWritten, Signal};
use chrono::NaiveDate;
use pricestream_kafka::Batch;
use pricestream_records::{Prediction, Timeframe};
use pricestream_trading_days::{ForecastWatch, Frontier};

/// One worker's part in the frontier.
pub struct DayWatch {
    /// Worker 0's frontier; `None` on the other workers and when the frontier is off.
    frontier: Option<Frontier>,
    /// Worker 0's wait for the declared days' forecasts, when the model stage is on.
    watch: Option<ForecastWatch>,
    enabled: bool,
    /// The next day to declare, as worker 0 last said.
    known_next: Option<NaiveDate>,
    /// Days declared in this run that the model stage was told of.
    declared_seen: usize,
    summary: BarSummary,
    /// Daily forecasts written since the last signal, as (ticker, day).
    forecasts: Vec<(String, NaiveDate)>,
    /// Rows left unscored for want of a model since the last signal, as (ticker, day).
    unserved: Vec<(String, NaiveDate)>,
    /// Whether this worker caught up with its input, and whether it said so.
    caught_up: (bool, bool),
    /// Worker 0: the workers that said they caught up; the frontier starts once all have.
    caught_up_workers: std::collections::BTreeSet<usize>,
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
        let watch = (frontier.is_some() && shared.config.serving.enabled).then(ForecastWatch::default);
        Ok(DayWatch {
            frontier,
            watch,
            enabled: settings.enabled,
            known_next: None,
            declared_seen: 0,
            summary: BarSummary::default(),
            forecasts: Vec::new(),
            unserved: Vec::new(),
            caught_up: (false, false),
            caught_up_workers: Default::default(),
        })
    }

    /// Notes the daily bars of `batch`, written (or about to be) by this worker.
    pub fn note(&mut self, batch: &Batch) {
        if self.enabled {
            self.summary.add(batch, self.known_next);
        }
    }

    /// Notes that a live epoch read less than it could take: the worker has caught up with its
    /// input (the trading days start from the newest day once every worker has).
    pub fn note_caught_up(&mut self) {
        self.caught_up.0 = true;
    }

    /// Notes the forecasts this worker wrote, and the rows its model stage left unscored for
    /// want of a model.
    pub fn note_forecasts(&mut self, predictions: &[Prediction], unserved: Vec<(String, NaiveDate)>) {
        if self.enabled {
            let daily = predictions.iter().filter(|p| p.timeframe == Timeframe::Day);
            self.forecasts.extend(daily.map(|p| (p.ticker.clone(), p.as_of)));
            self.unserved.extend(unserved);
        }
    }

    /// The signal that tells worker 0 about the bars and forecasts noted since the last one;
    /// `live` when they were read now rather than replayed at start.
    pub fn signal(&mut self, live: bool) -> Option<Signal> {
        let news = self.caught_up.0 && !self.caught_up.1;
        let empty = self.summary.is_empty() && self.forecasts.is_empty() && self.unserved.is_empty();
        (self.enabled && (news || !empty)).then(|| {
            self.caught_up.1 = self.caught_up.0;
            Signal::Written(DaysWritten {
                live,
                bars: self.summary.take(),
                forecasts: std::mem::take(&mut self.forecasts),
                unserved: std::mem::take(&mut self.unserved),
                caught_up: self.caught_up.0,
            })
        })
    }
}
