//! One ticker's bars by date, with corrections and out-of-order bars.

use super::params::IndicatorParams;
use super::set::IndicatorSet;
use chrono::NaiveDate;
use pricestream_records::{Bar, IndicatorValue};
use std::mem::discriminant;

/// The indicator state is checkpointed after every this many bars.
const CHECKPOINT_EVERY: usize = 256;

/// High, low and close of one stored bar: all the indicators read.
type Hlc = [f64; 3];

/// One ticker's bars ordered by date, the indicator state after the last one, and checkpoints of
/// that state every 256 bars.
///
/// What was last emitted for each date is not stored: because [`Self::apply`] always returns every
/// value that changed, the last emitted value for a date is by construction the value computed from
/// the stored bars, so a correction recomputes the old values from a checkpoint instead of keeping
/// them. Memory is 28 bytes per bar plus one [`IndicatorSet`] (about 1 KB with the default periods)
/// per 256 bars: about 320 KB for 10,000 bars.
#[derive(Clone, Debug)]
pub struct TickerSeries {
    fresh: IndicatorSet,
    dates: Vec<NaiveDate>,
    prices: Vec<Hlc>,
    /// `checkpoints[k]` is the state after the first `(k + 1) * CHECKPOINT_EVERY` bars.
    checkpoints: Vec<IndicatorSet>,
    /// The state after all the bars.
    tail: IndicatorSet,
}

/// How a bar changes the stored series.
#[derive(Clone, Copy)]
enum Change<'a> {
    /// The bar at this position had these prices before.
    Replaced(Hlc),
    /// The bar is new at this position; later bars moved up one.
    Inserted,
    /// Every bar's prices before (`None`: new), by position in the series now.
    Restated(&'a [Option<Hlc>]),
}

impl TickerSeries {
    /// An empty series computing the indicators with `params` (validate them first).
    pub fn new(params: &IndicatorParams) -> Self {
        let fresh = IndicatorSet::new(params);
        Self { tail: fresh.clone(), fresh, dates: Vec::new(), prices: Vec::new(), checkpoints: Vec::new() }
    }

    /// Inserts or replaces the bar for its date. Returns every `(date, value)` that is new or changed
    /// because of it, in date order.
    ///
    /// - Append (a date after every stored one): the values at that date, O(1).
    /// - Correction or out-of-order insert: the tail from that date on is recomputed (EMA, RSI and
    ///   MACD are recursive, so every later value can move), starting from the last checkpoint at or
    ///   before the date, and only the values that differ from before are returned: a value at or
    ///   after the first bar whose prices differ, or that just came out of its lookback. Cost:
    ///   O(bars from the checkpoint to the end).
    /// - A re-sent bar with the same high, low and close (bit for bit) returns nothing.
    ///
    /// Only high, low and close matter: a correction of the open or the volume returns nothing.
    pub fn apply(&mut self, bar: &Bar) -> Vec<(NaiveDate, IndicatorValue)> {
        let mut changed = Vec::new();
        self.apply_into(bar, &mut changed);
        changed
    }

    /// [`TickerSeries::apply`], appending to `out` instead of returning a new vector: an append
    /// then allocates nothing, where a backfill would otherwise allocate twice per bar.
    pub fn apply_into(&mut self, bar: &Bar, out: &mut Vec<(NaiveDate, IndicatorValue)>) {
        self.apply_at(bar, self.position(bar.datetime), out);
    }

    /// [`TickerSeries::apply_into`] with the bar's [`TickerSeries::position`] already known
    /// (and the series not changed since).
    #[inline]
    pub fn apply_at(
        &mut self,
        bar: &Bar,
        position: Result<usize, usize>,
        out: &mut Vec<(NaiveDate, IndicatorValue)>,
    ) {
        let prices = [bar.high, bar.low, bar.close];
        match position {
            Ok(at) => {
                let before = self.prices[at];
                if before.map(f64::to_bits) == prices.map(f64::to_bits) {
                    return;
                }
                self.prices[at] = prices;
                out.extend(self.recompute_from(at, Change::Replaced(before)));
            }
            Err(at) if at == self.dates.len() => self.append(bar.datetime, prices, out),
            Err(at) => {
                self.dates.insert(at, bar.datetime);
                self.prices.insert(at, prices);
                out.extend(self.recompute_from(at, Change::Inserted));
            }
        }
    }

    /// Replaces the whole series with `dates` (ascending: every stored date, and any new ones)
    /// and their high, low and close, and appends every `(date, value)` that is new or changed
    /// to `out`, in date order: what a corporate action does to adjusted prices. Cost: O(bars
    /// from the checkpoint before the first changed bar to the end), whatever number changed.
    pub fn restate(
        &mut self,
        dates: Vec<NaiveDate>,
        prices: Vec<[f64; 3]>,
        out: &mut Vec<(NaiveDate, IndicatorValue)>,
    ) {
        debug_assert_eq!(dates.len(), prices.len());
        let mut stored = self.dates.iter().zip(&self.prices).peekable();
        let before: Vec<Option<Hlc>> = dates
            .iter()
            .map(|date| {
                debug_assert!(stored.peek().is_none_or(|(d, _)| *d >= date), "a stored date is left out");
                stored.next_if(|(d, _)| *d == date).map(|(_, hlc)| *hlc)
            })
            .collect();
        let same = |old: &Option<Hlc>, new: &Hlc| {
            old.is_some_and(|old| old.map(f64::to_bits) == new.map(f64::to_bits))
        };
        let first = before.iter().zip(&prices).position(|(old, new)| !same(old, new));
        self.dates = dates;
        self.prices = prices;
        if let Some(first) = first {
            out.extend(self.recompute_from(first, Change::Restated(&before)));
        }
    }

    /// Makes room for `additional` more bars at once (a file's worth, say): grown one bar at a
    /// time, the history was copied again at each doubling, into freshly faulted pages.
    pub fn reserve(&mut self, additional: usize) {
        self.dates.reserve(additional);
        self.prices.reserve(additional);
        self.checkpoints.reserve(additional / CHECKPOINT_EVERY + 1);
    }

    /// Where the bar of `date` is stored (`Ok`), or would be inserted (`Err`): what
    /// [`slice::binary_search`] returns over the stored dates.
    #[inline]
    pub fn position(&self, date: NaiveDate) -> Result<usize, usize> {
        // Bars mostly come in date order: check the end before searching.
        match self.dates.last() {
            Some(&last) if last < date => Err(self.dates.len()),
            _ => self.dates.binary_search(&date),
        }
    }

    /// The dates of the stored bars, ascending.
    pub fn dates(&self) -> &[NaiveDate] {
        &self.dates
    }

    /// The high, low and close of each stored bar, in date order.
    pub fn prices(&self) -> &[[f64; 3]] {
        &self.prices
    }

    /// Number of bars stored.
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// True when no bar is stored.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// Every value of every date, recomputed from scratch (O(len); for snapshots and tests).
    pub fn values(&self) -> Vec<(NaiveDate, IndicatorValue)> {
        let mut state = self.fresh.clone();
        let mut out = Vec::with_capacity(self.len() * 7);
        let mut at_bar = Vec::with_capacity(7);
        for (&date, &[high, low, close]) in self.dates.iter().zip(&self.prices) {
            at_bar.clear();
            state.update_into(high, low, close, &mut at_bar);
            out.extend(at_bar.drain(..).map(|value| (date, value)));
        }
        out
    }

    fn append(
        &mut self,
        date: NaiveDate,
        [high, low, close]: Hlc,
        out: &mut Vec<(NaiveDate, IndicatorValue)>,
    ) {
        self.dates.push(date);
        self.prices.push([high, low, close]);
        self.tail.update_with(high, low, close, |value| out.push((date, value)));
        if self.prices.len().is_multiple_of(CHECKPOINT_EVERY) {
            self.checkpoints.push(self.tail.clone());
        }
    }

    /// Replays the bars from the checkpoint at or before `at` twice in lockstep, as they were and as
    /// they are now (the vectors already hold the new bars), and returns the values that differ.
    fn recompute_from(&mut self, at: usize, change: Change) -> Vec<(NaiveDate, IndicatorValue)> {
        let valid = at / CHECKPOINT_EVERY;
        self.checkpoints.truncate(valid);
        let mut state = self.checkpoints.last().unwrap_or(&self.fresh).clone();
        let mut now = Vec::with_capacity(7);
        let mut before = Vec::with_capacity(7);
        // Bars before `at` are the same in both versions: replay them once.
        for &[high, low, close] in &self.prices[valid * CHECKPOINT_EVERY..at] {
            now.clear();
            state.update_into(high, low, close, &mut now);
        }
        let mut old = state.clone();
        let mut changed = Vec::new();
        for i in at..self.prices.len() {
            let [high, low, close] = self.prices[i];
            now.clear();
            state.update_into(high, low, close, &mut now);
            before.clear();
            let old_prices = match change {
                Change::Replaced(previous) if i == at => Some(previous),
                Change::Inserted if i == at => None,
                Change::Restated(before) => before[i],
                _ => Some(self.prices[i]),
            };
            if let Some([high, low, close]) = old_prices {
                old.update_into(high, low, close, &mut before);
            }
            let date = self.dates[i];
            for value in now.drain(..) {
                let same_kind = before.iter().find(|b| discriminant(*b) == discriminant(&value));
                if same_kind != Some(&value) {
                    changed.push((date, value));
                }
            }
            if (i + 1).is_multiple_of(CHECKPOINT_EVERY) {
                self.checkpoints.push(state.clone());
            }
        }
        self.tail = state;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_bars;
    use pricestream_records::Timeframe;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeMap;

    type Key = (NaiveDate, String);

    fn key(date: NaiveDate, value: &IndicatorValue) -> Key {
        (date, format!("{:?}", discriminant(value)))
    }

    fn bar(date: NaiveDate, high: f64, low: f64, close: f64) -> Bar {
        Bar {
            ticker: "T".into(),
            timeframe: Timeframe::Day,
            datetime: date,
            open: close,
            high,
            low,
            close,
            volume: 1,
            task_number: uuid::Uuid::nil(),
            adjustment_factor: 1.0,
            source: None,
        }
    }

    fn day(i: usize) -> NaiveDate {
        let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        start + chrono::Days::new(i as u64)
    }

    /// Applies the changes to the view of what a consumer has seen, checking each one is real.
    fn absorb(seen: &mut BTreeMap<Key, IndicatorValue>, changes: Vec<(NaiveDate, IndicatorValue)>) {
        for (date, value) in changes {
            let previous = seen.insert(key(date, &value), value.clone());
            assert_ne!(previous, Some(value), "re-emitted an unchanged value at {date}");
        }
    }

    fn truth(series: &TickerSeries) -> BTreeMap<Key, IndicatorValue> {
        series.values().into_iter().map(|(d, v)| (key(d, &v), v)).collect()
    }

    #[test]
    fn random_inserts_and_corrections_match_a_recomputation() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let bars = random_bars(10, 700, 300.0);
        let mut order: Vec<usize> = (0..bars.len()).collect();
        // Mostly in order, with a shuffled stretch and some late arrivals.
        order[100..160].shuffle(&mut rng);
        for _ in 0..30 {
            let from = rng.random_range(0..order.len());
            let to = (from + rng.random_range(1..40)).min(order.len() - 1);
            order.swap(from, to);
        }
        let params = IndicatorParams { macd_signal_period: 4, ..IndicatorParams::default() };
        let mut series = TickerSeries::new(&params);
        let mut seen = BTreeMap::new();
        for (step, &i) in order.iter().enumerate() {
            let b = bars[i];
            absorb(&mut seen, series.apply(&bar(day(i), b.high, b.low, b.close)));
            if step % 7 == 0 {
                // A correction of an already stored bar, and a re-send that changes nothing.
                let j = order[rng.random_range(0..=step)];
                let c = bars[j];
                let close = c.close * 1.01;
                absorb(&mut seen, series.apply(&bar(day(j), c.high.max(close), c.low, close)));
                assert!(series.apply(&bar(day(j), c.high.max(close), c.low, close)).is_empty());
            }
            if step % 50 == 0 || step + 1 == order.len() {
                assert_eq!(seen, truth(&series), "after step {step}");
            }
        }
        assert_eq!(series.len(), bars.len());
    }

    #[test]
    fn a_restatement_returns_exactly_the_values_that_differ_from_before() {
        let bars = random_bars(13, 800, 80.0);
        let mut series = TickerSeries::new(&IndicatorParams::default());
        // Every third bar is left out, to arrive with the restatement.
        for (i, b) in bars.iter().enumerate().filter(|(i, _)| i % 3 != 1 || *i < 500) {
            series.apply(&bar(day(i), b.high, b.low, b.close));
        }
        let mut seen = truth(&series);
        // A 2-for-1 split before bar 400: earlier prices halved, and the late bars inserted.
        let scale = |i: usize| if i < 400 { 0.5 } else { 1.0 };
        let dates: Vec<NaiveDate> = (0..bars.len()).map(day).collect();
        let prices =
            bars.iter().enumerate().map(|(i, b)| [b.high, b.low, b.close].map(|p| p * scale(i))).collect();
        let mut changes = Vec::new();
        series.restate(dates, prices, &mut changes);
        assert!(changes.iter().any(|(d, _)| *d < day(400)));
        absorb(&mut seen, changes);
        let mut fresh = TickerSeries::new(&IndicatorParams::default());
        for (i, b) in bars.iter().enumerate() {
            fresh.apply(&bar(day(i), b.high * scale(i), b.low * scale(i), b.close * scale(i)));
        }
        assert_eq!(seen, truth(&fresh), "the same values, bit for bit, as a series built from scratch");
        // The same restatement again changes nothing.
        let (dates, prices) = (fresh.dates.clone(), fresh.prices.clone());
        let mut again = Vec::new();
        series.restate(dates, prices, &mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn a_correction_returns_only_what_changed() {
        let bars = random_bars(12, 900, 50.0);
        let mut series = TickerSeries::new(&IndicatorParams::default());
        for (i, b) in bars.iter().enumerate() {
            series.apply(&bar(day(i), b.high, b.low, b.close));
        }
        let before = truth(&series);
        let b = bars[600];
        let changes = series.apply(&bar(day(600), b.high * 1.5, b.low, b.close));
        let after = truth(&series);
        let expected: Vec<Key> =
            after.iter().filter(|(k, v)| before.get(k) != Some(v)).map(|(k, _)| k.clone()).collect();
        let mut got: Vec<Key> = changes.iter().map(|(d, v)| key(*d, v)).collect();
        got.sort();
        assert_eq!(got, expected);
        // Only STOCH and WILLR read the high: nothing else may move.
        assert!(
            changes
                .iter()
                .all(|(_, v)| matches!(v, IndicatorValue::Stoch { .. } | IndicatorValue::Willr { .. }))
        );
        assert!(changes.iter().all(|(d, _)| *d >= day(600)));
    }
}
