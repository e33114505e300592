//! `pricestream-analytics query`: the mart's rows, now or as they were known at an instant, as
//! Parquet, CSV or JSON lines, for one ticker, a list, or the whole universe.
//!
//! A list of tickers is read a few series at a time; `--all` splits the token ring into
//! pieces and reads a few pieces at a time, so no query is a full-table scan a node serves
//! alone. `--as-of` reads the history tables and keeps, per row, the newest version known then.

mod as_of;
mod output;
mod select;
mod table;

pub use output::Format;
pub use select::parse_instant;

use crate::cli::QueryArgs;
use crate::config::AnalyticsConfig;
use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use output::Output;
use pricestream_cassandra::{FeatureHistoryTable, MartReader, connect, create_mart_schema, token_ranges};
use pricestream_records::Timeframe;
use select::{Selection, Universe};
use std::sync::Arc;
use table::{FeatureOut, feature_batch};

/// Series, or pieces of the token ring, read at once.
const PARALLEL_READS: usize = 8;
/// Pieces of the token ring a scan of the whole universe is split into.
const RING_PIECES: usize = 64;

/// Runs the query of `args`.
pub fn run(config: &AnalyticsConfig, args: &QueryArgs) -> anyhow::Result<()> {
    let selection =
        Selection::of(args).map_err(|problems| anyhow::anyhow!("the query is not valid:\n{problems}"))?;
    let format = args.format.or_else(|| args.out.as_deref().and_then(Format::of_path)).unwrap_or(Format::Csv);
    let mut output = Output::open(args.out.as_ref(), format)?;
    let known = selection.as_of.is_some();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async {
        let session = Arc::new(connect(&config.cassandra).await?);
        create_mart_schema(&session, &config.cassandra).await?;
        let keyspace = &config.cassandra.mart_keyspace;
        let mart = MartReader::prepare(Arc::clone(&session), keyspace).await?;
        let history = FeatureHistoryTable::prepare(session, keyspace, PARALLEL_READS).await?;
        let reader = Reader { mart, history, selection: &selection };
        let progress = |steps: usize, what: &str| {
            let bar = ProgressBar::new(steps as u64);
            let style = format!("{{bar:40}} {{pos}}/{{len}} {what}, {{msg}} rows, {{elapsed}} (eta {{eta}})");
            bar.set_style(
                ProgressStyle::with_template(&style).unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        };
        let mut write = |rows: Vec<FeatureOut>, bar: &ProgressBar| -> anyhow::Result<()> {
            output.write(feature_batch(&rows, known))?;
            bar.inc(1);
            bar.set_message(output.rows().to_string());
            Ok(())
        };
        match &selection.universe {
            Universe::Tickers(tickers) => {
                let years = match known {
                    true => reader.history.partitions().await?,
                    false => Vec::new(),
                };
                let bar = progress(tickers.len(), "tickers");
                let mut read = stream::iter(tickers)
                    .map(|ticker| reader.series(ticker, &years))
                    .buffered(PARALLEL_READS);
                while let Some(rows) = read.try_next().await? {
                    write(rows, &bar)?;
                }
                bar.finish_and_clear();
            }
            Universe::All => {
                let pieces = token_ranges(RING_PIECES);
                let bar = progress(pieces.len(), "pieces of the token ring");
                let mut read =
                    stream::iter(pieces).map(|tokens| reader.tokens(tokens)).buffered(PARALLEL_READS);
                while let Some(rows) = read.next().await {
                    write(rows?, &bar)?;
                }
                bar.finish_and_clear();
            }
        }
        anyhow::Ok(())
    })?;
    let target = args.out.as_ref().map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    let rows = output.finish(feature_batch(&[], known))?;
    eprintln!("Wrote {rows} row(s) to {target}.");
    Ok(())
}

/// Reads selected rows, current or as of an instant.
struct Reader<'a> {
    mart: MartReader,
    history: FeatureHistoryTable,
    selection: &'a Selection,
}

impl Reader<'_> {
    /// The selected rows of `ticker` (its daily series), in date order; `years` lists the
    /// history's partitions for `--as-of`.
    async fn series(
        &self,
        ticker: &str,
        years: &[(String, Timeframe, i32)],
    ) -> anyhow::Result<Vec<FeatureOut>> {
        let timeframe = Timeframe::Day;
        let rows = match self.selection.as_of {
            None => {
                let rows = self.mart.read_series(ticker, timeframe).await?;
                rows.into_iter().map(|row| FeatureOut { row, known_from: None }).collect()
            }
            Some(at) => {
                let mine = years
                    .iter()
                    .filter(|(t, f, year)| t == ticker && *f == timeframe && self.selection.spans(*year));
                let versions: Vec<_> = stream::iter(mine)
                    .map(|(_, _, year)| self.history.read_year(ticker, timeframe, *year))
                    .buffered(PARALLEL_READS)
                    .try_concat()
                    .await?;
                as_of::known_at(versions, at)
            }
        };
        Ok(self.keep(rows))
    }

    /// The selected rows of the partitions whose token is in `tokens`.
    async fn tokens(&self, tokens: (i64, i64)) -> anyhow::Result<Vec<FeatureOut>> {
        let rows = match self.selection.as_of {
            None => {
                let rows = self.mart.read_tokens(tokens).await?;
                rows.into_iter().map(|row| FeatureOut { row, known_from: None }).collect()
            }
            Some(at) => as_of::known_at(self.history.read_tokens(tokens).await?, at),
        };
        Ok(self.keep(rows))
    }

    fn keep(&self, mut rows: Vec<FeatureOut>) -> Vec<FeatureOut> {
        rows.retain(|out| self.selection.keeps(out.row.date_time, out.row.label.is_some()));
        rows
    }
}
