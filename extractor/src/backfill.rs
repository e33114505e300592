//! `backfill`: read every file (or fetch every symbol) once, compute
//! indicators, publish and store everything, print a summary.

use crate::cli::BackfillArgs;
use crate::config::ExtractorConfig;
use crate::pipeline::{Pipeline, Sinks};
use crate::sources::{TwelveDataClient, list_files, open_file};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pricestream_dataflow::config::ProcessEnv;
use pricestream_dataflow::records::Bar;
use pricestream_dataflow::topics::Topics;
use std::path::Path;
use std::time::Instant;
use tracing::{info, warn};
use uuid::Uuid;

/// Runs a backfill of `args.input` or `args.symbols`.
pub async fn run(config: &ExtractorConfig, args: &BackfillArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let task_number = Uuid::new_v4();
    info!(%task_number, dry_run = args.dry_run, "Backfill started.");
    let sinks = if args.dry_run { None } else { Some(Sinks::connect(config, task_number).await?) };
    let mut pipeline = Pipeline::new(&config.indicators, sinks, task_number, config.extract.batch_max_rows)
        .with_retries(config.extract.sink_max_attempts);

    match &args.input {
        Some(input) => backfill_files(config, args, input, task_number, &mut pipeline).await?,
        None => backfill_symbols(config, args, task_number, &mut pipeline).await?,
    }
    pipeline.finish().await?;

    let summary = &pipeline.summary;
    info!(%task_number, bars = summary.bars_read, rejected = summary.rejected_total(), "Backfill finished.");
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
        println!("  rejects     -> Kafka {}", topics.dead_letter);
    }
    print!("{}", summary.report(started.elapsed()));
    Ok(())
}

async fn backfill_files(
    config: &ExtractorConfig,
    args: &BackfillArgs,
    input: &Path,
    task_number: Uuid,
    pipeline: &mut Pipeline,
) -> anyhow::Result<()> {
    let files = list_files(input)?;
    if files.is_empty() {
        anyhow::bail!("no .csv, .csv.gz or .parquet files at {}", input.display());
    }
    let progress = progress_bar(files.len() as u64, args.no_progress);
    for file in &files {
        progress.set_message(file.file_name().unwrap_or_default().to_string_lossy().into_owned());
        let rows = match open_file(file, &config.extract.format, task_number) {
            Ok(rows) => rows,
            Err(error) => {
                warn!(file = %file.display(), "Skipped file: {error}");
                pipeline.summary.files_skipped += 1;
                progress.inc(1);
                continue;
            }
        };
        let mut bars = Vec::new();
        for row in rows {
            match row {
                Ok(bar) => bars.push(bar),
                Err(error) => {
                    pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?
                }
            }
        }
        push_in_date_order(pipeline, bars).await?;
        pipeline.summary.files += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(())
}

async fn backfill_symbols(
    config: &ExtractorConfig,
    args: &BackfillArgs,
    task_number: Uuid,
    pipeline: &mut Pipeline,
) -> anyhow::Result<()> {
    let client = TwelveDataClient::new(&config.twelve_data, &ProcessEnv)?;
    let progress = progress_bar(args.symbols.len() as u64, args.no_progress);
    for symbol in &args.symbols {
        progress.set_message(symbol.clone());
        let mut bars = Vec::new();
        for value in client.fetch_daily(symbol, args.since, task_number).await? {
            match value {
                Ok(bar) => bars.push(bar),
                Err(error) => {
                    pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?
                }
            }
        }
        push_in_date_order(pipeline, bars).await?;
        pipeline.summary.files += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(())
}

/// Indicators are computed in date order; files and APIs may list newest first.
async fn push_in_date_order(pipeline: &mut Pipeline, mut bars: Vec<Bar>) -> anyhow::Result<()> {
    bars.sort_by(|a, b| (&a.ticker, a.datetime).cmp(&(&b.ticker, b.datetime)));
    for bar in bars {
        pipeline.push_bar(bar).await?;
    }
    Ok(())
}

fn progress_bar(items: u64, hidden: bool) -> ProgressBar {
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
