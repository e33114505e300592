//! A backfill on every core. Bars are sharded by ticker over lanes, each lane a
//! [`Pipeline`] of its own (its tickers' indicator state, its batches) on a
//! thread of its own, all sending to the same sinks. A ticker always goes to the
//! same lane and in read order, so its series sees exactly the bars, in exactly
//! the order, that a single pipeline would.

use crate::feed::{ParsedFile, push_parsed};
use crate::{Pipeline, Summary};
use pricestream_records::Bar;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Parsed files waiting per lane; bounds the memory a fast reader can fill.
const QUEUE_PER_LANE: usize = 16;

/// What one lane gets of a file: the whole file's refused lines and counts (its
/// home lane), or only the bars of its tickers (every other lane).
struct Share {
    file: PathBuf,
    parsed: ParsedFile,
    home: bool,
}

/// The lanes of one run.
pub struct Lanes {
    senders: Vec<mpsc::Sender<Share>>,
    handles: Vec<JoinHandle<anyhow::Result<Summary>>>,
}

impl Lanes {
    /// Starts one lane per pipeline `make_pipeline` returns, `count` of them.
    pub fn start(count: usize, task_number: Uuid, mut make_pipeline: impl FnMut() -> Pipeline) -> Self {
        let (mut senders, mut handles) = (Vec::new(), Vec::new());
        for _ in 0..count.max(1) {
            let (sender, receiver) = mpsc::channel(QUEUE_PER_LANE);
            senders.push(sender);
            let (pipeline, runtime) = (make_pipeline(), tokio::runtime::Handle::current());
            // A thread of its own per lane, driving its pipeline with the run's runtime
            // (its I/O and timers): the lanes compute on every core, and their sink
            // futures need not be `Send`.
            handles.push(tokio::task::spawn_blocking(move || {
                runtime.block_on(run_lane(pipeline, receiver, task_number))
            }));
        }
        Lanes { senders, handles }
    }

    /// Hands a parsed file to the lanes: each ticker's bars to its lane, the refused
    /// lines and the file's count to the lane of its first ticker. Fails when a lane
    /// has stopped (its error comes from [`Lanes::finish`]).
    pub async fn send(&self, file: PathBuf, parsed: ParsedFile) -> anyhow::Result<()> {
        let lanes = self.senders.len();
        let home = parsed.bars.first().map_or(0, |bar| lane_of(&bar.ticker, lanes));
        if single_lane(&parsed, home, lanes) {
            // The usual file, one ticker: it goes whole, without copying its bars.
            let share = Share { file, parsed, home: true };
            return self.senders[home]
                .send(share)
                .await
                .map_err(|_| anyhow::anyhow!("a backfill lane stopped early"));
        }
        let mut parts: Vec<ParsedFile> = (0..lanes).map(|_| ParsedFile::default()).collect();
        let home_part = &mut parts[home];
        home_part.rejected = parsed.rejected;
        home_part.skipped = parsed.skipped;
        for series in parsed.stored {
            parts[lane_of(&series.ticker, lanes)].stored.push(series);
        }
        let mut bars = parsed.bars.into_iter().peekable();
        while let Some(first) = bars.next() {
            let lane = lane_of(&first.ticker, lanes);
            let part = &mut parts[lane].bars;
            let ticker = first.ticker.clone();
            part.push(first);
            while let Some(bar) = bars.next_if(|bar: &Bar| bar.ticker == ticker) {
                part.push(bar);
            }
        }
        for (lane, parsed) in parts.into_iter().enumerate() {
            if lane == home || !parsed.bars.is_empty() || !parsed.stored.is_empty() {
                let share = Share { file: file.clone(), parsed, home: lane == home };
                self.senders[lane]
                    .send(share)
                    .await
                    .map_err(|_| anyhow::anyhow!("a backfill lane stopped early"))?;
            }
        }
        Ok(())
    }

    /// Lets every lane drain its queue and finish; their summaries added up, or the
    /// first lane's error.
    pub async fn finish(self) -> anyhow::Result<Summary> {
        drop(self.senders);
        let mut total = Summary::default();
        let mut first_error = None;
        for handle in self.handles {
            match handle.await? {
                Ok(summary) => total.add(&summary),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(total), Err)
    }
}

/// True when every bar and stored series of `parsed` belongs to lane `home`. Bars are
/// sorted by ticker, so equal first and last tickers mean one ticker.
fn single_lane(parsed: &ParsedFile, home: usize, lanes: usize) -> bool {
    let one_ticker = match (parsed.bars.first(), parsed.bars.last()) {
        (Some(first), Some(last)) => first.ticker == last.ticker,
        _ => true,
    };
    one_ticker && parsed.stored.iter().all(|series| lane_of(&series.ticker, lanes) == home)
}

/// The lane that owns `ticker`: the same for every file of the run.
fn lane_of(ticker: &str, lanes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    ticker.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

async fn run_lane(
    mut pipeline: Pipeline,
    mut shares: mpsc::Receiver<Share>,
    task_number: Uuid,
) -> anyhow::Result<Summary> {
    while let Some(Share { file, parsed, home }) = shares.recv().await {
        if home {
            push_parsed(&mut pipeline, &file, parsed, task_number).await?;
        } else {
            pipeline.preload(parsed.stored);
            pipeline.push_bars(parsed.bars).await?;
        }
    }
    pipeline.finish().await?;
    Ok(pipeline.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticker_always_has_the_same_lane_and_every_lane_gets_tickers() {
        let tickers: Vec<String> = (0..200).map(|i| format!("T{i}")).collect();
        let lanes: Vec<usize> = tickers.iter().map(|t| lane_of(t, 3)).collect();
        let again: Vec<usize> = tickers.iter().map(|t| lane_of(t, 3)).collect();
        assert_eq!(lanes, again);
        for lane in 0..3 {
            assert!(lanes.iter().filter(|&&l| l == lane).count() > 40, "lane {lane}: {lanes:?}");
        }
        assert!(tickers.iter().all(|t| lane_of(t, 1) == 0));
    }
}
