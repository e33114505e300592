//! Feeding one source item (a file, an API symbol, a corporate-actions file) through the
//! pipeline: refused records to the dead-letter batch, valid bars in date order, actions.

use crate::{Pipeline, StoredSeries};
use chrono::NaiveDate;
use pricestream_records::Bar;
use pricestream_sources::{
    FileFormat, LineError, SourceError, TwelveDataClient, open_actions_file, open_file,
};
use std::path::Path;
use tracing::warn;
use uuid::Uuid;

/// One file read whole: its valid bars in (ticker, date) order, its refused lines,
/// or the reason it could not be opened.
#[derive(Debug, Default)]
pub struct ParsedFile {
    /// Valid bars, sorted by ticker then date: indicators are computed in date order.
    pub bars: Vec<Bar>,
    /// Refused lines, in file order.
    pub rejected: Vec<LineError>,
    /// Why the file could not be read at all (counted as skipped, never fatal).
    pub skipped: Option<SourceError>,
    /// What Cassandra already stores of the file's series, when read ahead
    /// ([`StoredSeries::read`]); a series not listed is read when first seen.
    pub stored: Vec<StoredSeries>,
}

/// Fewer bytes than a Yahoo line takes (about 50), so a plain file's bars fit.
const BYTES_PER_LINE: u64 = 40;
/// A bound on what a file's size alone can reserve.
const MAX_RESERVED_BARS: u64 = 1 << 20;

/// Reads and parses one file (blocking I/O: call it off the async workers).
pub fn read_file(file: &Path, format: &FileFormat, task_number: Uuid) -> ParsedFile {
    let rows = match open_file(file, format, task_number) {
        Ok(rows) => rows,
        Err(error) => return ParsedFile { skipped: Some(error), ..ParsedFile::default() },
    };
    let mut parsed = ParsedFile::default();
    // Room for the file's bars at once, judged by its size: growing by doubling copied
    // each file's bars about twice into freshly faulted pages.
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    parsed.bars.reserve((size / BYTES_PER_LINE).min(MAX_RESERVED_BARS) as usize);
    for row in rows {
        match row {
            Ok(bar) => parsed.bars.push(bar),
            Err(error) => parsed.rejected.push(error),
        }
    }
    sort_by_date(&mut parsed.bars);
    parsed
}

/// Reads one file whole into the pipeline. A file that cannot be opened is
/// counted as skipped and logged, never fatal; a sink failure is.
pub async fn ingest_file(
    pipeline: &mut Pipeline,
    file: &Path,
    format: &FileFormat,
    task_number: Uuid,
) -> anyhow::Result<()> {
    push_parsed(pipeline, file, read_file(file, format, task_number), task_number).await
}

/// Feeds a parsed file to one pipeline: its refused lines, then its bars.
pub async fn push_parsed(
    pipeline: &mut Pipeline,
    file: &Path,
    parsed: ParsedFile,
    task_number: Uuid,
) -> anyhow::Result<()> {
    if let Some(error) = &parsed.skipped {
        skip(pipeline, file, error);
        return Ok(());
    }
    pipeline.preload(parsed.stored);
    for error in parsed.rejected {
        pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?;
    }
    pipeline.push_bars(parsed.bars).await?;
    pipeline.summary.files += 1;
    Ok(())
}

/// Fetches one symbol from the API into the pipeline: with `actions`, first its splits and
/// dividends (each to be published, stored and applied), then its daily bars; each refused
/// entry or value goes to the dead-letter batch.
pub async fn ingest_symbol(
    pipeline: &mut Pipeline,
    client: &TwelveDataClient,
    symbol: &str,
    (since, actions): (Option<NaiveDate>, bool),
    task_number: Uuid,
) -> anyhow::Result<()> {
    let fetched = match actions {
        true => client.fetch_actions(symbol, since).await?,
        false => Vec::new(),
    };
    for entry in fetched {
        match entry {
            Ok(action) => pipeline.push_action(action).await?,
            Err(error) => {
                pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?
            }
        }
    }
    let (bars, refused): (Vec<_>, Vec<_>) =
        client.fetch_daily(symbol, since, task_number).await?.into_iter().partition(Result::is_ok);
    for error in refused.into_iter().filter_map(Result::err) {
        pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?;
    }
    push_in_date_order(pipeline, bars.into_iter().flatten().collect()).await?;
    pipeline.summary.files += 1;
    Ok(())
}

/// Reads one corporate-actions file into the pipeline: its refused records to the dead-letter
/// batch, its actions to be published and stored. A file that cannot be opened is counted as
/// skipped and logged, never fatal.
pub async fn ingest_actions_file(
    pipeline: &mut Pipeline,
    file: &Path,
    task_number: Uuid,
) -> anyhow::Result<()> {
    let owned = file.to_owned();
    let read =
        tokio::task::spawn_blocking(move || open_actions_file(&owned).map(|rows| rows.collect::<Vec<_>>()));
    let rows = match read.await? {
        Ok(rows) => rows,
        Err(error) => {
            skip(pipeline, file, &error);
            return Ok(());
        }
    };
    for row in rows {
        match row {
            Ok(action) => pipeline.push_action(action).await?,
            Err(error) => {
                pipeline.push_rejected(error.reason.as_str(), error.to_dead_letter(task_number)).await?
            }
        }
    }
    pipeline.summary.files += 1;
    Ok(())
}

fn skip(pipeline: &mut Pipeline, file: &Path, error: &SourceError) {
    warn!(file = %file.display(), "Skipped file: {error}");
    pipeline.summary.files_skipped += 1;
}

/// Indicators are computed in date order; files and APIs may list newest first.
pub(crate) fn sort_by_date(bars: &mut [Bar]) {
    bars.sort_by(|a, b| (&a.ticker, a.datetime).cmp(&(&b.ticker, b.datetime)));
}

async fn push_in_date_order(pipeline: &mut Pipeline, mut bars: Vec<Bar>) -> anyhow::Result<()> {
    sort_by_date(&mut bars);
    pipeline.push_bars(bars).await
}
