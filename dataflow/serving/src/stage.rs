//! The model stage of one worker: keeps the rows of its series, scores the newest rows as
//! they change, and swaps in new model versions as the trainer finishes them.

use super::day::{Expected, TradingDay};
use super::policy::{RetrainPolicy, TrainingState};
use super::series::{ModelRow, SeriesRows};
use super::trainer::{TrainedModel, Trainer, TrainingData, TrainingJob, TrainingOutcome};
use chrono::NaiveDate;
use pricestream_model::ModelScope;
use pricestream_model::ScopeSetting;
use pricestream_model::{Booster, BoosterParams, Gate, ModelError, predicted_close};
use pricestream_records::{FeatureRow, Forecaster, Prediction, Timeframe};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
#[cfg(test)]
use std::time::Duration;
use std::time::Instant;

/// What the stage is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSettings {
    /// One model per ticker or one global model.
    pub scope: ScopeSetting,
    /// Hyperparameters of every training.
    pub params: BoosterParams,
    /// When to train.
    pub policy: RetrainPolicy,
    /// How many bars ahead the label is (the forecasts' horizon).
    pub horizon_bars: u32,
    /// How far below persistence's holdout RMSE a version's gated forecast must be for the
    /// model to be served (`[model] gate_margin`).
    pub gate_margin: f64,
}

/// A series: a ticker at one timeframe.
pub type SeriesId = (String, Timeframe);

/// A stored model version in use.
#[derive(Clone, Debug)]
pub struct ModelVersion {
    /// The version number, increasing per scope.
    pub version: i32,
    /// The model.
    pub booster: Booster,
    /// How its forecasts are served.
    pub gate: Gate,
    /// Its mean absolute error on the holdout, when it was evaluated: what the live error is
    /// compared with.
    pub holdout_mae: Option<f64>,
    /// Persistence's holdout MAE over its own (above 1: it beat persistence there).
    pub holdout_skill: Option<f64>,
}

impl ModelVersion {
    /// Version `version` of a stored record: its model, its gate and the holdout errors of
    /// its served forecasts when it has a holdout.
    pub fn new(version: i32, record: &pricestream_model::ModelRecord) -> Self {
        let backtest = record.backtest.as_ref();
        ModelVersion {
            version,
            booster: record.booster.clone(),
            gate: record.gate,
            holdout_mae: backtest.map(|backtest| backtest.gated.mae),
            holdout_skill: backtest.map(|backtest| skill(backtest.baseline.mae, backtest.gated.mae)),
        }
    }
}

/// Persistence's error over the model's: above 1 the model forecasts better.
fn skill(persistence_error: f64, model_error: f64) -> f64 {
    if model_error > 0.0 {
        persistence_error / model_error
    } else if persistence_error > 0.0 {
        f64::MAX
    } else {
        1.0
    }
}

/// Finds the stored latest version of a scope, the first time the stage meets the scope.
pub type Load = Box<dyn FnMut(&ModelScope) -> anyhow::Result<Option<ModelVersion>>>;

/// One scope: its model, its series and its training state.
#[derive(Debug, Default)]
struct ScopeState {
    model: Option<ModelVersion>,
    series: BTreeSet<SeriesId>,
    training: TrainingState,
    /// Absolute errors of the current model's latest forecasts whose label arrived, and of
    /// persistence on the same rows.
    live_errors: VecDeque<(f64, f64)>,
    /// Whether labels of its forecasts arrived this epoch.
    fresh_errors: bool,
    /// Whether its served forecasts did worse than persistence over the last full window.
    below_persistence: bool,
    /// The newest trading day's live bars (daily policy).
    day: TradingDay,
}

/// What happened in the stage during one epoch, for metrics and logs.
#[derive(Debug, Default)]
pub struct EpochReport {
    /// Model versions that replaced older ones (or were the first).
    pub installed: Vec<TrainedModel>,
    /// Trainings that failed, and stored models that could not be loaded: scope and error.
    pub failed: Vec<(ModelScope, anyhow::Error)>,
    /// Stored versions loaded for scopes met for the first time, with their gates.
    pub loaded: Vec<(ModelScope, i32, Gate)>,
    /// Trainings queued this epoch.
    pub queued: usize,
    /// Rows that could not be scored yet because their scope has no model.
    pub waiting_for_a_model: usize,
    /// Rows the model could not score (a stored model with another number of inputs).
    pub unscorable: usize,
    /// Scopes whose live error degraded past the policy's threshold (a retraining follows).
    pub degraded: Vec<(ModelScope, f64)>,
    /// Live skill of the scopes whose forecasts got labels this epoch, over the last
    /// `error_window` of them: persistence's mean absolute error over the served forecasts'.
    pub live_skill: Vec<(ModelScope, f64)>,
    /// Change this epoch in how many scopes serve forecasts worse than persistence.
    pub below_persistence_change: i64,
}

/// The model stage of one worker. Every series of a scope must reach the same worker.
pub struct ModelStage {
    settings: StageSettings,
    series: HashMap<SeriesId, SeriesRows>,
    scopes: HashMap<ModelScope, ScopeState>,
    trainer: Trainer,
    load: Load,
}

impl ModelStage {
    /// A stage that trains with `trainer` and starts each scope from `load`'s version.
    pub fn new(settings: StageSettings, trainer: Trainer, load: Load) -> ModelStage {
        ModelStage { settings, series: HashMap::new(), scopes: HashMap::new(), trainer, load }
    }

    /// The scope whose model scores `ticker`.
    pub fn scope_of(setting: ScopeSetting, ticker: &str) -> ModelScope {
        match setting {
            ScopeSetting::PerTicker => ModelScope::Ticker(ticker.to_owned()),
            ScopeSetting::Global => ModelScope::Global,
        }
    }

    /// Stores an epoch's changed rows and deletions; with `score`, returns the forecasts of
    /// the changed rows whose label is not known yet (a corrected row is re-scored too).
    /// Without a model in its scope a row waits: it is scored when the first version arrives.
    pub fn apply(
        &mut self,
        upserts: &[FeatureRow],
        deletes: &[(String, Timeframe, NaiveDate)],
        score: bool,
        report: &mut EpochReport,
    ) -> Vec<Prediction> {
        let mut to_score: BTreeMap<SeriesId, Vec<NaiveDate>> = BTreeMap::new();
        for row in upserts {
            let id: SeriesId = (row.ticker.clone(), row.timeframe);
            let stored = self.series.entry(id.clone()).or_default().store(row.date_time, ModelRow::of(row));
            let state = self.scope_state(&id, report);
            if stored.newly_labelled {
                state.training.labelled_rows += 1;
                state.training.new_labels += 1;
            }
            if stored.lost_label {
                state.training.labelled_rows = state.training.labelled_rows.saturating_sub(1);
            }
            if let Some(errors) = stored.errors {
                state.live_errors.push_back(errors);
                state.fresh_errors = true;
            }
            // Live bars only: the start-up replay's newest day was trained on before.
            if score {
                state.day.bar(&id, row.date_time, Instant::now());
            }
            if stored.unlabelled && score {
                to_score.entry(id).or_default().push(row.date_time);
            }
        }
        for (ticker, timeframe, date) in deletes {
            let id: SeriesId = (ticker.clone(), *timeframe);
            let was_labelled = self.series.get_mut(&id).is_some_and(|series| series.remove(*date));
            if was_labelled {
                let state = self.scope_state(&id, report);
                state.training.labelled_rows = state.training.labelled_rows.saturating_sub(1);
            }
        }
        self.check_live_errors(report);
        let mut predictions = Vec::new();
        for (id, dates) in to_score {
            let scope = Self::scope_of(self.settings.scope, &id.0);
            let Some(model) = self.scopes.get(&scope).and_then(|state| state.model.as_ref()) else {
                report.waiting_for_a_model += dates.len();
                continue;
            };
            let Some(series) = self.series.get_mut(&id) else { continue };
            for date in dates {
                let Some(row) = series.get(date) else { continue };
                let forecast = forecast(&id, date, row, &scope, model, self.settings.horizon_bars);
                if let Ok(prediction) = &forecast {
                    series.set_forecast(date, prediction.predicted_close);
                }
                push_forecast(&mut predictions, report, forecast);
            }
        }
        predictions
    }

    /// Over each scope's latest `error_window` labelled forecasts: reports their skill against
    /// persistence, and marks for retraining the scopes whose forecasts erred more than the
    /// policy allows against their holdout error, or that did worse than persistence although
    /// they beat it on their holdout.
    fn check_live_errors(&mut self, report: &mut EpochReport) {
        let policy = &self.settings.policy;
        let window = policy.error_window.max(1);
        for (scope, state) in &mut self.scopes {
            let fresh = std::mem::take(&mut state.fresh_errors);
            while state.live_errors.len() > window {
                state.live_errors.pop_front();
            }
            if state.live_errors.len() < window {
                continue;
            }
            let live_mae = state.live_errors.iter().map(|(model, _)| model).sum::<f64>() / window as f64;
            let persistence_mae =
                state.live_errors.iter().map(|(_, baseline)| baseline).sum::<f64>() / window as f64;
            let live_skill = skill(persistence_mae, live_mae);
            if fresh {
                report.live_skill.push((scope.clone(), live_skill));
            }
            let below = live_skill < 1.0;
            if below != state.below_persistence {
                state.below_persistence = below;
                report.below_persistence_change += if below { 1 } else { -1 };
            }
            if state.training.degraded {
                continue;
            }
            let model = state.model.as_ref();
            let fell_below =
                below && model.and_then(|model| model.holdout_skill).is_some_and(|skill| skill >= 1.0);
            if fell_below || policy.degraded(live_mae, model.and_then(|model| model.holdout_mae)) {
                state.training.degraded = true;
                report.degraded.push((scope.clone(), live_mae));
            }
        }
    }

    /// Installs the versions the trainer finished (re-scoring the newest rows of their
    /// series when `score`) and queues the trainings the policy asks for.
    pub fn after_epoch(&mut self, score: bool, report: &mut EpochReport) -> Vec<Prediction> {
        let mut predictions = Vec::new();
        for outcome in self.trainer.finished() {
            predictions.extend(self.install(outcome, score, report));
        }
        if let Some(deadline) = self.settings.policy.daily {
            let now = Instant::now();
            let configured = &self.settings.policy.daily_tickers;
            for (scope, state) in &mut self.scopes {
                // A per-ticker scope has one ticker: its bar completes the day either way.
                let expected = match scope {
                    ModelScope::Global if !configured.is_empty() => Expected::Tickers(configured),
                    _ => Expected::Series(state.series.len()),
                };
                if state.day.completed(expected, deadline, now) {
                    state.training.day_complete = true;
                }
            }
        }
        let wanted: Vec<ModelScope> = self
            .scopes
            .iter()
            .filter(|(_, state)| self.settings.policy.wants_training(&state.training))
            .map(|(scope, _)| scope.clone())
            .collect();
        for scope in wanted {
            self.queue_training(scope);
            report.queued += 1;
        }
        predictions
    }

    /// Waits for the trainings in flight to finish and installs them.
    #[cfg(test)]
    pub fn wait_for_trainings(&mut self, timeout: Duration, report: &mut EpochReport) -> Vec<Prediction> {
        let mut predictions = Vec::new();
        while self.scopes.values().any(|state| state.training.in_flight) {
            let Some(outcome) = self.trainer.wait(timeout) else { break };
            predictions.extend(self.install(outcome, true, report));
        }
        predictions
    }

    /// The model version in use for `scope`.
    #[cfg(test)]
    pub fn model_version(&self, scope: &ModelScope) -> Option<i32> {
        self.scopes.get(scope).and_then(|state| state.model.as_ref()).map(|model| model.version)
    }

    /// The scope of series `id`, loading its stored model when the scope is new here.
    fn scope_state(&mut self, id: &SeriesId, report: &mut EpochReport) -> &mut ScopeState {
        let scope = Self::scope_of(self.settings.scope, &id.0);
        if !self.scopes.contains_key(&scope) {
            let mut state = ScopeState::default();
            match (self.load)(&scope) {
                Ok(Some(model)) => {
                    report.loaded.push((scope.clone(), model.version, model.gate));
                    state.training.has_model = true;
                    state.model = Some(model);
                }
                Ok(None) => {}
                // Serving without the stored model means training a new one: say why.
                Err(error) => report.failed.push((scope.clone(), error)),
            }
            self.scopes.insert(scope.clone(), state);
        }
        let state = self.scopes.entry(scope).or_default();
        if !state.series.contains(id) {
            state.series.insert(id.clone());
        }
        state
    }

    fn queue_training(&mut self, scope: ModelScope) {
        let Some(state) = self.scopes.get_mut(&scope) else { return };
        let horizon = self.settings.horizon_bars as usize;
        let mut rows: Vec<(NaiveDate, &str, NaiveDate, &ModelRow)> =
            Vec::with_capacity(state.training.labelled_rows);
        for id in &state.series {
            if let Some(series) = self.series.get(id) {
                rows.extend(
                    series
                        .labelled(horizon)
                        .map(|(date, label_date, row)| (date, id.0.as_str(), label_date, row)),
                );
            }
        }
        // Date order (then ticker): the holdout is the newest rows.
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut data = TrainingData::default();
        for (date, _, label_date, row) in rows {
            if let (Some(target), Some(label)) = (row.target, row.label) {
                data.push((date, label_date), &row.inputs, target, row.close, label);
            }
        }
        state.training.in_flight = true;
        state.training.new_labels = 0;
        state.training.degraded = false;
        state.training.day_complete = false;
        self.trainer.submit(TrainingJob {
            scope,
            horizon_bars: self.settings.horizon_bars,
            data,
            params: self.settings.params.clone(),
            holdout_fraction: self.settings.policy.holdout_fraction,
            gate_margin: self.settings.gate_margin,
        });
    }

    fn install(
        &mut self,
        outcome: TrainingOutcome,
        score: bool,
        report: &mut EpochReport,
    ) -> Vec<Prediction> {
        let trained = match outcome {
            Ok(trained) => trained,
            Err((scope, error)) => {
                if let Some(state) = self.scopes.get_mut(&scope) {
                    state.training.in_flight = false;
                }
                report.failed.push((scope, error));
                return Vec::new();
            }
        };
        let scope = trained.record.scope.clone();
        let Some(state) = self.scopes.get_mut(&scope) else { return Vec::new() };
        state.training.in_flight = false;
        state.training.has_model = true;
        // The live error of the old version says nothing about the new one.
        state.live_errors.clear();
        if std::mem::take(&mut state.below_persistence) {
            report.below_persistence_change -= 1;
        }
        let model = ModelVersion::new(trained.version, &trained.record);
        let mut predictions = Vec::new();
        if score {
            for id in &state.series {
                let Some(series) = self.series.get_mut(id) else { continue };
                let newest: Vec<NaiveDate> = series.unlabelled().map(|(date, _)| date).collect();
                for date in newest {
                    let Some(row) = series.get(date) else { continue };
                    let forecast = forecast(id, date, row, &scope, &model, self.settings.horizon_bars);
                    if let Ok(prediction) = &forecast {
                        series.set_forecast(date, prediction.predicted_close);
                    }
                    push_forecast(&mut predictions, report, forecast);
                }
            }
        }
        state.model = Some(model);
        report.installed.push(trained);
        predictions
    }
}

fn push_forecast(
    predictions: &mut Vec<Prediction>,
    report: &mut EpochReport,
    forecast: Result<Prediction, ModelError>,
) {
    match forecast {
        Ok(prediction) => predictions.push(prediction),
        Err(_) => report.unscorable += 1,
    }
}

/// The forecast served for one unlabelled row: the version's gate on its model's forecast (its
/// target bar does not exist yet, so the target date is estimated on weekdays); an error when
/// the model cannot score the row (a stored model with another number of inputs).
fn forecast(
    id: &SeriesId,
    date: NaiveDate,
    row: &ModelRow,
    scope: &ModelScope,
    model: &ModelVersion,
    horizon_bars: u32,
) -> Result<Prediction, ModelError> {
    let change = model.booster.predict_row(&row.inputs)?;
    let gate = model.gate;
    Ok(Prediction {
        ticker: id.0.clone(),
        timeframe: id.1,
        as_of: date,
        target_date: Prediction::weekdays_after(date, horizon_bars),
        horizon_bars,
        predicted_close: gate.forecast(row.close, predicted_close(row.close, change)),
        model_scope: scope.as_str().to_owned(),
        model_version: model.version,
        feature_row_id: row.id.unwrap_or_default(),
        forecaster: if gate.is_persistence() { Forecaster::Persistence } else { Forecaster::Model },
        gate_weight: gate.weight,
    })
}
