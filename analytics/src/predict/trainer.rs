//! Trainings off the scoring path: one thread per worker takes training jobs in order,
//! evaluates each new version on a holdout, fits it on every row, stores it and hands it back.

use chrono::{DateTime, Utc};
use pricestream_dataflow::model::{
    Booster, BoosterParams, FEATURE_NAMES, FeatureMatrix, Metrics, ModelError, N_FEATURES, predicted_close,
};
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
}

impl Default for TrainingData {
    fn default() -> Self {
        TrainingData { matrix: FeatureMatrix::new(N_FEATURES), targets: vec![], closes: vec![], labels: vec![] }
    }
}

impl TrainingData {
    /// Appends one labelled row.
    pub fn push(&mut self, inputs: &[f32; N_FEATURES], target: f32, close: f64, label: f64) {
        self.matrix.push_row(inputs);
        self.targets.push(target);
        self.closes.push(close);
        self.labels.push(label);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.targets.len()
    }
}

/// One training to do.
#[derive(Debug)]
pub struct TrainingJob {
    /// The model's scope (a ticker, or `global`).
    pub scope: String,
    /// The version the trained model gets.
    pub version: u64,
    /// Its rows.
    pub data: TrainingData,
    /// Hyperparameters.
    pub params: BoosterParams,
    /// Share of the newest rows held out for evaluation.
    pub holdout_fraction: f64,
}

/// Errors of a model version on the held-out rows, and of persistence on the same rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Holdout {
    /// The model trained without the held-out rows.
    pub model: Metrics,
    /// Tomorrow's close = today's close.
    pub baseline: Metrics,
}

/// A trained (and stored) model version.
#[derive(Clone, Debug)]
pub struct TrainedModel {
    /// Its scope.
    pub scope: String,
    /// Its version.
    pub version: u64,
    /// The model, fitted on every row.
    pub booster: Booster,
    /// When the training finished.
    pub trained_at: DateTime<Utc>,
    /// Holdout evaluation, when enough rows were held out.
    pub holdout: Option<Holdout>,
    /// Time spent training (evaluation fit included).
    pub duration: Duration,
}

/// What the trainer hands back: a stored model, or why a scope's training failed.
pub type TrainingOutcome = Result<TrainedModel, (String, anyhow::Error)>;

/// Stores a trained model before it is handed back (so a restart finds it).
pub type Store = Box<dyn Fn(&TrainedModel) -> anyhow::Result<()> + Send>;

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
            for job in queue {
                let scope = job.scope.clone();
                let outcome = train(job)
                    .map_err(anyhow::Error::from)
                    .and_then(|model| store(&model).map(|()| model))
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

    /// Waits for the next outcome (tests and shutdown).
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

/// Evaluates on the holdout (when it has at least 10 rows), then fits on every row.
pub fn train(job: TrainingJob) -> Result<TrainedModel, ModelError> {
    let started = Instant::now();
    let TrainingJob { scope, version, data, params, holdout_fraction } = job;
    let rows = data.len();
    let held_out = (rows as f64 * holdout_fraction).floor() as usize;
    let holdout = if held_out >= 10 && rows - held_out >= 10 {
        Some(evaluate(&data, rows - held_out, &params)?)
    } else {
        None
    };
    let booster = Booster::fit(&data.matrix, &data.targets, &params)?.with_feature_names(&FEATURE_NAMES);
    Ok(TrainedModel { scope, version, booster, trained_at: Utc::now(), holdout, duration: started.elapsed() })
}

/// Trains on rows `..split`, forecasts rows `split..`, and scores both forecasts.
fn evaluate(data: &TrainingData, split: usize, params: &BoosterParams) -> Result<Holdout, ModelError> {
    let model = Booster::fit(&data.matrix.slice_rows(0..split), &data.targets[..split], params)?;
    let closes = &data.closes[split..];
    let actuals = &data.labels[split..];
    let forecasts = (split..data.len())
        .map(|row| Ok(predicted_close(data.closes[row], model.predict_row(data.matrix.row(row))?)))
        .collect::<Result<Vec<f64>, ModelError>>()?;
    Ok(Holdout {
        model: Metrics::of_prices(closes, actuals, &forecasts),
        baseline: Metrics::of_prices(closes, actuals, closes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A close that creeps up 0.1 % a day; input 0 carries the next move.
    fn creeping(rows: usize) -> TrainingData {
        let mut data = TrainingData::default();
        for day in 0..rows {
            let close = 100.0 * 1.001_f64.powi(day as i32);
            let label = close * 1.002;
            let mut inputs = [f32::NAN; N_FEATURES];
            inputs[0] = (day % 7) as f32;
            data.push(&inputs, (label / close - 1.0) as f32, close, label);
        }
        data
    }

    fn job(version: u64, rows: usize) -> TrainingJob {
        TrainingJob {
            scope: "DEMO".into(),
            version,
            data: creeping(rows),
            params: BoosterParams { n_estimators: 10, threads: 1, ..BoosterParams::default() },
            holdout_fraction: 0.2,
        }
    }

    #[test]
    fn a_trained_version_is_evaluated_on_its_newest_rows_and_fitted_on_all() {
        let model = train(job(3, 100)).unwrap();
        assert_eq!((model.scope.as_str(), model.version, model.booster.training_rows()), ("DEMO", 3, 100));
        let holdout = model.holdout.unwrap();
        assert_eq!((holdout.model.rows, holdout.baseline.rows), (20, 20));
        // Persistence misses the 0.2 % move every day; the model learned it.
        assert!(holdout.model.rmse < holdout.baseline.rmse, "{holdout:?}");
        assert!(train(job(1, 30)).unwrap().holdout.is_none(), "6 held-out rows are too few to report");
    }

    #[test]
    fn the_thread_stores_each_model_before_handing_it_back() {
        let stored = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&stored);
        let store: Store = Box::new(move |model| {
            seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(model.version);
            Ok(())
        });
        let trainer = Trainer::spawn("trainer-test".into(), store).unwrap();
        trainer.submit(job(1, 50));
        trainer.submit(TrainingJob { params: BoosterParams { max_depth: 0, ..BoosterParams::default() }, ..job(2, 50) });
        let first = trainer.wait(Duration::from_secs(30)).unwrap();
        assert_eq!(first.map(|m| m.version).ok(), Some(1));
        let second = trainer.wait(Duration::from_secs(30)).unwrap();
        assert!(matches!(&second, Err((scope, _)) if scope == "DEMO"), "invalid params fail that training only");
        assert_eq!(*stored.lock().unwrap(), [1]);
    }
}
