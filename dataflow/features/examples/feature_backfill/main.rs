//! Backfill and steady-state cost of the incremental feature graph, from memory (no Kafka, no
//! Cassandra): `cargo run --release -p pricestream-features --example feature_backfill --
//! --tickers 500 --years 20 --workers 2` (`--profile` adds per-operator busy times).
//!
//! The input is synthetic and deterministic: a random-walk series per ticker on a weekday
//! calendar (a "year" is 252 weekdays; no holidays) and the seven indicators computed from it
//! by `indicators::IndicatorSet` with the default periods. Each worker feeds its share of the
//! tickers (`index % workers`) through `FeatureInputs`, ticker by ticker, each bar followed by
//! its indicator values, in epochs of `--epoch-records` per worker, the way a Kafka-fed backfill
//! arrives; each epoch's records are generated just before it, outside the clock (as a consumer
//! holds one poll's freshly decoded records), and freed after it. The clock covers feeding and
//! stepping until the probe passes; all workers start each epoch together. Then `--days` more
//! trading days arrive, one epoch per day for every ticker. At the end the net number of rows
//! must equal the number of bars and the sampled tickers' rows must equal a naive
//! recomputation, so a broken graph cannot pass as a fast one. Last, each worker drops its
//! dataflow and the heap that gives back (counted per thread by `memory::Counting`, the global
//! allocator here) is printed as the arranged state per bar.

mod check;
mod memory;
mod profile;
mod synthetic;

use clap::Parser;
use pricestream_features::{FeatureInputs, FeatureRecord, feature_graph};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use synthetic::{DAYS_PER_YEAR, Record, WorkerSource};
use timely::Config;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

/// The services' heap, counting bytes per thread for the arranged-state measure (a thread-local
/// add per call).
#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

/// Bench settings.
#[derive(Parser, Clone, Debug)]
struct Args {
    /// Number of tickers.
    #[arg(long, default_value_t = 500)]
    tickers: usize,
    /// Years of daily history per ticker in the backfill.
    #[arg(long, default_value_t = 20)]
    years: usize,
    /// Timely worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Records (bars and indicator values) per backfill epoch and worker.
    #[arg(long, default_value_t = 50_000)]
    epoch_records: usize,
    /// Steady-state trading days after the backfill, one epoch each.
    #[arg(long, default_value_t = 20)]
    days: usize,
    /// The label is the close this many bars later.
    #[arg(long, default_value_t = 2)]
    horizon_bars: u32,
    /// Also print per-operator busy time (timely logging; slows the run down).
    #[arg(long)]
    profile: bool,
}

/// Shared between the workers and `main`.
struct Shared {
    args: Args,
    dates: Vec<chrono::NaiveDate>,
    backfill_days: usize,
    barrier: Barrier,
    /// Workers that still have backfill records.
    feeding_workers: AtomicUsize,
    /// Output updates seen, and their diffs summed (the net number of rows).
    updates: AtomicU64,
    rows: AtomicI64,
    /// Every output update of the sampled tickers, for [`check::sampled_rows`].
    sampled: Mutex<Vec<(FeatureRecord, isize)>>,
    sample_names: Vec<String>,
}

/// What one worker measured.
#[derive(Default)]
struct Report {
    bars: usize,
    records: usize,
    /// Time in the backfill epochs: feeding and stepping, the input's freeing excluded.
    backfill: Duration,
    /// The backfill end to end, with generating and freeing the input.
    end_to_end: Duration,
    /// Of `backfill`, the time spent in `FeatureInputs` (upserts, flush) rather than stepping.
    feeding: Duration,
    /// CPU time of this worker's thread in the backfill epochs.
    cpu: Duration,
    days: Vec<Duration>,
    arranged_after_backfill: i64,
    rss_after_backfill: u64,
    peak_after_backfill: u64,
    /// Heap bytes freed when this worker dropped its dataflow after the run: the traces of its
    /// arrangements and reduces (with the batches still being merged), plus operator buffers.
    dataflow_heap: i64,
    operators: Vec<(String, Duration, i64)>,
}

fn main() {
    pricestream_runtime::allocator::configure(pricestream_runtime::allocator::Pages::Huge);
    let args = Args::parse();
    for (name, value) in
        [("--tickers", args.tickers), ("--workers", args.workers), ("--epoch-records", args.epoch_records)]
    {
        if value == 0 {
            fail(&format!("{name} must be >= 1, got 0"));
        }
    }
    let backfill_days = args.years * DAYS_PER_YEAR;
    let dates = synthetic::weekdays(backfill_days + args.days);
    let samples = sample_tickers(args.tickers);
    let shared = Arc::new(Shared {
        barrier: Barrier::new(args.workers),
        feeding_workers: AtomicUsize::new(args.workers),
        sample_names: samples.iter().map(|&i| synthetic::ticker(i)).collect(),
        args: args.clone(),
        dates,
        backfill_days,
        updates: AtomicU64::new(0),
        rows: AtomicI64::new(0),
        sampled: Mutex::default(),
    });
    let rss_start = memory::resident();
    let worker_shared = Arc::clone(&shared);
    let guards = timely::execute(Config::process(args.workers), move |worker| run(worker, &worker_shared));
    let reports: Vec<Report> = match guards {
        Ok(guards) => guards.join().into_iter().collect::<Result<_, _>>().unwrap_or_else(|e| fail(&e)),
        Err(e) => fail(&e),
    };
    let rows = shared.rows.load(Ordering::SeqCst);
    print_reports(&args, &reports, rss_start, shared.updates.load(Ordering::SeqCst), rows);
    verify(&shared, &samples);
}

fn fail(message: &str) -> ! {
    eprintln!("feature_backfill: {message}");
    std::process::exit(1)
}

/// The first, a middle and the last ticker.
fn sample_tickers(tickers: usize) -> Vec<usize> {
    let mut samples = vec![0, tickers / 2, tickers.saturating_sub(1)];
    samples.dedup();
    samples.retain(|&i| i < tickers);
    samples
}

fn run(worker: &mut Worker, shared: &Arc<Shared>) -> Report {
    let args = &shared.args;
    let place = (worker.index(), worker.peers());
    let mut source = WorkerSource::new(args.tickers, &shared.dates, shared.backfill_days, place);
    let profile = profile::install(worker, args.profile);
    let mut inputs = FeatureInputs::<u64>::new();
    let dataflow = worker.next_dataflow_index();
    let probe = build(worker, &mut inputs, shared);

    let mut report = Report::default();
    let started = Instant::now();
    let mut exhausted = false;
    loop {
        // Outside the clock: the next poll's records, generated just before they are fed.
        let epoch = source.next_epoch(args.epoch_records).unwrap_or_default();
        if epoch.is_empty() && !exhausted {
            exhausted = true;
            shared.feeding_workers.fetch_sub(1, Ordering::SeqCst);
        }
        // Every worker has generated (or run out) before any reads the count or steps; every
        // worker takes part in every epoch, even without records, so the probe can pass.
        shared.barrier.wait();
        if shared.feeding_workers.load(Ordering::SeqCst) == 0 {
            break;
        }
        let (clock, cpu) = (Instant::now(), memory::thread_cpu());
        report.feeding += settle(worker, &mut inputs, &probe, &epoch);
        report.backfill += clock.elapsed();
        report.cpu += memory::thread_cpu().saturating_sub(cpu);
    }
    report.end_to_end = started.elapsed();
    (report.bars, report.records) = (source.bars, source.records);
    report.rss_after_backfill = memory::resident();
    report.peak_after_backfill = memory::peak();
    report.arranged_after_backfill = profile.borrow().arranged_total();

    for day in source.into_days() {
        shared.barrier.wait();
        let started = Instant::now();
        settle(worker, &mut inputs, &probe, &day);
        report.days.push(started.elapsed());
    }
    report.operators = profile.borrow().operators();
    // Arranged state: what dropping the settled dataflow gives back on this thread (its
    // operators, and the traces they hold, are dropped here). The inputs' upsert state lives
    // in `inputs`, outside the dataflow, and is not counted.
    shared.barrier.wait();
    let before = memory::thread_heap();
    worker.drop_dataflow(dataflow);
    report.dataflow_heap = before - memory::thread_heap();
    report
}

/// The feature graph, counting its output and keeping the sampled tickers' updates.
fn build(worker: &mut Worker, inputs: &mut FeatureInputs<u64>, shared: &Arc<Shared>) -> ProbeHandle<u64> {
    let shared = Arc::clone(shared);
    worker.dataflow(|scope| {
        let entries = inputs.to_collection(scope);
        let (probe, _) = feature_graph(entries, shared.args.horizon_bars)
            .inspect_batch(move |_, updates| {
                let net: isize = updates.iter().map(|(_, _, diff)| diff).sum();
                shared.updates.fetch_add(updates.len() as u64, Ordering::Relaxed);
                shared.rows.fetch_add(net as i64, Ordering::Relaxed);
                let sampled = updates
                    .iter()
                    .filter(|(record, _, _)| shared.sample_names.contains(&record.key.0.ticker))
                    .map(|(record, _, diff)| (record.clone(), *diff));
                shared.sampled.lock().unwrap_or_else(|e| e.into_inner()).extend(sampled);
            })
            .probe();
        probe
    })
}

/// Feeds one epoch, advances the inputs and steps until its output is complete everywhere;
/// returns the time spent feeding.
fn settle(
    worker: &mut Worker,
    inputs: &mut FeatureInputs<u64>,
    probe: &ProbeHandle<u64>,
    epoch: &[Record],
) -> Duration {
    let started = Instant::now();
    for record in epoch {
        match record {
            Record::Bar(bar) => inputs.upsert_bar(bar),
            Record::Indicator(value) => inputs.upsert_indicator(value),
        }
    }
    let next = *inputs.time() + 1;
    inputs.advance_to(next);
    inputs.flush();
    let feeding = started.elapsed();
    // Park rather than spin while waiting for the other workers: on a machine with as many
    // cores as workers, a spinning worker takes CPU from the one it waits for.
    worker.step_or_park_while(None, || probe.less_than(inputs.time()));
    feeding
}

fn print_reports(args: &Args, reports: &[Report], rss_start: u64, updates: u64, rows: i64) {
    let sum = |f: fn(&Report) -> usize| reports.iter().map(f).sum::<usize>();
    let slowest = |f: fn(&Report) -> Duration| reports.iter().map(f).max().unwrap_or_default().as_secs_f64();
    let (bars, records) = (sum(|r| r.bars), sum(|r| r.records));
    let wall = slowest(|r| r.backfill);
    let cpu: f64 = reports.iter().map(|r| r.cpu.as_secs_f64()).sum();
    let arranged: i64 = reports.iter().map(|r| r.arranged_after_backfill).sum();
    let rss_after = reports.iter().map(|r| r.rss_after_backfill).max().unwrap_or(0);
    let peak = reports.iter().map(|r| r.peak_after_backfill).max().unwrap_or(0);
    println!(
        "backfill: {} tickers x {} years, {} workers, epochs of {} records per worker",
        args.tickers, args.years, args.workers, args.epoch_records
    );
    println!("  bars              {bars}");
    println!("  input records     {records} (bars + indicator values)");
    println!(
        "  wall time         {wall:.2} s (feeding FeatureInputs: {:.2} s of it)",
        slowest(|r| r.feeding)
    );
    println!("  records/s         {:.0} ({:.0} bars/s)", records as f64 / wall, bars as f64 / wall);
    println!("  CPU time          {cpu:.2} s (worker threads; less sensitive to other load than wall time)");
    println!(
        "  end to end        {:.2} s (with generating each epoch's records before it, freeing them after)",
        slowest(|r| r.end_to_end)
    );
    println!("  arranged updates  {arranged} ({:.1} per bar)", arranged as f64 / bars as f64);
    println!("  peak RSS          {:.0} MiB (whole process)", memory::mib(peak));
    println!(
        "  state per bar     {:.0} bytes ((RSS after - RSS at start) / bars: arrangements, upsert state, \
         allocator slack)",
        rss_after.saturating_sub(rss_start) as f64 / bars as f64
    );
    let mut days: Vec<Duration> = (0..args.days)
        .map(|d| reports.iter().filter_map(|r| r.days.get(d)).max().copied().unwrap_or_default())
        .collect();
    days.sort();
    if let (Some(median), Some(max)) = (days.get(days.len() / 2), days.last()) {
        println!("steady state: {} days, one epoch per day ({} bars each)", days.len(), args.tickers);
        println!("  per day           median {:.1} ms, max {:.1} ms", ms(*median), ms(*max));
    }
    let held: i64 = reports.iter().map(|r| r.dataflow_heap).sum();
    println!(
        "arranged state: {:.0} bytes per bar ({:.1} MiB for {rows} bars after the steady-state days: the heap \
         freed when each worker drops its dataflow, i.e. the traces of its arrangements and reduces plus \
         operator buffers; the inputs' upsert state is not in it)",
        held as f64 / rows.max(1) as f64,
        held as f64 / (1024.0 * 1024.0),
    );
    println!("output row updates  {updates}");
    if let Some(first) = reports.first().filter(|_| args.profile) {
        println!("worker 0, busiest operators (busy time, updates in its trace after the run):");
        for (name, busy, held) in first.operators.iter().take(25) {
            println!("  {:>9.1} ms {held:>10}  {name}", ms(*busy));
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn verify(shared: &Shared, samples: &[usize]) {
    let expected_rows = (shared.args.tickers * shared.dates.len()) as i64;
    let rows = shared.rows.load(Ordering::SeqCst);
    if rows != expected_rows {
        fail(&format!("check failed: {rows} rows out, {expected_rows} bars in"));
    }
    let sampled = shared.sampled.lock().unwrap_or_else(|e| e.into_inner());
    let horizon = shared.args.horizon_bars as usize;
    match check::sampled_rows(&sampled, samples, &shared.dates, horizon) {
        Ok(compared) => {
            println!("check: {rows} rows = bars; {compared} sampled rows equal the naive computation")
        }
        Err(problem) => fail(&format!("check failed: {problem}")),
    }
}
