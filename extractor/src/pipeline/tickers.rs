//! Indicator state per ticker, rebuilt from the stored bars the first time a
//! ticker is seen, so a restart continues the series instead of starting over
//! and does not send again what is already stored.

use chrono::NaiveDate;
use pricestream_dataflow::cassandra::BarTable;
use pricestream_dataflow::indicators::{IndicatorParams, TickerSeries};
use pricestream_dataflow::records::{Bar, IndicatorValue, Timeframe};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use tracing::debug;

/// One ticker: its indicator series and a fingerprint of every stored bar.
pub struct Ticker {
    series: TickerSeries,
    /// `(date, fingerprint of open, high, low, close, volume)`, in date order.
    fingerprints: Vec<(NaiveDate, u64)>,
}

fn fingerprint(bar: &Bar) -> u64 {
    let mut hasher = DefaultHasher::new();
    [bar.open, bar.high, bar.low, bar.close].map(f64::to_bits).hash(&mut hasher);
    bar.volume.hash(&mut hasher);
    hasher.finish()
}

impl Ticker {
    fn new(params: &IndicatorParams) -> Self {
        Ticker { series: TickerSeries::new(params), fingerprints: Vec::new() }
    }

    /// True when this exact bar (same date and OHLCV) is already part of the series.
    pub fn is_unchanged(&self, bar: &Bar) -> bool {
        self.fingerprints
            .binary_search_by_key(&bar.datetime, |(date, _)| *date)
            .is_ok_and(|at| self.fingerprints[at].1 == fingerprint(bar))
    }

    /// Inserts or replaces the bar; returns every indicator value it makes new or changes.
    pub fn apply(&mut self, bar: &Bar) -> Vec<(NaiveDate, IndicatorValue)> {
        let print = fingerprint(bar);
        match self.fingerprints.binary_search_by_key(&bar.datetime, |(date, _)| *date) {
            Ok(at) => self.fingerprints[at].1 = print,
            Err(at) => self.fingerprints.insert(at, (bar.datetime, print)),
        }
        self.series.apply(bar)
    }
}

/// Every ticker seen in this run.
pub struct Tickers {
    params: IndicatorParams,
    /// By timeframe, then ticker: looked up with a borrowed `&str` on every bar.
    tickers: HashMap<Timeframe, HashMap<String, Ticker>>,
}

impl Tickers {
    /// No ticker seen yet.
    pub fn new(params: &IndicatorParams) -> Self {
        Tickers { params: params.clone(), tickers: HashMap::new() }
    }

    /// The state of `ticker`, loading what `history` already stores on first use.
    pub async fn get(
        &mut self,
        ticker: &str,
        timeframe: Timeframe,
        history: Option<&BarTable>,
    ) -> anyhow::Result<&mut Ticker> {
        let series = self.tickers.entry(timeframe).or_default();
        if !series.contains_key(ticker) {
            let mut state = Ticker::new(&self.params);
            if let Some(table) = history {
                let stored = table.read_series(ticker, timeframe).await?;
                debug!(ticker, bars = stored.len(), "Loaded stored bars.");
                for bar in &stored {
                    // Their indicator values were stored before them: nothing to send again.
                    state.apply(bar);
                }
            }
            series.insert(ticker.to_owned(), state);
        }
        series.get_mut(ticker).ok_or_else(|| anyhow::anyhow!("state of {ticker} vanished"))
    }
}
