//! The extraction pipeline shared by every mode: bars in, indicators computed
//! per ticker, bars + indicator values + refused records out to the sinks in
//! acknowledged batches.

mod lanes;
mod sinks;
mod summary;
mod tickers;

pub use lanes::Lanes;
pub use sinks::Sinks;
pub use summary::Summary;
pub use tickers::{ReadAhead, StoredSeries};

use crate::metrics::Metrics;
use pricestream_dataflow::records::{Bar, DeadLetter, IndicatorRecord, IndicatorValue};
use pricestream_dataflow::wire::WireRecord;
use std::sync::Arc;
use std::time::Instant;
use tickers::Tickers;
use uuid::Uuid;

/// What one flush sends: every output of the bars taken since the last one.
#[derive(Debug, Default)]
pub struct Batch {
    /// New or corrected bars.
    pub bars: Vec<Bar>,
    /// Indicator values that are new or changed because of them.
    pub indicators: Vec<IndicatorRecord>,
    /// Records refused on the way.
    pub dead_letters: Vec<DeadLetter>,
}

impl Batch {
    fn len(&self) -> usize {
        self.bars.len() + self.dead_letters.len()
    }

    /// Empties the batch but keeps its buffers: a full batch is megabytes, and growing
    /// it from nothing again for every flush cost a backfill more than its encoding.
    fn clear(&mut self) {
        self.bars.clear();
        self.indicators.clear();
        self.dead_letters.clear();
    }
}

/// Turns bars into batches and hands them to the sinks (or, in a dry run,
/// only encodes them, to measure everything but the I/O).
pub struct Pipeline {
    tickers: Tickers,
    sinks: Option<Arc<Sinks>>,
    task_number: Uuid,
    batch: Batch,
    batch_max_rows: usize,
    max_attempts: u32,
    metrics: Arc<Metrics>,
    /// Where a dry run encodes each message, reused.
    scratch: Vec<u8>,
    /// The indicator values the current bar changed, reused.
    changed: Vec<(chrono::NaiveDate, IndicatorValue)>,
    /// Counts for the run summary.
    pub summary: Summary,
}

impl Pipeline {
    /// A pipeline that sends to `sinks`, or only encodes when `sinks` is `None`.
    pub fn new(
        params: &pricestream_dataflow::indicators::IndicatorParams,
        sinks: Option<Arc<Sinks>>,
        task_number: Uuid,
        batch_max_rows: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        Pipeline {
            tickers: Tickers::new(params),
            sinks,
            task_number,
            batch: Batch::default(),
            batch_max_rows,
            max_attempts: 1,
            metrics,
            scratch: Vec::with_capacity(512),
            changed: Vec::with_capacity(7),
            summary: Summary::default(),
        }
    }

    /// Tries a refused batch up to `attempts` times in all, backing off exponentially.
    pub fn with_retries(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Starts the series of `stored` from their stored bars (read ahead by the caller),
    /// unless this pipeline already has them.
    pub fn preload(&mut self, stored: Vec<StoredSeries>) {
        stored.into_iter().for_each(|series| self.tickers.preload(series));
    }

    /// Takes one bar; flushes when the batch is full.
    pub async fn push_bar(&mut self, bar: Bar) -> anyhow::Result<()> {
        self.summary.bars_read += 1;
        self.metrics.bars_read.inc();
        let history = self.sinks.as_deref().map(Sinks::bar_table);
        let ticker = self.tickers.get(&bar.ticker, bar.timeframe, history).await?;
        if !ticker.apply_if_changed(&bar, &mut self.changed) {
            self.summary.bars_unchanged += 1;
            self.metrics.bars_unchanged.inc();
            return Ok(());
        }
        for (datetime, value) in self.changed.drain(..) {
            self.batch.indicators.push(IndicatorRecord {
                ticker: bar.ticker.clone(),
                timeframe: bar.timeframe,
                datetime,
                task_number: self.task_number,
                value,
            });
        }
        self.batch.bars.push(bar);
        self.flush_if_full().await
    }

    /// Takes one refused record, to be sent to the dead-letter topic with the next batch.
    pub async fn push_rejected(&mut self, reason: &str, letter: DeadLetter) -> anyhow::Result<()> {
        let line = letter.line.map(|l| format!(":{l}")).unwrap_or_default();
        tracing::warn!(reason, "Rejected {}{line}: {}", letter.source, letter.message);
        self.summary.count_rejected(reason);
        self.metrics.lines_rejected.with_label_values(&[reason]).inc();
        self.batch.dead_letters.push(letter);
        self.flush_if_full().await
    }

    async fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.batch.len() >= self.batch_max_rows { self.flush().await } else { Ok(()) }
    }

    /// Sends everything taken so far and waits until every sink acknowledged it.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.bars.is_empty() && self.batch.dead_letters.is_empty() {
            return Ok(());
        }
        let batch = &self.batch;
        let started = Instant::now();
        match &self.sinks {
            Some(sinks) => send_with_retries(sinks, batch, self.max_attempts).await?,
            None => {
                // A dry run still pays for encoding, so its rate is an honest upper bound.
                let scratch = &mut self.scratch;
                let mut bytes = 0;
                let mut encode = |record: &dyn Fn(&mut Vec<u8>)| {
                    scratch.clear();
                    record(scratch);
                    bytes += scratch.len() as u64;
                };
                batch.bars.iter().for_each(|bar| encode(&|out| bar.encode_into(out)));
                batch.indicators.iter().for_each(|value| encode(&|out| value.encode_into(out)));
                self.summary.bytes_encoded += bytes;
            }
        }
        self.summary.bars_written += batch.bars.len() as u64;
        self.summary.indicators_written += batch.indicators.len() as u64;
        self.summary.dead_letters_written += batch.dead_letters.len() as u64;
        self.metrics.bars_written.inc_by(batch.bars.len() as u64);
        self.metrics.indicator_values_written.inc_by(batch.indicators.len() as u64);
        self.metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
        self.batch.clear();
        Ok(())
    }

    /// Flushes what is left and waits for the producer to deliver it.
    pub async fn finish(&mut self) -> anyhow::Result<()> {
        self.flush().await?;
        if let Some(sinks) = &self.sinks {
            sinks.close()?;
        }
        Ok(())
    }
}

/// Every write is an upsert keyed by ticker and date, so sending a batch again is safe.
async fn send_with_retries(sinks: &Sinks, batch: &Batch, max_attempts: u32) -> anyhow::Result<()> {
    let mut pause = std::time::Duration::from_millis(500);
    for attempt in 1.. {
        match sinks.send(batch).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < max_attempts => {
                tracing::warn!(
                    attempt,
                    max_attempts,
                    "A sink refused the batch, retrying in {pause:?}: {error:#}"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(30));
            }
            Err(error) => {
                return Err(
                    error.context(format!("batch refused {attempt} time(s); nothing after it was sent"))
                );
            }
        }
    }
    Ok(())
}
