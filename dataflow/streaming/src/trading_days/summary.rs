//! What a worker tells the frontier about the bars it wrote: each ticker's newest day (for the
//! universe) and every day on or after the next one to declare (for arrivals and late bars).
//! A backfill of twenty years then costs one entry per ticker, not one per bar.

use chrono::NaiveDate;
use pricestream_kafka::{Batch, Record};
use pricestream_records::Timeframe;
use std::collections::{BTreeSet, HashMap};

/// Daily bars gathered since the summary was last taken.
#[derive(Debug, Default)]
pub struct BarSummary {
    newest: HashMap<String, NaiveDate>,
    recent: BTreeSet<(String, NaiveDate)>,
}

impl BarSummary {
    /// Adds the daily bars of `batch`; days on or after `from` are kept each (all days before
    /// the frontier has started, when `from` is `None`, are summed up by each ticker's newest).
    pub fn add(&mut self, batch: &Batch, from: Option<NaiveDate>) {
        for (record, _) in &batch.records {
            let Record::Bar(bar) = record else { continue };
            if bar.timeframe != Timeframe::Day {
                continue;
            }
            let newest = self.newest.entry(bar.ticker.to_string()).or_insert(bar.datetime);
            *newest = (*newest).max(bar.datetime);
            if from.is_some_and(|from| bar.datetime >= from) {
                self.recent.insert((bar.ticker.to_string(), bar.datetime));
            }
        }
    }

    /// Whether nothing was added since the last take.
    pub fn is_empty(&self) -> bool {
        self.newest.is_empty()
    }

    /// The (ticker, day) pairs gathered, and a fresh start.
    pub fn take(&mut self) -> Vec<(String, NaiveDate)> {
        let mut pairs = std::mem::take(&mut self.recent);
        pairs.extend(self.newest.drain());
        pairs.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_kafka::Stamp;
    use pricestream_records::{Bar, examples};

    fn batch(bars: &[(&str, u32)]) -> Batch {
        let bar = |(ticker, day): &(&str, u32)| {
            let date = NaiveDate::from_ymd_opt(2025, 3, *day).unwrap_or_default();
            let bar: Bar = examples::flat_bar(ticker, date, 10.0);
            (Record::Bar(bar), Stamp { timestamp_ms: 0, offset: 0 })
        };
        Batch { records: bars.iter().map(bar).collect(), ..Batch::default() }
    }

    #[test]
    fn keeps_each_tickers_newest_day_and_every_day_from_the_frontier() {
        let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap_or_default();
        let mut summary = BarSummary::default();
        summary.add(&batch(&[("AAA", 3), ("AAA", 5), ("BBB", 4), ("AAA", 4)]), Some(day(4)));
        let mut pairs = summary.take();
        pairs.sort();
        let expected: Vec<(String, NaiveDate)> =
            [("AAA", 4), ("AAA", 5), ("BBB", 4)].iter().map(|(t, d)| (t.to_string(), day(*d))).collect();
        assert_eq!(pairs, expected);
        assert!(summary.is_empty());
        summary.add(&batch(&[("AAA", 3), ("AAA", 6)]), None);
        assert_eq!(summary.take(), [("AAA".to_string(), day(6))]);
    }
}
