//! The extractor's pipeline, shared by `backfill` and `follow`: bars in, indicators computed
//! per ticker, bars, indicator values and refused records out to Kafka and Cassandra in
//! acknowledged batches.
//!
//! Where things happen:
//! - [`feed`]: one file or API symbol read and fed through the pipeline;
//! - [`tickers`](StoredSeries): each series' state: what Cassandra already stores (a restart
//!   resumes, an unchanged bar is not sent again, a correction restates the values after it)
//!   and the indicators' warm state;
//! - [`Lanes`]: files spread over cores, each ticker kept on one lane;
//! - [`Sinks`]: the writes to Kafka and Cassandra, outages waited out, the bars table written
//!   last as the commit record;
//! - [`metrics`]: what `/metrics` exports; [`Summary`]: the closing report.
//!
//! ```
//! use chrono::NaiveDate;
//! use pricestream_indicators::IndicatorParams;
//! use pricestream_ingest::{Pipeline, metrics::Metrics};
//! use pricestream_records::{Bar, Timeframe};
//! use std::sync::Arc;
//! use uuid::Uuid;
//!
//! // Without sinks (a dry run) bars are validated, their indicators computed and encoded.
//! let metrics = Arc::new(Metrics::new()?);
//! let (params, adjustment) = (IndicatorParams::default(), Default::default());
//! let mut pipeline = Pipeline::new(&params, adjustment, None, Uuid::nil(), 1_000, metrics);
//! let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default();
//! let bars = (2..=5).map(|d| Bar {
//!     ticker: "NVDA".into(),
//!     timeframe: Timeframe::Day,
//!     datetime: day(d),
//!     open: 10.0, high: 11.0, low: 9.5, close: 10.5, volume: 1_000,
//!     task_number: Uuid::nil(),
//!     adjustment_factor: 1.0,
//!     source: None,
//! });
//! futures::executor::block_on(async {
//!     pipeline.push_bars(bars.collect()).await?;
//!     pipeline.finish().await
//! })?;
//! assert_eq!(pipeline.summary.bars_read, 4);
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod adjusted;
pub mod feed;
mod lanes;
pub mod metrics;
pub mod quality;
mod sinks;
mod source_check;
mod summary;
mod tickers;

pub use lanes::Lanes;
pub use sinks::{SinkConfig, SinkPatience, Sinks};
pub use summary::Summary;
pub use tickers::{ReadAhead, StoredSeries};

use metrics::Metrics;
use pricestream_indicators::IndicatorParams;
use pricestream_records::wire;
use pricestream_records::{
    Adjustment, Bar, CorporateAction, DeadLetter, IndicatorRow, IndicatorValue, QualityFinding, Timeframe,
};
use quality::QualitySettings;
use std::sync::Arc;
use std::time::Instant;
use tickers::Tickers;
use uuid::Uuid;

/// What one flush sends: every output of the bars taken since the last one.
#[derive(Debug)]
pub struct Batch {
    /// New or corrected bars.
    pub bars: Vec<Bar>,
    /// Indicator values that are new or changed because of them, in bar order. Each bar holds
    /// the ticker and timeframe of its values (seven copies of them a bar cost a backfill
    /// more than the values themselves).
    values: Vec<(chrono::NaiveDate, IndicatorValue)>,
    /// Where each bar's values end in `values`: bar `i`'s run from `value_ends[i - 1]`.
    value_ends: Vec<usize>,
    /// Records refused on the way.
    pub dead_letters: Vec<DeadLetter>,
    /// Corporate actions read.
    pub actions: Vec<CorporateAction>,
    /// Data-quality findings new or resolved since the last batch.
    pub findings: Vec<QualityFinding>,
    /// Series whose every value has now been computed with this run's settings: recorded as
    /// such once the batch is stored.
    pub settled: Vec<(String, Timeframe)>,
    /// Series sent again with other indicator settings: their stored values are deleted before
    /// the batch's are written.
    pub purged: Vec<(String, Timeframe)>,
    /// The run that computed the values.
    task_number: Uuid,
}

impl Batch {
    fn new(task_number: Uuid) -> Self {
        Batch {
            bars: Vec::new(),
            values: Vec::new(),
            value_ends: Vec::new(),
            dead_letters: Vec::new(),
            actions: Vec::new(),
            findings: Vec::new(),
            settled: Vec::new(),
            purged: Vec::new(),
            task_number,
        }
    }

    fn len(&self) -> usize {
        self.bars.len() + self.dead_letters.len() + self.actions.len() + self.findings.len()
    }

    /// How many indicator values the batch holds.
    pub fn indicator_count(&self) -> usize {
        self.values.len()
    }

    /// Each bar with its indicator values.
    fn bars_with_values(&self) -> impl Iterator<Item = (&Bar, &[(chrono::NaiveDate, IndicatorValue)])> + '_ {
        let starts = std::iter::once(0).chain(self.value_ends.iter().copied());
        self.bars
            .iter()
            .zip(starts.zip(&self.value_ends))
            .map(|(bar, (start, &end))| (bar, &self.values[start..end]))
    }

    /// The indicator values with the fields of their bars, in the order they were computed.
    pub fn indicator_rows(&self) -> impl Iterator<Item = IndicatorRow<'_>> + '_ {
        self.bars_with_values().flat_map(move |(bar, values)| {
            values.iter().map(move |(datetime, value)| IndicatorRow {
                ticker: &bar.ticker,
                timeframe: bar.timeframe,
                datetime: *datetime,
                task_number: self.task_number,
                value,
            })
        })
    }

    /// Hands each indicator value's Kafka message (bytes in `out`) and key to `each`, in
    /// the order of [`Batch::indicator_rows`].
    pub fn for_each_indicator_message<'a>(&'a self, out: &mut Vec<u8>, mut each: impl FnMut(&'a str, &[u8])) {
        for row in self.indicator_rows() {
            out.clear();
            wire::encode_into(&row, out);
            each(row.ticker, out);
        }
    }

    /// Hands each bar's Kafka message (bytes in `out`) and key to `each`, in bar order.
    pub fn for_each_bar_message<'a>(&'a self, out: &mut Vec<u8>, mut each: impl FnMut(&'a str, &[u8])) {
        for bar in &self.bars {
            out.clear();
            wire::encode_into(bar, out);
            each(&bar.ticker, out);
        }
    }

    /// Takes what a restatement sends: every value goes with the first bar (they share the
    /// series), the other bars without values.
    fn push_restated(&mut self, restated: adjusted::Restated) {
        debug_assert!(restated.values.is_empty() || !restated.bars.is_empty(), "values without a bar");
        if !restated.bars.is_empty() {
            self.values.extend(restated.values);
            for bar in restated.bars {
                self.push_with_values(bar);
            }
        }
    }

    /// Takes a bar whose indicator values were just appended to `values`.
    fn push_with_values(&mut self, bar: Bar) {
        self.bars.push(bar);
        self.value_ends.push(self.values.len());
    }

    /// Takes a bar and the indicator values it changed.
    #[cfg(test)]
    fn push(&mut self, bar: Bar, changed: impl Iterator<Item = (chrono::NaiveDate, IndicatorValue)>) {
        self.values.extend(changed);
        self.push_with_values(bar);
    }

    /// Empties the batch but keeps its buffers: a full batch is megabytes, and growing
    /// it from nothing again for every flush cost a backfill more than its encoding.
    fn clear(&mut self) {
        self.bars.clear();
        self.values.clear();
        self.value_ends.clear();
        self.dead_letters.clear();
        self.actions.clear();
        self.findings.clear();
        self.settled.clear();
        self.purged.clear();
    }
}

/// Turns bars into batches and hands them to the sinks (or, in a dry run,
/// only encodes them, to measure everything but the I/O).
pub struct Pipeline {
    tickers: Tickers,
    sinks: Option<Arc<Sinks>>,
    batch: Batch,
    batch_max_rows: usize,
    metrics: Arc<Metrics>,
    /// Where a dry run encodes each message, reused.
    scratch: Vec<u8>,
    /// The states that took corporate actions since the last flush, to restate before it.
    unrestated: Vec<(usize, String)>,
    /// The data-quality checks' settings.
    quality: QualitySettings,
    /// Counts for the run summary.
    pub summary: Summary,
    /// The summary's bars read and unchanged already added to the metrics. The lanes share
    /// the metrics, so they are added once per flush: an atomic add per bar made the
    /// lanes' cores take the counter's cache line from each other for every bar.
    counted: (u64, u64),
}

impl Pipeline {
    /// A pipeline that computes with `params` over prices adjusted as `adjustment` says and
    /// sends to `sinks`, or only encodes when `sinks` is `None`.
    pub fn new(
        params: &IndicatorParams,
        adjustment: Adjustment,
        sinks: Option<Arc<Sinks>>,
        task_number: Uuid,
        batch_max_rows: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        Pipeline {
            tickers: Tickers::new(params, adjustment),
            sinks,
            batch: Batch::new(task_number),
            batch_max_rows,
            metrics,
            scratch: Vec::with_capacity(512),
            unrestated: Vec::new(),
            quality: QualitySettings::default(),
            summary: Summary::default(),
            counted: (0, 0),
        }
    }

    /// Checks the series' data quality with `settings` instead of the defaults.
    pub fn with_quality(mut self, settings: QualitySettings) -> Self {
        self.quality = settings;
        self
    }

    /// Checks the data quality of state `at` (the daily series of `ticker`) again and takes
    /// what changed into the batch.
    fn check_quality(&mut self, at: usize, ticker: &str, timeframe: Timeframe) {
        if timeframe != Timeframe::Day {
            return; // The calendar checks are about trading days.
        }
        for finding in self.tickers.state(at).check_quality(ticker, &self.quality) {
            let state = if finding.resolved { "resolved" } else { "open" };
            self.metrics.quality_findings.with_label_values(&[finding.check.as_str(), state]).inc();
            self.summary.quality_findings += u64::from(!finding.resolved);
            self.batch.findings.push(finding);
        }
    }

    /// Starts the series of `stored` from their stored bars (read ahead by the caller),
    /// unless this pipeline already has them.
    pub fn preload(&mut self, stored: Vec<StoredSeries>) {
        stored.into_iter().for_each(|series| self.tickers.preload(series));
    }

    /// Takes every bar of `bars` (sorted by ticker, then date). Each ticker's state is looked
    /// up, and room made for its run of bars, once per run instead of once per bar.
    pub async fn push_bars(&mut self, bars: Vec<Bar>) -> anyhow::Result<()> {
        let history = self.sinks.as_deref();
        let mut runs = Vec::new();
        for run in series_runs(&bars) {
            let at = self.tickers.find(&run[0].ticker, run[0].timeframe, history).await?;
            self.tickers.state(at).reserve(run.len());
            runs.push((at, run.len()));
        }
        let mut bars = bars.into_iter();
        for (at, len) in runs {
            let run = bars.by_ref().take(len);
            if self.tickers.state(at).is_adjusted() {
                self.push_adjusted(at, run).await?;
                continue;
            }
            // Stored bars whose values were computed with other settings go first, anew.
            let resend = self.take_resend(at);
            for bar in resend {
                if self.tickers.state(at).apply_if_changed(&bar, &mut self.batch.values) {
                    self.batch.push_with_values(bar);
                    self.flush_if_full().await?;
                }
            }
            let mut last = None;
            for bar in run {
                last = Some((bar.ticker.to_string(), bar.timeframe));
                self.push_to(at, bar).await?;
            }
            self.settle(at, last);
        }
        Ok(())
    }

    /// The stored bars of state `at` to send again, their series recorded as purged.
    fn take_resend(&mut self, at: usize) -> Vec<Bar> {
        let resend = self.tickers.take_resend(at);
        if let Some(first) = resend.first() {
            self.batch.purged.push((first.ticker.to_string(), first.timeframe));
        }
        resend
    }

    /// Checks the data quality of `series` (the one of state `at`) and records it as computed
    /// with this run's settings, if it is not yet.
    fn settle(&mut self, at: usize, series: Option<(String, Timeframe)>) {
        if let Some((ticker, timeframe)) = &series {
            self.check_quality(at, ticker, *timeframe);
        }
        if let Some(series) = series.filter(|_| self.tickers.take_unrecorded(at)) {
            self.batch.settled.push(series);
        }
    }

    /// Takes a run of bars of the adjusted series of state `at`: each is staged, then the
    /// series is restated once (one pass, whatever number of actions they make count).
    async fn push_adjusted(&mut self, at: usize, run: impl Iterator<Item = Bar>) -> anyhow::Result<()> {
        let resend = self.take_resend(at);
        let state = self.tickers.state(at);
        let mut last = None;
        for bar in &resend {
            state.stage(bar);
            last = Some((bar.ticker.to_string(), bar.timeframe));
        }
        for bar in run {
            self.summary.bars_read += 1;
            if !state.stage(&bar) {
                self.summary.bars_unchanged += 1;
            }
            last = Some((bar.ticker.to_string(), bar.timeframe));
        }
        let adjustment = self.tickers.adjustment();
        let restated = self.tickers.state(at).restate(adjustment);
        self.push_restated(restated).await?;
        self.settle(at, last);
        Ok(())
    }

    /// Takes what a restatement sends.
    async fn push_restated(&mut self, restated: adjusted::Restated) -> anyhow::Result<()> {
        self.batch.push_restated(restated);
        self.flush_if_full().await
    }

    /// Takes one bar of the ticker whose state is `at`; flushes when the batch is full.
    async fn push_to(&mut self, at: usize, bar: Bar) -> anyhow::Result<()> {
        self.summary.bars_read += 1;
        // Straight into the batch: copying them there from a buffer of their own stalled
        // on store forwarding, a few per cent of a backfill.
        if !self.tickers.state(at).apply_if_changed(&bar, &mut self.batch.values) {
            self.summary.bars_unchanged += 1;
            return Ok(());
        }
        self.batch.push_with_values(bar);
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

    /// Takes one corporate action, to be published and stored with the next batch. When the
    /// run's adjustment applies it, its ticker's daily series is restated first: the bars
    /// whose factor changes and the indicator values that change are sent with it.
    pub async fn push_action(&mut self, action: CorporateAction) -> anyhow::Result<()> {
        self.summary.actions_read += 1;
        let adjustment = self.tickers.adjustment();
        if adjustment.applies(&action) {
            let (ticker, timeframe) = (action.ticker.to_string(), Timeframe::Day);
            self.tickers.keep_bars();
            let at = self.tickers.find(&ticker, timeframe, self.sinks.as_deref()).await?;
            if self.tickers.state(at).adjusted().is_none() {
                // Loaded before this pipeline kept bars: start it again from what is stored.
                self.flush().await?;
                self.tickers.reload(at, &ticker, timeframe, self.sinks.as_deref()).await?;
            }
            let resend = self.take_resend(at);
            let state = self.tickers.state(at);
            // Through the state, so that the quality checks note the resent bars too.
            resend.iter().for_each(|bar| _ = state.stage(bar));
            if let Some(adjusted) = state.adjusted() {
                adjusted.add_action(action.clone(), adjustment);
            }
            // Restated once, with the next flush: a file of many actions of one ticker sends
            // each changed value once, not once per action.
            if self.tickers.take_unrecorded(at) {
                self.batch.settled.push((ticker.clone(), timeframe));
            }
            if !self.unrestated.iter().any(|(state, _)| *state == at) {
                self.unrestated.push((at, ticker));
            }
        }
        self.batch.actions.push(action);
        self.flush_if_full().await
    }

    async fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.batch.len() >= self.batch_max_rows { self.flush().await } else { Ok(()) }
    }

    /// Sends everything taken so far and waits until every sink acknowledged it.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        let adjustment = self.tickers.adjustment();
        for (at, ticker) in std::mem::take(&mut self.unrestated) {
            self.batch.push_restated(self.tickers.state(at).restate(adjustment));
            self.check_quality(at, &ticker, Timeframe::Day);
        }
        self.count_bars_read();
        if self.batch.len() == 0 && self.batch.settled.is_empty() {
            return Ok(());
        }
        let batch = &self.batch;
        let started = Instant::now();
        match &self.sinks {
            Some(sinks) => sinks.send_patiently(batch).await?,
            None => {
                // A dry run still pays for encoding, so its rate is an honest upper bound.
                let (scratch, mut bytes) = (&mut self.scratch, 0);
                batch.for_each_bar_message(scratch, |_, message| bytes += message.len() as u64);
                batch.for_each_indicator_message(scratch, |_, message| bytes += message.len() as u64);
                self.summary.bytes_encoded += bytes;
            }
        }
        self.summary.bars_written += batch.bars.len() as u64;
        self.summary.indicators_written += batch.indicator_count() as u64;
        self.summary.dead_letters_written += batch.dead_letters.len() as u64;
        self.summary.actions_written += batch.actions.len() as u64;
        self.metrics.bars_written.inc_by(batch.bars.len() as u64);
        self.metrics.indicator_values_written.inc_by(batch.indicator_count() as u64);
        self.metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
        self.batch.clear();
        Ok(())
    }

    /// Adds the bars read and found unchanged since the last call to the metrics.
    fn count_bars_read(&mut self) {
        let (read, unchanged) = (self.summary.bars_read, self.summary.bars_unchanged);
        self.metrics.bars_read.inc_by(read.saturating_sub(self.counted.0));
        self.metrics.bars_unchanged.inc_by(unchanged.saturating_sub(self.counted.1));
        self.counted = (read, unchanged);
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

/// What a series' stored values are recorded as computed with: the indicator settings and the
/// adjustment applied; a series recorded with other settings is sent again.
pub fn series_settings(params: &IndicatorParams, adjustment: Adjustment) -> String {
    params.settings_text() + &adjustment.settings_text()
}

/// The runs of one series' bars in `bars` (sorted by ticker). The usual file holds one
/// series, told by its two ends without comparing every bar with the next.
fn series_runs(bars: &[Bar]) -> impl Iterator<Item = &[Bar]> {
    let same = |a: &Bar, b: &Bar| a.ticker == b.ticker && a.timeframe == b.timeframe;
    let one_series = matches!((bars.first(), bars.last()), (Some(a), Some(b)) if same(a, b));
    let (whole, split) = if one_series { (Some(bars), &[][..]) } else { (None, bars) };
    whole.into_iter().chain(split.chunk_by(same))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use pricestream_records::Timeframe;

    fn bar(ticker: &str, day: u32) -> Bar {
        Bar {
            ticker: ticker.into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default(),
            open: 1.0,
            high: 2.0,
            low: 0.5,
            close: 1.5,
            volume: 10,
            task_number: Uuid::nil(),
            adjustment_factor: 1.0,
            source: None,
        }
    }

    #[test]
    fn each_value_comes_out_with_the_ticker_and_timeframe_of_its_bar_and_the_run() {
        let run = Uuid::from_u128(7);
        let mut batch = Batch::new(run);
        let sma = |sma| IndicatorValue::Sma { time_period: 2, sma };
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default();
        batch.push(bar("AAA", 2), [(day(1), sma(1.0)), (day(2), sma(2.0))].into_iter());
        batch.push(bar("AAA", 3), [(day(3), sma(3.0))].into_iter());
        batch.push(bar("BBB", 3), std::iter::empty());
        batch.push(bar("CCC", 4), [(day(4), sma(4.0))].into_iter());
        let rows: Vec<(&str, NaiveDate, Uuid, IndicatorValue)> =
            batch.indicator_rows().map(|r| (r.ticker, r.datetime, r.task_number, r.value.clone())).collect();
        assert_eq!(
            rows,
            [
                ("AAA", day(1), run, sma(1.0)),
                ("AAA", day(2), run, sma(2.0)),
                ("AAA", day(3), run, sma(3.0)),
                ("CCC", day(4), run, sma(4.0))
            ]
        );
        assert_eq!((batch.len(), batch.indicator_count()), (4, 4));
        let mut messages = Vec::new();
        batch.for_each_indicator_message(&mut Vec::new(), |key, bytes| messages.push((key, bytes.to_vec())));
        let expected: Vec<(&str, Vec<u8>)> =
            batch.indicator_rows().map(|row| (row.ticker, pricestream_records::wire::encode(&row))).collect();
        assert_eq!(messages, expected);
        batch.clear();
        assert_eq!((batch.len(), batch.indicator_count(), batch.indicator_rows().count()), (0, 0, 0));
    }
}
