//! `backfill`: read every file (or fetch every symbol) once, compute
//! indicators, publish and store everything, print a summary.

use crate::cli::BackfillArgs;
use crate::config::ExtractorConfig;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pricestream_ingest::feed::{ingest_actions_file, ingest_symbol, read_file};
use pricestream_ingest::metrics::Metrics;
use pricestream_ingest::{Lanes, Pipeline, ReadAhead, SinkPatience, Sinks, StoredSeries, Summary};
use pricestream_records::topics::Topics;
use pricestream_runtime::config::ProcessEnv;
use pricestream_runtime::fault::Outages;
use pricestream_sources::{TwelveDataClient, list_files};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tracing::{error, info};
use uuid::Uuid;

/// Runs a backfill of `args.source.input` or `args.source.symbols`. Its last log line says
/// how it ended (`Backfill finished.` with its counts, or `Backfill failed.` with the error):
/// what a scheduled Job leaves behind besides its exit code.
pub async fn run(config: &ExtractorConfig, args: &BackfillArgs) -> anyhow::Result<()> {
    let task_number = Uuid::new_v4();
    info!(%task_number, dry_run = args.dry_run, "Backfill started.");
    let result = backfill(config, args, task_number).await;
    if let Err(e) = &result {
        error!(%task_number, error = format!("{e:#}"), "Backfill failed.");
    }
    result
}

async fn backfill(config: &ExtractorConfig, args: &BackfillArgs, task_number: Uuid) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.source.input.is_none() || args.source.symbols.is_empty(),
        "give --input or --symbols, not both (a backfill reads one source)"
    );
    let started = Instant::now();
    // The API's basis only for its bars: actions alone restate series of the files' basis.
    let adjustment = config.adjustment(!args.source.symbols.is_empty());
    let metrics = Arc::new(Metrics::new()?);
    // A backfill retries a sink a bounded number of times, then fails saying how to resume.
    let patience = SinkPatience::Attempts(config.extract.sink_max_attempts);
    let outages = Arc::new(Outages::new(metrics.outages.clone()));
    let sinks = match args.dry_run {
        true => None,
        false => Some(Arc::new(
            Sinks::connect(config.sinks(adjustment), task_number, outages, patience, Arc::default()).await?,
        )),
    };
    let new_pipeline = || {
        let (batch_rows, metrics) = (config.extract.batch_max_rows, Arc::clone(&metrics));
        Pipeline::new(&config.indicators, adjustment, sinks.clone(), task_number, batch_rows, metrics)
            .with_quality(config.quality.clone())
    };

    let mut summary = Summary::default();
    if let Some(path) = &args.actions {
        let mut pipeline = new_pipeline();
        for file in action_files(path)? {
            ingest_actions_file(&mut pipeline, &file, task_number).await?;
        }
        pipeline.finish().await?;
        summary.add(&pipeline.summary);
    }
    let bars = match &args.source.input {
        Some(input) => {
            let stored = sinks.as_deref();
            backfill_files(config, args, input, task_number, &metrics, stored, new_pipeline).await?
        }
        // Only corporate actions: the series they restate are already stored.
        None if args.source.symbols.is_empty() => Summary::default(),
        None => {
            let client = TwelveDataClient::new(&config.twelve_data, &ProcessEnv)?;
            let mut pipeline = new_pipeline();
            let actions = config.twelve_data.corporate_actions;
            backfill_symbols(&client, args, actions, task_number, &mut pipeline).await?;
            pipeline.finish().await?;
            pipeline.summary
        }
    };
    summary.add(&bars);

    info!(
        %task_number,
        bars_read = summary.bars_read,
        bars_written = summary.bars_written,
        bars_unchanged = summary.bars_unchanged,
        rejected = summary.rejected_total(),
        corporate_actions = summary.actions_written,
        seconds = started.elapsed().as_secs_f64(),
        "Backfill finished."
    );
    let topics = Topics::with_prefix(&config.kafka.topic_prefix);
    let keyspace = &config.cassandra.dwh_keyspace;
    if args.dry_run {
        println!(
            "Dry run finished in {:.1?}: parsed, validated, computed and encoded; nothing sent.",
            started.elapsed()
        );
    } else {
        println!("Backfill finished in {:.1?} (task_number {task_number}).", started.elapsed());
        println!("  bars        -> Kafka {} and Cassandra {keyspace}.time_series_history", topics.bars);
        println!(
            "  indicators  -> Kafka {} and Cassandra {keyspace}.{{ema,sma,rsi,macd,stoch,bbands,willr}}",
            topics.indicators
        );
        if args.actions.is_some() {
            let table = format!("{keyspace}.corporate_actions");
            println!("  actions     -> Kafka {} and Cassandra {table}", topics.corporate_actions);
        }
        println!("  quality     -> Kafka {} and Cassandra {keyspace}.data_quality", topics.data_quality);
        println!("  rejects     -> Kafka {}", topics.dead_letter);
    }
    print!("{}", summary.report(started.elapsed()));
    Ok(())
}

/// The corporate-actions files at `path`: the file itself, or every file in the folder, in
/// name order.
fn action_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let read = |e| anyhow::anyhow!("cannot read the corporate-actions folder {}: {e}", path.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read)? {
        let entry = entry.map_err(read)?;
        if entry.file_type().map_err(read)?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no corporate-actions files in {}", path.display());
    Ok(files)
}

/// Stored series read at once while the lanes work on earlier files. A daily run over
/// many tickers is mostly these reads (one round trip per ticker), so they overlap.
const STORED_READS_IN_FLIGHT: usize = 32;

/// Reads the files on blocking threads, a few ahead, reads what `stored` already holds of
/// their series further ahead, and hands them in file order to the lanes, which compute
/// and send on every core.
async fn backfill_files(
    config: &ExtractorConfig,
    args: &BackfillArgs,
    input: &Path,
    task_number: Uuid,
    metrics: &Metrics,
    stored: Option<&Sinks>,
    new_pipeline: impl FnMut() -> Pipeline,
) -> anyhow::Result<Summary> {
    let files = list_files(input)?;
    if files.is_empty() {
        anyhow::bail!("no .csv, .csv.gz or .parquet files at {}", input.display());
    }
    let lane_count =
        args.lanes.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from);
    let lanes = Lanes::start(lane_count, task_number, new_pipeline);
    let progress = progress_bar(files.len() as u64, args.no_progress);
    let started = Instant::now();
    let reads = files.into_iter().map(|file| {
        let format = config.extract.format.clone();
        tokio::task::spawn_blocking(move || {
            let parsed = read_file(&file, &format, task_number);
            (file, parsed)
        })
    });
    let mut read_ahead = ReadAhead::default();
    let mut reads = futures::stream::iter(reads)
        .buffered(lane_count + 1)
        .map(|read| {
            // Decided here, in file order: only a series' first file reads it.
            let keys = match (&read, stored) {
                (Ok((_, parsed)), Some(_)) => read_ahead.new_series(&parsed.bars),
                _ => Vec::new(),
            };
            async move {
                let (file, mut parsed) = read?;
                if let Some(table) = stored {
                    parsed.stored = StoredSeries::read(table, keys, STORED_READS_IN_FLIGHT).await?;
                }
                anyhow::Ok((file, parsed))
            }
        })
        .buffered(STORED_READS_IN_FLIGHT);
    while let Some(read) = reads.next().await {
        let (file, parsed) = read?;
        let bars = parsed.bars.len();
        if lanes.send(file.clone(), parsed).await.is_err() {
            break; // A lane failed: `finish` returns its error.
        }
        let rate = metrics.bars_read.get() as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        progress.set_message(format!("{rate:.0} bars/s  {name}"));
        progress.inc(1);
        if progress.is_hidden() {
            info!(file = %file.display(), bars, "Read file.");
        }
    }
    progress.finish_and_clear();
    lanes.finish().await
}

async fn backfill_symbols(
    client: &TwelveDataClient,
    args: &BackfillArgs,
    actions: bool,
    task_number: Uuid,
    pipeline: &mut Pipeline,
) -> anyhow::Result<()> {
    let progress = progress_bar(args.source.symbols.len() as u64, args.no_progress);
    for symbol in &args.source.symbols {
        progress.set_message(symbol.clone());
        ingest_symbol(pipeline, client, symbol, (args.source.since, actions), task_number).await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(())
}

/// A progress bar over `items` files or symbols with the bar rate, drawn only on a terminal.
pub fn progress_bar(items: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::with_draw_target(Some(items), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(items);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len}, ETA {eta}  {msg}")
    {
        bar.set_style(style);
    }
    bar
}
