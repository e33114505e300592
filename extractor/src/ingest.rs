//! Feeding one source item (a file, an API symbol) through the pipeline:
//! refused records to the dead-letter batch, valid bars in date order.

use crate::pipeline::Pipeline;
use crate::sources::{FileFormat, SourceError, TwelveDataClient, open_file};
use chrono::NaiveDate;
use pricestream_dataflow::records::Bar;
use std::path::Path;
use tracing::warn;
use uuid::Uuid;

/// Reads one file whole into the pipeline. A file that cannot be opened is
/// counted as skipped and logged, never fatal; a sink failure is.
pub async fn ingest_file(
    pipeline: &mut Pipeline,
    file: &Path,
    format: &FileFormat,
    task_number: Uuid,
) -> anyhow::Result<()> {
    let rows = match open_file(file, format, task_number) {
        Ok(rows) => rows,
        Err(error) => {
            skip(pipeline, file, &error);
            return Ok(());
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
    Ok(())
}

/// Fetches one symbol's daily bars from the API into the pipeline.
pub async fn ingest_symbol(
    pipeline: &mut Pipeline,
    client: &TwelveDataClient,
    symbol: &str,
    since: Option<NaiveDate>,
    task_number: Uuid,
) -> anyhow::Result<()> {
    let mut bars = Vec::new();
    for value in client.fetch_daily(symbol, since, task_number).await? {
        match value {
            Ok(bar) => bars.push(bar),
            Err(error) => {
                pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?
            }
        }
    }
    push_in_date_order(pipeline, bars).await?;
    pipeline.summary.files += 1;
    Ok(())
}

fn skip(pipeline: &mut Pipeline, file: &Path, error: &SourceError) {
    warn!(file = %file.display(), "Skipped file: {error}");
    pipeline.summary.files_skipped += 1;
}

/// Indicators are computed in date order; files and APIs may list newest first.
async fn push_in_date_order(pipeline: &mut Pipeline, mut bars: Vec<Bar>) -> anyhow::Result<()> {
    bars.sort_by(|a, b| (&a.ticker, a.datetime).cmp(&(&b.ticker, b.datetime)));
    for bar in bars {
        pipeline.push_bar(bar).await?;
    }
    Ok(())
}
