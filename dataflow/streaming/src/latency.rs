//! Bar published → prediction written: the Kafka timestamps of the bars this process read,
//! kept by ticker and date until their epoch is written, so the worker that writes a bar's
//! prediction (the worker of its model scope, not necessarily the one that read the bar) can
//! observe the latency when Cassandra and Kafka acknowledge it.
//!
//! Only bars read by this process are known here: with one process every prediction made in
//! its bar's epoch is observed; with several, those whose bar this process read.

use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Kafka timestamps (ms since the epoch) of the bars of the epochs not yet written, by
/// (ticker, date), with the epoch that read them.
#[derive(Debug, Default)]
pub struct PublishTimes {
    bars: Mutex<HashMap<(String, NaiveDate), (u64, i64)>>,
}

impl PublishTimes {
    /// Remembers the bars of `epoch` (a corrected bar replaces the earlier one).
    pub fn record(&self, epoch: u64, bars: &[(String, NaiveDate, i64)]) {
        if bars.is_empty() {
            return;
        }
        let mut known = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        for (ticker, date, published_ms) in bars {
            known.insert((ticker.clone(), *date), (epoch, *published_ms));
        }
    }

    /// Takes the publish times of the bars of `rows` (ticker, date); rows whose bar this
    /// process did not read, or read in an epoch already written, yield nothing.
    pub fn take<'a>(&self, rows: impl IntoIterator<Item = (&'a str, NaiveDate)>) -> Vec<i64> {
        let mut known = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        rows.into_iter()
            .filter_map(|(ticker, date)| known.remove(&(ticker.to_owned(), date)).map(|(_, ms)| ms))
            .collect()
    }

    /// Forgets the bars of epochs up to `epoch`: every worker has written them, so their
    /// predictions, if any, were made.
    pub fn forget_through(&self, epoch: u64) {
        let mut known = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        known.retain(|_, (read_in, _)| *read_in > epoch);
    }
}

#[cfg(test)]
mod tests {
    use crate::PublishTimes;
    use chrono::NaiveDate;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, d).expect("a date")
    }

    #[test]
    fn a_bar_s_publish_time_is_taken_once_and_forgotten_after_its_epoch() {
        let times = PublishTimes::default();
        times.record(2, &[("NVDA".into(), day(2), 1_000), ("ORCL".into(), day(2), 1_100)]);
        times.record(3, &[("NVDA".into(), day(3), 2_000)]);
        // A correction of NVDA's 2 January bar in epoch 3: the newer publish time counts.
        times.record(3, &[("NVDA".into(), day(2), 1_500)]);
        assert_eq!(times.take([("NVDA", day(2)), ("AAPL", day(2))]), vec![1_500]);
        assert_eq!(times.take([("NVDA", day(2))]), Vec::<i64>::new(), "taken twice");
        times.forget_through(2);
        assert_eq!(times.take([("ORCL", day(2))]), Vec::<i64>::new(), "epoch 2 is written");
        assert_eq!(times.take([("NVDA", day(3))]), vec![2_000]);
    }
}
