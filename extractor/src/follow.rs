//! `follow`: keep running, pick up new or grown files and fetch API symbols on
//! a schedule. State lives in Cassandra, not here: a restart reloads each
//! ticker's stored bars and re-reads the files, and everything already stored
//! unchanged is skipped, so nothing is sent twice and nothing is missed.

use crate::cli::FollowArgs;
use crate::config::{ExtractorConfig, FollowSettings};
use anyhow::Context;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc, Weekday};
use pricestream_ingest::feed::{ingest_file, ingest_symbol};
use pricestream_ingest::metrics::Metrics;
use pricestream_ingest::{Pipeline, SinkPatience, Sinks};
use pricestream_runtime::config::ProcessEnv;
use pricestream_runtime::fault::Outages;
use pricestream_runtime::telemetry::{Probes, serve};
use pricestream_sources::{TwelveDataClient, list_files};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tracing::{info, warn};
use uuid::Uuid;

/// Size and modification time of each file when it was last read.
type Seen = HashMap<PathBuf, (u64, SystemTime)>;

/// Runs until SIGINT or SIGTERM.
pub async fn run(config: &ExtractorConfig, args: &FollowArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let task_number = Uuid::new_v4();
    let metrics = Arc::new(Metrics::new()?);
    let ready = Arc::new(AtomicBool::new(false));
    let outages = Arc::new(Outages::new(metrics.outages.clone()));
    let listener = tokio::net::TcpListener::bind(&config.http.listen_addr)
        .await
        .with_context(|| format!("cannot listen on http.listen_addr {}", config.http.listen_addr))?;
    info!(addr = %config.http.listen_addr, "Serving /metrics, /healthz and /readyz.");
    let probes = Probes {
        registry: metrics.registry.clone(),
        ready: Arc::clone(&ready),
        outages: Arc::clone(&outages),
        health: None,
    };
    tokio::spawn(serve(listener, probes));
    let stop_requested = Arc::new(AtomicBool::new(false));
    tokio::spawn(flag_on_stop(Arc::clone(&stop_requested)));

    // Follow waits out Kafka and Cassandra outages for as long as they last (not ready meanwhile).
    let adjustment = config.adjustment(args.source.input.is_none());
    let sinks = Arc::new(
        Sinks::connect(config.sinks(adjustment), task_number, outages, SinkPatience::Forever, stop_requested)
            .await?,
    );
    let mut pipeline = Pipeline::new(
        &config.indicators,
        adjustment,
        Some(Arc::clone(&sinks)),
        task_number,
        config.extract.batch_max_rows,
        metrics,
    )
    .with_quality(config.quality.clone());
    let client = match args.source.symbols.is_empty() {
        true => None,
        false => Some(TwelveDataClient::new(&config.twelve_data, &ProcessEnv)?),
    };
    ready.store(true, Ordering::Relaxed);
    info!(%task_number, input = ?args.source.input, symbols = ?args.source.symbols, "Following.");

    let settings = &config.follow;
    let mut seen = Seen::new();
    let mut api_since = args.source.since;
    let mut next_api_poll = Utc::now();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        if let Some(input) = &args.source.input {
            scan_files(&mut pipeline, input, config, settings, &mut seen, task_number).await?;
        }
        if let Some(client) = &client
            && Utc::now() >= next_api_poll
        {
            // A symbol's splits and dividends come before its bars: a bar past an ex-date
            // restates at once.
            let query = (api_since, config.twelve_data.corporate_actions);
            for symbol in &args.source.symbols {
                if let Err(error) = ingest_symbol(&mut pipeline, client, symbol, query, task_number).await {
                    warn!(symbol, "API fetch failed; trying again at the next poll: {error:#}");
                }
            }
            // Later polls only look back a week: enough for late corrections, cheap on credits.
            api_since = Utc::now().date_naive().checked_sub_days(Days::new(7));
            next_api_poll = next_poll_after(Utc::now(), settings)?;
            info!(next = %next_api_poll, "Fetched API symbols.");
        }
        pipeline.flush().await?;
        sinks.probe().await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(settings.file_poll_interval_ms)) => {}
            _ = &mut stop => break,
        }
    }
    ready.store(false, Ordering::Relaxed);
    pipeline.finish().await?;
    info!(%task_number, bars = pipeline.summary.bars_read, "Follow stopped.");
    println!("Follow stopped after {:.1?} (task_number {task_number}).", started.elapsed());
    print!("{}", pipeline.summary.report(started.elapsed()));
    Ok(())
}

/// Reads every file that is new or changed since it was last read and has settled.
async fn scan_files(
    pipeline: &mut Pipeline,
    input: &Path,
    config: &ExtractorConfig,
    settings: &FollowSettings,
    seen: &mut Seen,
    task_number: Uuid,
) -> anyhow::Result<()> {
    let files = match list_files(input) {
        Ok(files) => files,
        Err(error) => {
            warn!("Cannot list the input yet: {error}");
            return Ok(());
        }
    };
    let settle = Duration::from_millis(settings.file_settle_ms);
    for file in files {
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let stamp = (meta.len(), modified);
        let settled = modified.elapsed().is_ok_and(|age| age >= settle);
        if seen.get(&file) != Some(&stamp) && settled {
            info!(file = %file.display(), bytes = meta.len(), "Reading new or grown file.");
            ingest_file(pipeline, &file, &config.extract.format, task_number).await?;
            seen.insert(file, stamp);
        }
    }
    Ok(())
}

/// The next weekday (or any day, with `api_poll_weekends`) at `api_poll_time_utc` after `now`.
fn next_poll_after(now: DateTime<Utc>, settings: &FollowSettings) -> anyhow::Result<DateTime<Utc>> {
    let time = NaiveTime::parse_from_str(&settings.api_poll_time_utc, "%H:%M")?;
    let mut day: NaiveDate = now.date_naive();
    loop {
        let at = day.and_time(time).and_utc();
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if at > now && (settings.api_poll_weekends || !weekend) {
            return Ok(at);
        }
        day = day.checked_add_days(Days::new(1)).context("calendar overflow")?;
    }
}

/// Sets `flag` once a stop is requested, so that a wait for Kafka or Cassandra ends.
async fn flag_on_stop(flag: Arc<AtomicBool>) {
    stop_signal().await;
    flag.store(true, Ordering::Relaxed);
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    info!("Stop requested; finishing the current batch.");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn polls_after_the_close_on_weekdays() {
        let settings = FollowSettings::default();
        let next = |now| next_poll_after(at(now), &settings).ok();
        // Tuesday morning: the same evening.
        assert_eq!(next("2026-11-24T09:00:00Z"), Some(at("2026-11-24T22:30:00Z")));
        // Friday after the poll: Monday.
        assert_eq!(next("2026-11-27T23:00:00Z"), Some(at("2026-11-30T22:30:00Z")));
        let weekends = FollowSettings { api_poll_weekends: true, ..FollowSettings::default() };
        assert_eq!(
            next_poll_after(at("2026-11-27T23:00:00Z"), &weekends).ok(),
            Some(at("2026-11-28T22:30:00Z"))
        );
    }
}
