//! Indicator state per ticker, rebuilt from the stored bars the first time a
//! ticker is seen, so a restart continues the series instead of starting over
//! and does not send again what is already stored.

use crate::Sinks;
use crate::adjusted::{Adjusted, Restated};
use crate::quality::{Quality, QualitySettings};
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use pricestream_indicators::{IndicatorParams, TickerSeries};
use pricestream_records::{Adjustment, Bar, CorporateAction, IndicatorValue, QualityFinding, Timeframe};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use tracing::{debug, info};

/// One ticker: its indicator series and a fingerprint of every stored bar.
pub struct Ticker {
    series: TickerSeries,
    /// The fingerprint of each stored bar's open, high, low, close and volume, in the order
    /// of the series' dates (which are not stored twice).
    fingerprints: Vec<u64>,
    /// The delivered bars and the corporate actions of a series that actions adjust; then the
    /// series holds adjusted prices and the fingerprints are not used.
    adjusted: Option<Box<Adjusted>>,
    /// Its data-quality findings.
    quality: Quality,
}

/// A 64-bit hash of good quality (two versions of a bar that collide would hide a
/// correction), and several times cheaper per bar than SipHash.
fn fingerprint(bar: &Bar) -> u64 {
    let mut hasher = foldhash::quality::FixedState::default().build_hasher();
    for price in [bar.open, bar.high, bar.low, bar.close] {
        hasher.write_u64(price.to_bits());
    }
    hasher.write_i64(bar.volume);
    hasher.finish()
}

impl Ticker {
    fn new(params: &IndicatorParams) -> Self {
        Ticker {
            series: TickerSeries::new(params),
            fingerprints: Vec::new(),
            adjusted: None,
            quality: Quality::default(),
        }
    }

    /// A series over the adjusted prices of `adjusted`'s bars, as sent before.
    fn with_adjusted(params: &IndicatorParams, adjusted: Adjusted) -> Self {
        let mut series = TickerSeries::new(params);
        let (dates, prices) = adjusted.prices();
        series.restate(dates, prices, &mut Vec::new());
        let mut quality = Quality::default();
        adjusted.bars().iter().for_each(|bar| quality.note(bar, None));
        Ticker { series, fingerprints: Vec::new(), adjusted: Some(Box::new(adjusted)), quality }
    }

    /// Whether corporate actions adjust this series: its bars then go through
    /// [`Ticker::stage`] and are sent by [`Ticker::restate`].
    pub fn is_adjusted(&self) -> bool {
        self.adjusted.is_some()
    }

    /// The delivered bars and actions of an adjusted series.
    pub fn adjusted(&mut self) -> Option<&mut Adjusted> {
        self.adjusted.as_deref_mut()
    }

    /// Stages a bar of an adjusted series ([`Adjusted::stage`]); false when it is already
    /// there as it is, or the series is not adjusted.
    pub fn stage(&mut self, bar: &Bar) -> bool {
        let Some(adjusted) = self.adjusted.as_deref_mut() else { return false };
        self.quality.note(bar, adjusted.delivered(bar.datetime));
        adjusted.stage(bar)
    }

    /// Checks the series' data quality again: the findings of `ticker` that are new or
    /// resolved since the last check.
    pub fn check_quality(&mut self, ticker: &str, settings: &QualitySettings) -> Vec<QualityFinding> {
        self.quality.check(ticker, self.series.dates(), self.series.prices(), settings)
    }

    /// Starts the series' findings from what the ledger holds open.
    fn set_open_findings(&mut self, open: &[QualityFinding]) {
        self.quality.set_open(open);
    }

    /// Brings the indicator series up to date with the staged bars and actions (nothing for a
    /// series without adjustment): what to send.
    pub fn restate(&mut self, adjustment: Adjustment) -> Restated {
        match self.adjusted.as_deref_mut() {
            Some(adjusted) => adjusted.restate(adjustment, &mut self.series),
            None => Restated::default(),
        }
    }

    /// True when this exact bar (same date and OHLCV) is already part of the series.
    #[cfg(test)]
    pub fn is_unchanged(&self, bar: &Bar) -> bool {
        self.series.position(bar.datetime).is_ok_and(|at| self.fingerprints[at] == fingerprint(bar))
    }

    /// Makes room for `additional` more bars at once.
    pub fn reserve(&mut self, additional: usize) {
        self.fingerprints.reserve(additional);
        self.series.reserve(additional);
    }

    /// Inserts or replaces the bar and appends every indicator value it makes new or changes to
    /// `changed`; returns false (and changes nothing) when this exact bar is already part of the series.
    pub fn apply_if_changed(&mut self, bar: &Bar, changed: &mut Vec<(NaiveDate, IndicatorValue)>) -> bool {
        let print = fingerprint(bar);
        // The series inserts a new date at the same place.
        let position = self.series.position(bar.datetime);
        // Unadjusted, the series' prices are the delivered ones.
        self.quality.note(bar, position.ok().map(|at| self.series.prices()[at]));
        match position {
            Ok(at) if self.fingerprints[at] == print => return false,
            Ok(at) => self.fingerprints[at] = print,
            Err(at) => self.fingerprints.insert(at, print),
        }
        self.series.apply_at(bar, position, changed);
        true
    }
}

/// The bars Cassandra stores of one series, read ahead of its first bar so that the
/// reads of many series overlap instead of each bar waiting for one round trip.
#[derive(Debug)]
pub struct StoredSeries {
    /// Its ticker.
    pub ticker: String,
    /// Its bar interval.
    pub timeframe: Timeframe,
    /// Every stored bar, in date order.
    pub bars: Vec<Bar>,
    /// The settings its values were computed with ([`crate::series_settings`]), if recorded.
    pub settings: Option<String>,
    /// Its ticker's corporate actions.
    pub actions: Vec<CorporateAction>,
    /// Its ticker's data-quality ledger.
    pub findings: Vec<QualityFinding>,
}

/// The series whose stored bars a run has already read ahead (or decided to read).
#[derive(Debug, Default)]
pub struct ReadAhead {
    seen: HashSet<(String, Timeframe)>,
}

impl ReadAhead {
    /// The series of `bars` (sorted by ticker) not read ahead before: a ticker split over many
    /// files is read once, for its first file, and not again while this run is writing it.
    pub fn new_series(&mut self, bars: &[Bar]) -> Vec<(String, Timeframe)> {
        let mut keys: Vec<(String, Timeframe)> = Vec::new();
        for bar in bars {
            if keys
                .last()
                .is_none_or(|(ticker, timeframe)| *ticker != bar.ticker || *timeframe != bar.timeframe)
            {
                keys.push((bar.ticker.to_string(), bar.timeframe));
            }
        }
        keys.retain(|key| self.seen.insert(key.clone()));
        keys
    }
}

impl StoredSeries {
    /// Reads the stored series of `keys`, `concurrency` reads at a time.
    pub async fn read(
        table: &Sinks,
        keys: Vec<(String, Timeframe)>,
        concurrency: usize,
    ) -> anyhow::Result<Vec<Self>> {
        futures::stream::iter(keys)
            .map(|(ticker, timeframe)| async move { table.read_series(&ticker, timeframe).await })
            .buffered(concurrency.max(1))
            .try_collect()
            .await
    }
}

/// Every ticker seen in this run.
pub struct Tickers {
    params: IndicatorParams,
    adjustment: Adjustment,
    /// `params` and `adjustment` as recorded per series ([`crate::series_settings`]).
    settings: String,
    /// Keep every series' delivered bars, for corporate actions to restate.
    keep_bars: bool,
    /// Where each series' state is in `states`, by timeframe, then ticker: looked up with a
    /// borrowed `&str`.
    index: FxHashMap<Timeframe, FxHashMap<String, usize>>,
    states: Vec<Ticker>,
    /// Stored bars to send again, by state: their values were computed with other settings.
    resend: FxHashMap<usize, Vec<Bar>>,
    /// States whose settings are to be recorded once their values are sent.
    unrecorded: FxHashSet<usize>,
}

impl Tickers {
    /// No ticker seen yet.
    pub fn new(params: &IndicatorParams, adjustment: Adjustment) -> Self {
        Tickers {
            params: params.clone(),
            adjustment,
            settings: crate::series_settings(params, adjustment),
            keep_bars: false,
            index: FxHashMap::default(),
            states: Vec::new(),
            resend: FxHashMap::default(),
            unrecorded: FxHashSet::default(),
        }
    }

    /// Starts `stored`'s series from its stored bars, unless it is already known (then
    /// this run may have changed it since, and `stored` is stale).
    pub fn preload(&mut self, stored: StoredSeries) {
        let known =
            self.index.get(&stored.timeframe).is_some_and(|series| series.contains_key(&stored.ticker));
        if !known {
            self.add(stored);
        }
    }

    /// The run's price adjustment.
    pub fn adjustment(&self) -> Adjustment {
        self.adjustment
    }

    /// From now on, series are loaded with their delivered bars kept, so that corporate
    /// actions can restate them.
    pub fn keep_bars(&mut self) {
        self.keep_bars = true;
    }

    /// A new state for the series `stored` holds.
    fn add(&mut self, stored: StoredSeries) -> usize {
        let at = self.states.len();
        let (ticker, timeframe) = (stored.ticker.clone(), stored.timeframe);
        let state = self.build(at, stored);
        self.states.push(state);
        self.index.entry(timeframe).or_default().insert(ticker, at);
        at
    }

    /// Starts state `at` again from what `stored` holds.
    fn replace(&mut self, at: usize, stored: StoredSeries) {
        self.states[at] = self.build(at, stored);
    }

    /// The state of the series `stored` holds, whose values were computed with its settings.
    /// With other settings (or none recorded) the state starts empty and the stored bars are
    /// sent again ([`Tickers::take_resend`]), their values computed anew.
    fn build(&mut self, at: usize, mut stored: StoredSeries) -> Ticker {
        let findings = std::mem::take(&mut stored.findings);
        let mut state = self.build_series(at, stored);
        state.set_open_findings(&findings);
        state
    }

    fn build_series(&mut self, at: usize, stored: StoredSeries) -> Ticker {
        let StoredSeries { ticker, bars, settings, actions, .. } = stored;
        let current = settings.as_deref() == Some(self.settings.as_str());
        let actions: Vec<CorporateAction> =
            actions.into_iter().filter(|a| self.adjustment.applies(a)).collect();
        let adjust = self.keep_bars || !actions.is_empty();
        if !current {
            self.unrecorded.insert(at);
        }
        if current || bars.is_empty() {
            return match adjust {
                true => Ticker::with_adjusted(&self.params, Adjusted::new(actions, bars, self.adjustment)),
                false => Self::from_stored(&self.params, &bars),
            };
        }
        info!(
            ticker,
            bars = bars.len(),
            stored_with = settings.as_deref().unwrap_or("(not recorded)"),
            now = %self.settings,
            "The series' values were computed with other settings: sending all of them again."
        );
        self.resend.insert(at, bars);
        match adjust {
            true => Ticker::with_adjusted(&self.params, Adjusted::new(actions, Vec::new(), self.adjustment)),
            false => Ticker::new(&self.params),
        }
    }

    /// The stored bars of state `at` to send again before anything else (once).
    pub fn take_resend(&mut self, at: usize) -> Vec<Bar> {
        self.resend.remove(&at).unwrap_or_default()
    }

    /// Whether state `at`'s settings are still to be recorded; true once.
    pub fn take_unrecorded(&mut self, at: usize) -> bool {
        self.unrecorded.remove(&at)
    }

    fn from_stored(params: &IndicatorParams, stored: &[Bar]) -> Ticker {
        let mut state = Ticker::new(params);
        let mut ignored = Vec::new();
        for bar in stored {
            // Their indicator values were stored before them: nothing to send again.
            state.apply_if_changed(bar, &mut ignored);
            ignored.clear();
        }
        state
    }

    /// Where the state of `ticker` is (for [`Tickers::state`]), loading what `history`
    /// already stores on first use.
    pub async fn find(
        &mut self,
        ticker: &str,
        timeframe: Timeframe,
        history: Option<&Sinks>,
    ) -> anyhow::Result<usize> {
        if let Some(&at) = self.index.get(&timeframe).and_then(|series| series.get(ticker)) {
            return Ok(at);
        }
        let stored = self.read(ticker, timeframe, history).await?;
        debug!(ticker, bars = stored.bars.len(), "Loaded stored bars.");
        Ok(self.add(stored))
    }

    /// Starts state `at` (of `ticker`) again from what `history` stores now.
    pub async fn reload(
        &mut self,
        at: usize,
        ticker: &str,
        timeframe: Timeframe,
        history: Option<&Sinks>,
    ) -> anyhow::Result<()> {
        let stored = self.read(ticker, timeframe, history).await?;
        self.replace(at, stored);
        Ok(())
    }

    async fn read(
        &self,
        ticker: &str,
        timeframe: Timeframe,
        history: Option<&Sinks>,
    ) -> anyhow::Result<StoredSeries> {
        match history {
            Some(sinks) => sinks.read_series(ticker, timeframe).await,
            // A dry run: nothing stored, nothing to record.
            None => Ok(StoredSeries {
                ticker: ticker.to_owned(),
                timeframe,
                bars: Vec::new(),
                settings: Some(self.settings.clone()),
                actions: Vec::new(),
                findings: Vec::new(),
            }),
        }
    }

    /// The state [`Tickers::find`] returned `at` for.
    pub fn state(&mut self, at: usize) -> &mut Ticker {
        &mut self.states[at]
    }

    /// The state of `ticker`, loading what `history` already stores on first use.
    #[cfg(test)]
    pub async fn get(
        &mut self,
        ticker: &str,
        timeframe: Timeframe,
        history: Option<&Sinks>,
    ) -> anyhow::Result<&mut Ticker> {
        let at = self.find(ticker, timeframe, history).await?;
        Ok(self.state(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use uuid::Uuid;

    fn bar(day: u32, close: f64) -> Bar {
        Bar {
            ticker: "ABC".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2024, 1, day).expect("date"),
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 100,
            task_number: Uuid::nil(),
            adjustment_factor: 1.0,
            source: None,
        }
    }

    fn stored(bars: Vec<Bar>) -> StoredSeries {
        let settings = Some(crate::series_settings(&IndicatorParams::default(), Adjustment::default()));
        let (actions, findings) = (Vec::new(), Vec::new());
        StoredSeries { ticker: "ABC".into(), timeframe: Timeframe::Day, bars, settings, actions, findings }
    }

    #[test]
    fn a_series_is_read_ahead_once_per_run() {
        let mut other = bar(2, 5.0);
        other.ticker = "XYZ".into();
        let mut read_ahead = ReadAhead::default();
        let first = read_ahead.new_series(&[bar(2, 10.0), bar(3, 11.0), other.clone()]);
        assert_eq!(first, [("ABC".to_owned(), Timeframe::Day), ("XYZ".to_owned(), Timeframe::Day)]);
        // The same tickers in a later file (another year of them): nothing to read again.
        assert!(read_ahead.new_series(&[bar(4, 12.0), other]).is_empty());
    }

    #[test]
    fn a_bar_already_in_the_series_changes_nothing_and_a_revised_one_does() {
        let mut state = Ticker::new(&IndicatorParams::default());
        let mut changed = Vec::new();
        for day in 2..=25 {
            assert!(state.apply_if_changed(&bar(day, 10.0 + f64::from(day)), &mut changed));
        }
        let appended = changed.len();
        assert!(!state.apply_if_changed(&bar(25, 35.0), &mut changed), "the last bar again");
        assert!(!state.apply_if_changed(&bar(10, 20.0), &mut changed), "a middle bar again");
        assert_eq!(changed.len(), appended, "an unchanged bar adds nothing");
        let mut revised = Vec::new();
        assert!(state.apply_if_changed(&bar(10, 21.0), &mut revised), "revised");
        // SMA(20) from the first complete window on depends on the revised close.
        assert!(
            revised
                .iter()
                .any(|(date, value)| date.day() == 21 && matches!(value, IndicatorValue::Sma { .. }))
        );
        assert!(state.is_unchanged(&bar(10, 21.0)));
    }

    #[tokio::test]
    async fn a_preloaded_series_continues_from_its_stored_bars_and_a_later_preload_is_ignored() {
        let mut tickers = Tickers::new(&IndicatorParams::default(), Adjustment::default());
        tickers.preload(stored(vec![bar(2, 10.0), bar(3, 11.0)]));
        // Stale by now: this run already knows the series.
        tickers.preload(stored(vec![bar(2, 99.0)]));
        let state = tickers.get("ABC", Timeframe::Day, None).await.expect("no read needed");
        assert!(state.is_unchanged(&bar(2, 10.0)));
        assert!(state.is_unchanged(&bar(3, 11.0)));
        assert!(!state.is_unchanged(&bar(2, 99.0)));
        assert!(!state.is_unchanged(&bar(4, 12.0)));
    }
}
