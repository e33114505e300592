//! `backfill`: read every file once, publish and store every bar, print a summary.

use crate::cli::BackfillArgs;
use crate::config::ExtractorConfig;
use crate::sources::{LineError, list_csv_files, read_yahoo_csv, ticker_from_path};
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pricestream_dataflow::cassandra::{BarTable, connect, create_dwh_schema};
use pricestream_dataflow::kafka::{Publisher, ensure_topics};
use pricestream_dataflow::records::Bar;
use pricestream_dataflow::topics::Topics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};
use uuid::Uuid;

/// Counts reported at the end of a run.
#[derive(Debug, Default)]
struct Summary {
    files: usize,
    bars: usize,
    rejected_lines: usize,
    rejected_files: usize,
}

/// Where accepted bars go: Kafka and Cassandra, each batch to both before the next is read.
struct Sinks {
    publisher: Publisher,
    table: BarTable,
    topic: String,
    task_number: Uuid,
}

impl Sinks {
    async fn send(&self, bars: &[Bar]) -> anyhow::Result<()> {
        let keyed = bars.iter().map(|bar| (bar.ticker.as_str(), bar));
        tokio::try_join!(
            async {
                self.publisher
                    .publish_all(&self.topic, self.task_number, keyed)
                    .await
                    .map_err(anyhow::Error::from)
            },
            async { self.table.write_all(bars).await.map_err(anyhow::Error::from) },
        )?;
        Ok(())
    }
}

/// Runs a backfill of every `*.csv` file under `args.input`.
pub async fn run(config: &ExtractorConfig, args: &BackfillArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let files = list_csv_files(&args.input)?;
    if files.is_empty() {
        bail!("no *.csv files in {}", args.input.display());
    }
    let task_number = Uuid::new_v4();
    info!(%task_number, files = files.len(), input = %args.input.display(), "Backfill started.");

    let topics = Topics::with_prefix(&config.kafka.topic_prefix);
    ensure_topics(&config.kafka, &[&topics.bars]).await?;
    let session = Arc::new(connect(&config.cassandra).await?);
    create_dwh_schema(&session, &config.cassandra).await?;
    let sinks = Sinks {
        publisher: Publisher::new(&config.kafka)?,
        table: BarTable::prepare(
            session,
            &config.cassandra.dwh_keyspace,
            config.cassandra.max_in_flight_requests,
        )
        .await?,
        topic: topics.bars.clone(),
        task_number,
    };

    let progress = progress_bar(files.len() as u64, args.no_progress);
    let mut summary = Summary::default();
    for file in &files {
        progress.set_message(file.file_name().unwrap_or_default().to_string_lossy().into_owned());
        let rows = match ticker_from_path(file).and_then(|ticker| read_yahoo_csv(file, &ticker, task_number))
        {
            Ok(rows) => rows,
            Err(error) => {
                warn!(file = %file.display(), "Skipped file: {error}");
                summary.rejected_files += 1;
                progress.inc(1);
                continue;
            }
        };
        let mut batch = Vec::with_capacity(config.extract.batch_max_rows);
        for row in rows {
            match row {
                Ok(bar) => batch.push(bar),
                Err(error) => reject(&error, &mut summary),
            }
            if batch.len() == config.extract.batch_max_rows {
                sinks
                    .send(&batch)
                    .await
                    .with_context(|| format!("while sending bars of {}", file.display()))?;
                summary.bars += batch.len();
                batch.clear();
            }
        }
        sinks.send(&batch).await.with_context(|| format!("while sending bars of {}", file.display()))?;
        summary.bars += batch.len();
        summary.files += 1;
        progress.inc(1);
    }
    sinks.publisher.flush(Duration::from_secs(60)).context("flushing the Kafka producer")?;
    progress.finish_and_clear();

    let keyspace = &config.cassandra.dwh_keyspace;
    info!(%task_number, bars = summary.bars, rejected_lines = summary.rejected_lines, "Backfill finished.");
    println!("Backfill finished in {:.1?} (task_number {task_number}).", started.elapsed());
    println!("  files read       {}", summary.files);
    println!("  bars published   {:>8}  -> Kafka topic {}", summary.bars, topics.bars);
    println!("  bars written     {:>8}  -> Cassandra {keyspace}.time_series_history", summary.bars);
    println!("  lines rejected   {:>8}", summary.rejected_lines);
    if summary.rejected_files > 0 {
        println!("  files skipped    {:>8}", summary.rejected_files);
    }
    Ok(())
}

fn reject(error: &LineError, summary: &mut Summary) {
    warn!(file = %error.file.display(), line = error.line, "Rejected line {error}");
    summary.rejected_lines += 1;
}

fn progress_bar(files: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::with_draw_target(Some(files), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(files);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} files  {msg}")
    {
        bar.set_style(style);
    }
    bar
}
