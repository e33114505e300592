//! `pricestream-analytics query`: the mart's rows, now or as they were known at an instant, and
//! the warehouse's bars, indicator values and corporate actions, as Parquet, CSV or JSON lines,
//! for one ticker, a list, or the whole universe.
//!
//! A list of tickers is read a few series at a time; `--all` splits the token ring into
//! pieces and reads a few pieces at a time, so no query is a full-table scan a node serves
//! alone. `--as-of` reads the history tables and keeps, per row, the newest version known then.

mod as_of;
mod output;
mod select;
mod table;
mod warehouse;

pub use output::Format;
pub use select::parse_instant;

use crate::cli::{QueryArgs, QueryWhat};
use crate::config::AnalyticsConfig;
use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use output::Output;
use pricestream_cassandra::CassandraError;
use pricestream_cassandra::{
    FeatureHistoryTable, MartReader, PredictionReader, StoredPrediction, WarehouseReader, connect,
    create_dwh_schema, create_mart_schema, token_ranges,
};
use pricestream_records::Timeframe;
use pricestream_runtime::fault::{Outages, Patience, wait_out_for};
use select::{Selection, Universe};
use std::sync::Arc;
use table::{Batch, FeatureOut, feature_batch, prediction_batch};

/// Series, or pieces of the token ring, read at once.
const PARALLEL_READS: usize = 4;
/// Pieces of the token ring a scan of the whole universe is split into: about 10,000 rows each
/// for 500 tickers of 20 years, so each read ends well within Cassandra's range timeout.
const RING_PIECES: usize = 256;
/// Tries of one read: a read that times out (a node busy compacting) is tried again.
const READ_ATTEMPTS: u32 = 8;

/// Runs the query of `args`.
pub fn run(config: &AnalyticsConfig, args: &QueryArgs) -> anyhow::Result<()> {
    let selection =
        Selection::of(args).map_err(|problems| anyhow::anyhow!("the query is not valid:\n{problems}"))?;
    let format = args.format.or_else(|| args.out.as_deref().and_then(Format::of_path)).unwrap_or(Format::Csv);
    let mut output = Output::open(args.out.as_ref(), format)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let empty = runtime.block_on(async {
        let session = Arc::new(connect(&config.cassandra).await?);
        create_mart_schema(&session, &config.cassandra).await?;
        let keyspace = &config.cassandra.mart_keyspace;
        let source = match args.what {
            QueryWhat::Features | QueryWhat::TrainingSet => Source::Features {
                mart: MartReader::prepare(Arc::clone(&session), keyspace).await?,
                history: FeatureHistoryTable::prepare(session, keyspace, PARALLEL_READS).await?,
            },
            QueryWhat::Predictions => {
                Source::Predictions(PredictionReader::prepare(session, keyspace).await?)
            }
            what @ (QueryWhat::Bars | QueryWhat::Indicators | QueryWhat::Actions) => {
                create_dwh_schema(&session, &config.cassandra).await?;
                let reader = WarehouseReader::prepare(session, &config.cassandra.dwh_keyspace).await?;
                Source::Warehouse(reader, what)
            }
        };
        let reader = Reader { source, selection: &selection, outages: Outages::default() };
        let progress = |steps: usize, what: &str| {
            let bar = ProgressBar::new(steps as u64);
            let style = format!("{{bar:40}} {{pos}}/{{len}} {what}, {{msg}} rows, {{elapsed}} (eta {{eta}})");
            bar.set_style(
                ProgressStyle::with_template(&style).unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        };
        let mut write = |batch: Batch, bar: &ProgressBar| -> anyhow::Result<()> {
            output.write(batch)?;
            bar.inc(1);
            bar.set_message(output.rows().to_string());
            Ok(())
        };
        match &selection.universe {
            Universe::Tickers(tickers) => {
                let years = reader.history_partitions().await?;
                let bar = progress(tickers.len(), "tickers");
                let mut read = stream::iter(tickers)
                    .map(|ticker| reader.series(ticker, &years))
                    .buffered(PARALLEL_READS);
                while let Some(batch) = read.try_next().await? {
                    write(batch, &bar)?;
                }
                bar.finish_and_clear();
            }
            Universe::All => {
                let pieces = token_ranges(RING_PIECES);
                let bar = progress(pieces.len(), "pieces of the token ring");
                let mut read =
                    stream::iter(pieces).map(|tokens| reader.tokens(tokens)).buffered(PARALLEL_READS);
                while let Some(batch) = read.try_next().await? {
                    write(batch, &bar)?;
                }
                bar.finish_and_clear();
            }
        }
        anyhow::Ok(reader.batch_of_none())
    })?;
    let target = args.out.as_ref().map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    let rows = output.finish(empty)?;
    eprintln!("Wrote {rows} row(s) to {target}.");
    Ok(())
}

/// Where the rows come from (one per query: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Source {
    /// The mart and its history.
    Features { mart: MartReader, history: FeatureHistoryTable },
    /// The forecasts and their history.
    Predictions(PredictionReader),
    /// The warehouse's bars, indicator values or corporate actions.
    Warehouse(WarehouseReader, QueryWhat),
}

/// Reads selected rows, current or as of an instant, as batches.
struct Reader<'a> {
    source: Source,
    selection: &'a Selection,
    /// Failed reads being tried again.
    outages: Outages,
}

impl Reader<'_> {
    /// `read`, tried again when it fails for a reason that passes (a timeout, a node down).
    async fn retry<T, Fut>(&self, what: &str, read: impl FnMut() -> Fut) -> Result<T, CassandraError>
    where
        Fut: std::future::Future<Output = Result<T, CassandraError>>,
    {
        wait_out_for(&self.outages, what, Patience::Attempts(READ_ATTEMPTS), read).await
    }

    /// The versions `read` gives for each of `years`, a few years at a time, in their order.
    async fn each_year<R, Fut>(
        &self,
        years: &[i32],
        read: impl Fn(i32) -> Fut,
    ) -> Result<Vec<R>, CassandraError>
    where
        Fut: std::future::Future<Output = Result<Vec<R>, CassandraError>>,
    {
        let read = &read;
        stream::iter(years.iter().copied())
            .map(|year| self.retry("read history", move || read(year)))
            .buffered(PARALLEL_READS)
            .try_concat()
            .await
    }

    /// The (ticker, timeframe, year) partitions of the history, for `--as-of` reads of tickers.
    async fn history_partitions(&self) -> anyhow::Result<Vec<(String, Timeframe, i32)>> {
        if self.selection.as_of.is_none() {
            return Ok(Vec::new());
        }
        Ok(match &self.source {
            Source::Features { history, .. } => self.retry("read history", || history.partitions()).await?,
            Source::Predictions(reader) => self.retry("read history", || reader.history_partitions()).await?,
            Source::Warehouse(..) => Vec::new(),
        })
    }

    /// The selected rows of `ticker` (its daily series), in date order; `years` lists the
    /// history's partitions for `--as-of`.
    async fn series(&self, ticker: &str, years: &[(String, Timeframe, i32)]) -> anyhow::Result<Batch> {
        let timeframe = Timeframe::Day;
        let mine: Vec<i32> = years
            .iter()
            .filter(|(t, f, year)| t == ticker && *f == timeframe && self.selection.spans(*year))
            .map(|(_, _, year)| *year)
            .collect();
        Ok(match (&self.source, self.selection.as_of) {
            (Source::Features { mart, .. }, None) => self
                .features(self.retry("read features", || mart.read_series(ticker, timeframe)).await?, None),
            (Source::Features { history, .. }, Some(at)) => {
                let versions =
                    self.each_year(&mine, |year| history.read_year(ticker, timeframe, year)).await?;
                self.features_known(as_of::known_at(versions, at))
            }
            (Source::Predictions(reader), None) => self
                .predictions(self.retry("read predictions", || reader.read_series(ticker, timeframe)).await?),
            (Source::Predictions(reader), Some(at)) => {
                let versions =
                    self.each_year(&mine, |year| reader.history_year(ticker, timeframe, year)).await?;
                self.predictions_known(as_of::known_at(versions, at))
            }
            (Source::Warehouse(reader, what), _) => match what {
                QueryWhat::Bars => {
                    self.bars(self.retry("read bars", || reader.bars(ticker, timeframe)).await?)
                }
                QueryWhat::Indicators => self.indicators(
                    self.retry("read indicators", || reader.indicators(ticker, timeframe)).await?,
                ),
                _ => self.actions(self.retry("read actions", || reader.actions(ticker)).await?),
            },
        })
    }

    /// The selected rows of the partitions whose token is in `tokens`.
    async fn tokens(&self, tokens: (i64, i64)) -> anyhow::Result<Batch> {
        Ok(match (&self.source, self.selection.as_of) {
            (Source::Features { mart, .. }, None) => {
                self.features(self.retry("read features", || mart.read_tokens(tokens)).await?, None)
            }
            (Source::Features { history, .. }, Some(at)) => {
                let versions = self.retry("read history", || history.read_tokens(tokens)).await?;
                self.features_known(as_of::known_at(versions, at))
            }
            (Source::Predictions(reader), None) => {
                self.predictions(self.retry("read predictions", || reader.read_tokens(tokens)).await?)
            }
            (Source::Predictions(reader), Some(at)) => {
                let versions = self.retry("read history", || reader.history_tokens(tokens)).await?;
                self.predictions_known(as_of::known_at(versions, at))
            }
            (Source::Warehouse(reader, what), _) => match what {
                QueryWhat::Bars => self.bars(self.retry("read bars", || reader.bars_in(tokens)).await?),
                QueryWhat::Indicators => {
                    self.indicators(self.retry("read indicators", || reader.indicators_in(tokens)).await?)
                }
                _ => self.actions(self.retry("read actions", || reader.actions_in(tokens)).await?),
            },
        })
    }

    /// No row, with the columns of the query.
    fn batch_of_none(&self) -> Batch {
        let known = self.selection.as_of.is_some();
        match self.source {
            Source::Features { .. } => feature_batch(&[], known),
            Source::Predictions(_) => prediction_batch(&[], known),
            Source::Warehouse(_, QueryWhat::Bars) => warehouse::bar_batch(&[]),
            Source::Warehouse(_, QueryWhat::Indicators) => warehouse::indicator_batch(&[]),
            Source::Warehouse(..) => warehouse::action_batch(&[]),
        }
    }

    fn bars(&self, mut bars: Vec<pricestream_records::Bar>) -> Batch {
        bars.retain(|bar| self.selection.keeps(bar.datetime, true));
        warehouse::bar_batch(&bars)
    }

    fn indicators(&self, mut values: Vec<pricestream_cassandra::StoredIndicator>) -> Batch {
        values.retain(|value| self.selection.keeps(value.date, true));
        warehouse::indicator_batch(&values)
    }

    fn actions(&self, mut actions: Vec<pricestream_records::CorporateAction>) -> Batch {
        actions.retain(|action| self.selection.keeps(action.ex_date, true));
        warehouse::action_batch(&actions)
    }

    fn features(&self, rows: Vec<pricestream_records::FeatureRow>, at: Option<DateTime<Utc>>) -> Batch {
        let mut rows: Vec<FeatureOut> =
            rows.into_iter().map(|row| FeatureOut { row, known_from: at }).collect();
        rows.retain(|out| self.selection.keeps(out.row.date_time, out.row.label.is_some()));
        feature_batch(&rows, self.selection.as_of.is_some())
    }

    fn features_known(&self, rows: Vec<(pricestream_records::FeatureRow, DateTime<Utc>)>) -> Batch {
        let mut rows: Vec<FeatureOut> = rows
            .into_iter()
            .map(|(row, known_from)| FeatureOut { row, known_from: Some(known_from) })
            .collect();
        rows.retain(|out| self.selection.keeps(out.row.date_time, out.row.label.is_some()));
        feature_batch(&rows, true)
    }

    fn predictions(&self, rows: Vec<StoredPrediction>) -> Batch {
        let mut rows: Vec<(StoredPrediction, Option<DateTime<Utc>>)> =
            rows.into_iter().map(|p| (p, None)).collect();
        rows.retain(|(p, _)| self.selection.keeps(p.as_of, true));
        prediction_batch(&rows, false)
    }

    fn predictions_known(&self, rows: Vec<(StoredPrediction, DateTime<Utc>)>) -> Batch {
        let mut rows: Vec<(StoredPrediction, Option<DateTime<Utc>>)> =
            rows.into_iter().map(|(p, known_from)| (p, Some(known_from))).collect();
        rows.retain(|(p, _)| self.selection.keeps(p.as_of, true));
        prediction_batch(&rows, true)
    }
}
