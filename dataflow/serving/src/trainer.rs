//! Trainings off the scoring path: one thread per worker takes training jobs in order,
//! evaluates each new version on a holdout, fits it on every row, stores it and hands it back.

use super::holdout::{Holdout, holdout};
use chrono::{NaiveDate, Utc};
use pricestream_model::{BacktestSummary, Challenge, ModelRecord, ModelScope};
use pricestream_model::{
    Booster, BoosterParams, FEATURE_NAMES, FeatureMatrix, Gate, Metrics, ModelError, N_FEATURES,
    predicted_close,
};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The labelled rows of one scope in date order, as training needs them.
#[derive(Clone, Debug)]
pub struct TrainingData {
    /// Model inputs.
    pub matrix: FeatureMatrix,
    /// Relative change targets.
    pub targets: Vec<f32>,
    /// Close of each row's bar (for the holdout metrics).
    pub closes: Vec<f64>,
    /// Actual close `horizon_bars` later.
    pub labels: Vec<f64>,
    /// First and last date of the rows.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// Each row's date.
    pub row_dates: Vec<NaiveDate>,
    /// The date of each row's label (the bar `horizon_bars` later).
    pub label_dates: Vec<NaiveDate>,
}

impl Default for TrainingData {
    fn default() -> Self {
        TrainingData {
            matrix: FeatureMatrix::new(N_FEATURES),
            targets: vec![],
            closes: vec![],
            labels: vec![],
            dates: None,
            row_dates: vec![],
            label_dates: vec![],
        }
    }
}

impl TrainingData {
    /// Appends one labelled row (its label is the close of `label_date`); rows come in date order.
    pub fn push(
        &mut self,
        (date, label_date): (NaiveDate, NaiveDate),
        inputs: &[f32; N_FEATURES],
        target: f32,
        close: f64,
        label: f64,
    ) {
        self.row_dates.push(date);
        self.label_dates.push(label_date);
        self.matrix.push_row(inputs);
        self.targets.push(target);
        self.closes.push(close);
        self.labels.push(label);
        self.dates = Some((self.dates.map_or(date, |(first, _)| first), date));
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.targets.len()
    }
}

/// One training to do.
#[derive(Debug)]
pub struct TrainingJob {
    /// The model's scope.
    pub scope: ModelScope,
    /// How many bars ahead it forecasts.
    pub horizon_bars: u32,
    /// Its rows.
    pub data: TrainingData,
    /// Hyperparameters.
    pub params: BoosterParams,
    /// Share of the newest rows held out for evaluation.
    pub holdout_fraction: f64,
    /// How far below persistence's holdout RMSE the gated forecast must be to be served, and
    /// below the serving version's to replace it.
    pub gate_margin: f64,
    /// The version serving when the job was queued; the trainer replaces it with a newer one
    /// it stored itself since.
    pub incumbent: Option<Incumbent>,
}

/// A version serving its model: what a new version of its scope must beat to replace it.
#[derive(Clone, Debug)]
pub struct Incumbent {
    /// Its version number.
    pub version: i32,
    /// The model it serves.
    pub booster: Booster,
    /// Its serving gate.
    pub gate: Gate,
    /// The last row date its model was fitted on: it never saw later rows.
    pub fitted_until: Option<NaiveDate>,
}

impl Incumbent {
    /// The serving version stored as `version` with `record`.
    pub fn of(version: i32, record: &ModelRecord) -> Incumbent {
        Incumbent {
            version,
            booster: record.booster.clone(),
            gate: record.gate,
            fitted_until: record.model_last_date,
        }
    }
}

/// A trained and stored model version.
#[derive(Clone, Debug)]
pub struct TrainedModel {
    /// The version the store gave it.
    pub version: i32,
    /// The model and what it was trained on; `backtest` holds the holdout evaluation (errors
    /// of a fit without the newest rows, on those rows, and of persistence on the same rows).
    pub record: ModelRecord,
    /// Time spent training (evaluation fit included).
    pub duration: Duration,
}

/// What the trainer hands back: a stored model, or why a scope's training failed.
pub type TrainingOutcome = Result<TrainedModel, (ModelScope, anyhow::Error)>;

/// Stores a trained model before it is handed back (so a restart finds it); returns the
/// version it got.
pub type Store = Box<dyn Fn(&ModelRecord) -> anyhow::Result<i32> + Send>;

/// The training thread of one worker.
pub struct Trainer {
    jobs: Option<Sender<TrainingJob>>,
    outcomes: Receiver<TrainingOutcome>,
    thread: Option<JoinHandle<()>>,
}

impl Trainer {
    /// Starts the thread; `store` persists each model before it is handed back.
    pub fn spawn(name: String, store: Store) -> std::io::Result<Trainer> {
        let (jobs, queue) = channel::<TrainingJob>();
        let (done, outcomes) = channel();
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            yield_to_scoring();
            // The newest version this thread stored per scope: a job queued while the version
            // before it was still in training is challenged by that one.
            let mut stored: HashMap<ModelScope, Incumbent> = HashMap::new();
            for mut job in queue {
                let scope = job.scope.clone();
                if let Some(newer) = stored.get(&scope)
                    && job.incumbent.as_ref().is_none_or(|queued| queued.version < newer.version)
                {
                    job.incumbent = Some(newer.clone());
                }
                let started = Instant::now();
                let outcome = train(job)
                    .map_err(anyhow::Error::from)
                    .and_then(|record| {
                        let version = store(&record)?;
                        stored.insert(scope.clone(), Incumbent::of(version, &record));
                        Ok(TrainedModel { version, record, duration: started.elapsed() })
                    })
                    .map_err(|error| (scope, error));
                if done.send(outcome).is_err() {
                    break;
                }
            }
        })?;
        Ok(Trainer { jobs: Some(jobs), outcomes, thread: Some(thread) })
    }

    /// Queues a training.
    pub fn submit(&self, job: TrainingJob) {
        if let Some(jobs) = &self.jobs {
            // Fails only when the thread is gone, which `finished` reports as disconnected.
            let _ = jobs.send(job);
        }
    }

    /// Outcomes of the trainings finished since the last call, without waiting.
    pub fn finished(&self) -> Vec<TrainingOutcome> {
        self.outcomes.try_iter().collect()
    }

    /// Waits for the next outcome.
    #[cfg(test)]
    pub fn wait(&self, timeout: Duration) -> Option<TrainingOutcome> {
        self.outcomes.recv_timeout(timeout).ok()
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        // Closing the queue ends the thread after its current job; queued jobs are dropped
        // with the receiver.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Puts the training thread (and the threads a training starts, which inherit it) below
/// every other thread of the machine: on a busy node the workers' scoring and writing must
/// not wait for a training. Linux `SCHED_IDLE`; elsewhere the lowest priority.
fn yield_to_scoring() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    #[cfg(target_os = "linux")]
    let lowered = {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
    };
    #[cfg(not(target_os = "linux"))]
    let lowered = set_current_thread_priority(ThreadPriority::Min);
    if let Err(error) = lowered.or_else(|_| set_current_thread_priority(ThreadPriority::Min)) {
        tracing::warn!(
            ?error,
            "Could not lower the training thread's priority; trainings compete with scoring."
        );
    }
}

/// Evaluates on the holdout (see [`holdout`]; when it and its training rows are at least 10
/// each), learns the serving gate there and challenges the serving version (see
/// [`Challenge`]), then fits on every row, unless the serving version was kept. Without a
/// holdout the version serves persistence: nothing shows it does better.
pub fn train(job: TrainingJob) -> Result<ModelRecord, ModelError> {
    let TrainingJob { scope, horizon_bars, data, params, holdout_fraction, gate_margin, incumbent } = job;
    let incumbent = incumbent.filter(|incumbent| Challenge::applies_to(&incumbent.gate));
    let rows = data.len();
    let (backtest, gate, challenge) = match holdout(&data.row_dates, &data.label_dates, holdout_fraction, 10)
    {
        Some(split) => evaluate(&data, &split, &params, gate_margin, incumbent.as_ref())?,
        None => (None, Gate::PERSISTENCE, None),
    };
    let last_date = data.dates.map(|(_, last)| last);
    let (booster, gate, model_last_date) = match incumbent {
        Some(kept) if challenge.is_some_and(|c| c.kept_incumbent) => {
            (kept.booster, kept.gate, kept.fitted_until)
        }
        _ => {
            let booster = Booster::fit(&data.matrix, &data.targets, &params)?;
            (booster.with_feature_names(&FEATURE_NAMES), gate, last_date)
        }
    };
    Ok(ModelRecord {
        scope,
        trained_at: Utc::now(),
        horizon_bars,
        training_rows: rows as i64,
        first_date: data.dates.map(|(first, _)| first),
        last_date,
        backtest,
        gate,
        booster,
        challenge,
        model_last_date,
    })
}

/// What an evaluation found: the holdout errors, the gate learned there and the challenge.
type Evaluation = (Option<BacktestSummary>, Gate, Option<Challenge>);

/// Trains on the rows whose labels were known when the holdout starts, forecasts the holdout,
/// learns the gate on those forecasts, and scores the model, the gated forecast and
/// persistence there; then compares the gated forecast with the `incumbent`'s served one on
/// the held-out rows its model was not fitted on.
fn evaluate(
    data: &TrainingData,
    split: &Holdout,
    params: &BoosterParams,
    gate_margin: f64,
    incumbent: Option<&Incumbent>,
) -> Result<Evaluation, ModelError> {
    let mut learn = FeatureMatrix::new(N_FEATURES);
    for &row in &split.learn_from {
        learn.push_row(data.matrix.row(row));
    }
    let targets: Vec<f32> = split.learn_from.iter().map(|&row| data.targets[row]).collect();
    let model = Booster::fit(&learn, &targets, params)?;
    let split = split.start;
    let closes = &data.closes[split..];
    let actuals = &data.labels[split..];
    let forecasts = (split..data.len())
        .map(|row| Ok(predicted_close(data.closes[row], model.predict_row(data.matrix.row(row))?)))
        .collect::<Result<Vec<f64>, ModelError>>()?;
    let ups = closes.iter().zip(actuals).filter(|(close, actual)| actual > close).count();
    let gate = Gate::learn(closes, actuals, &forecasts, gate_margin);
    let gated: Vec<f64> = closes.iter().zip(&forecasts).map(|(&close, &f)| gate.forecast(close, f)).collect();
    let summary = BacktestSummary {
        model: Metrics::of_prices(closes, actuals, &forecasts),
        baseline: Metrics::of_prices(closes, actuals, closes),
        gated: Metrics::of_prices(closes, actuals, &gated),
        up_percent: 100.0 * ups as f64 / closes.len().max(1) as f64,
    };
    let challenge = match incumbent {
        Some(incumbent) => challenge(data, split, &gated, incumbent, gate_margin)?,
        None => None,
    };
    Ok((Some(summary), gate, challenge))
}

/// The challenge on the held-out rows (from `split`) dated after the incumbent's model was
/// fitted; `gated`: the new version's served forecasts of the held-out rows.
fn challenge(
    data: &TrainingData,
    split: usize,
    gated: &[f64],
    incumbent: &Incumbent,
    margin: f64,
) -> Result<Option<Challenge>, ModelError> {
    let unseen: Vec<usize> = (split..data.len())
        .filter(|&row| incumbent.fitted_until.is_none_or(|until| data.row_dates[row] > until))
        .collect();
    let closes: Vec<f64> = unseen.iter().map(|&row| data.closes[row]).collect();
    let actuals: Vec<f64> = unseen.iter().map(|&row| data.labels[row]).collect();
    let challenger: Vec<f64> = unseen.iter().map(|&row| gated[row - split]).collect();
    let served = unseen
        .iter()
        .map(|&row| {
            let change = incumbent.booster.predict_row(data.matrix.row(row))?;
            Ok(incumbent.gate.forecast(data.closes[row], predicted_close(data.closes[row], change)))
        })
        .collect::<Result<Vec<f64>, ModelError>>()?;
    Ok(Challenge::decide(incumbent.version, &closes, &actuals, &challenger, &served, margin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A close that creeps up 0.1 % a day; input 0 carries the next move.
    fn creeping(rows: usize) -> TrainingData {
        moving(rows, 0.002)
    }

    /// [`creeping`] closes whose labels, two days later, are `change` away from them.
    fn moving(rows: usize, change: f64) -> TrainingData {
        let mut data = TrainingData::default();
        for day in 0..rows {
            let close = 100.0 * 1.001_f64.powi(day as i32);
            let label = close * (1.0 + change);
            let mut inputs = [f32::NAN; N_FEATURES];
            inputs[0] = (day % 7) as f32;
            let date =
                NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default() + chrono::Days::new(day as u64);
            data.push(
                (date, date + chrono::Days::new(2)),
                &inputs,
                (label / close - 1.0) as f32,
                close,
                label,
            );
        }
        data
    }

    fn job(rows: usize) -> TrainingJob {
        TrainingJob {
            scope: ModelScope::Ticker("DEMO".into()),
            horizon_bars: 2,
            data: creeping(rows),
            params: BoosterParams { n_estimators: 10, threads: 1, ..BoosterParams::default() },
            holdout_fraction: 0.2,
            gate_margin: 0.01,
            incumbent: None,
        }
    }

    #[test]
    fn a_trained_version_is_evaluated_on_its_newest_rows_and_fitted_on_all() {
        let model = train(job(100)).expect("test setup");
        assert_eq!(
            (model.scope.as_str(), model.training_rows, model.booster.training_rows()),
            ("DEMO", 100, 100)
        );
        let days = |d| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default() + chrono::Days::new(d);
        assert_eq!((model.first_date, model.last_date), (Some(days(0)), Some(days(99))));
        let holdout = model.backtest.expect("test setup");
        assert_eq!((holdout.model.rows, holdout.baseline.rows), (20, 20));
        assert_eq!(holdout.up_percent, 100.0);
        // Persistence misses the 0.2 % move every day; the model learned it.
        assert!(holdout.model.rmse < holdout.baseline.rmse, "{holdout:?}");
        assert!(
            train(job(30)).expect("test setup").backtest.is_none(),
            "6 held-out rows are too few to report"
        );
    }

    /// Flat at 100 through day 160, then up 1 % a day; input 0 is the day; the label is the
    /// close ten days later. The holdout (the newest 40 of 200 rows) starts on day 160, and the
    /// ten rows before it are labelled with closes from inside it.
    fn regime_change() -> TrainingData {
        let close = |day: u64| if day <= 160 { 100.0 } else { 100.0 * 1.01_f64.powi(day as i32 - 160) };
        let date =
            |day: u64| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default() + chrono::Days::new(day);
        let mut data = TrainingData::default();
        for day in 0..200 {
            let (now, later) = (close(day), close(day + 10));
            let mut inputs = [f32::NAN; N_FEATURES];
            inputs[0] = day as f32;
            data.push((date(day), date(day + 10)), &inputs, (later / now - 1.0) as f32, now, later);
        }
        data
    }

    #[test]
    fn a_new_version_replaces_the_serving_one_only_where_it_serves_better_forecasts() {
        // The serving version learned a fall of 0.2 % every two days; the closes now rise.
        let falling = train(TrainingJob { data: moving(100, -0.002), ..job(100) }).expect("test setup");
        assert!(!falling.gate.is_persistence(), "{:?}", falling.gate);
        let job_after = |version, serving: &ModelRecord| TrainingJob {
            incumbent: Some(Incumbent::of(version, serving)),
            ..job(120)
        };
        let replaced = train(job_after(7, &falling)).expect("test setup");
        // The holdout is days 96 to 119; the serving model was fitted up to day 99.
        let challenge = replaced.challenge.expect("20 rows to compare on");
        assert_eq!((challenge.incumbent_version, challenge.challenger.rows), (7, 20));
        assert!(!challenge.kept_incumbent && challenge.challenger.rmse < 0.99 * challenge.incumbent.rmse);
        assert_ne!(replaced.booster, falling.booster);
        assert_eq!((replaced.kept_version(), replaced.model_last_date), (None, replaced.last_date));

        // A serving version as good as the new one keeps serving: the new one gains less than 1 %.
        let rising = train(job(100)).expect("test setup");
        let kept = train(job_after(8, &rising)).expect("test setup");
        let challenge = kept.challenge.expect("20 rows to compare on");
        assert!(challenge.kept_incumbent && challenge.challenger.rmse > 0.99 * challenge.incumbent.rmse);
        assert_eq!(
            (kept.kept_version(), &kept.booster, kept.gate, kept.model_last_date),
            (Some(8), &rising.booster, rising.gate, rising.last_date)
        );
        assert_eq!(kept.training_rows, 120, "the schedule counts the new version's rows");

        // A serving version that serves persistence is not challenged: the gate decides.
        let persistence = ModelRecord { gate: Gate::PERSISTENCE, ..rising };
        assert_eq!(train(job_after(9, &persistence)).expect("test setup").challenge, None);
    }

    #[test]
    fn the_holdout_verdict_never_learns_the_prices_it_forecasts() {
        let job = TrainingJob {
            scope: ModelScope::Ticker("DEMO".into()),
            horizon_bars: 10,
            data: regime_change(),
            params: BoosterParams { n_estimators: 20, threads: 1, ..BoosterParams::default() },
            holdout_fraction: 0.2,
            gate_margin: 0.01,
            incumbent: None,
        };
        let holdout = train(job).expect("test setup").backtest.expect("a holdout");
        assert_eq!(holdout.model.rows, 40);
        // Every label known on day 160 is flat: the model has nothing to know the rise from.
        // Had it learned the ten rows labelled with holdout closes, it would forecast the rise
        // and beat persistence.
        assert!(holdout.model.rmse >= 0.999 * holdout.baseline.rmse, "{holdout:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn trainings_run_below_every_other_thread() {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
        };
        let policies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&policies);
        let store: Store = Box::new(move |_| {
            let policy = thread_schedule_policy().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(policy);
            Ok(1)
        });
        let trainer = Trainer::spawn("trainer-priority".into(), store).expect("test setup");
        trainer.submit(job(50));
        assert!(trainer.wait(Duration::from_secs(30)).is_some_and(|outcome| outcome.is_ok()));
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        assert_eq!(*policies.lock().expect("test setup"), [idle]);
    }

    #[test]
    fn the_thread_stores_each_model_before_handing_it_back() {
        let stored = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&stored);
        let store: Store = Box::new(move |record| {
            let mut seen = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            seen.push(record.training_rows);
            Ok(seen.len() as i32 + 6)
        });
        let trainer = Trainer::spawn("trainer-test".into(), store).expect("test setup");
        trainer.submit(job(50));
        trainer.submit(TrainingJob {
            params: BoosterParams { max_depth: 0, ..BoosterParams::default() },
            ..job(50)
        });
        let first = trainer.wait(Duration::from_secs(30)).expect("test setup");
        assert_eq!(first.map(|m| m.version).ok(), Some(7), "the version is the store's");
        let second = trainer.wait(Duration::from_secs(30)).expect("test setup");
        assert!(
            matches!(&second, Err((scope, _)) if scope.as_str() == "DEMO"),
            "invalid params fail that training only"
        );
        assert_eq!(*stored.lock().expect("test setup"), [50]);
    }
}
