//! The model stage of one worker: keeps the rows of its series, scores the newest rows as
//! they change, and swaps in new model versions as the trainer finishes them.

use super::day::{Expected, TradingDay};
use super::policy::RetrainPolicy;
use super::schedule::{CursorKey, LabelledRow, Point, Schedule, Serving, skill};
use super::series::{ModelRow, SeriesRows};
use super::trainer::{TrainedModel, Trainer, TrainingData, TrainingJob, TrainingOutcome};
use chrono::NaiveDate;
use pricestream_model::ModelScope;
use pricestream_model::ScopeSetting;
use pricestream_model::{Booster, BoosterParams, Gate, ModelError, predicted_close};
use pricestream_records::{FeatureRow, Forecaster, Prediction, Timeframe};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Labelled rows it was trained on: where the training schedule resumes after a restart.
    pub training_rows: usize,
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
            training_rows: usize::try_from(record.training_rows).unwrap_or(0),
            holdout_mae: backtest.map(|backtest| backtest.gated.mae),
            holdout_skill: backtest.map(|backtest| skill(backtest.baseline.mae, backtest.gated.mae)),
        }
    }
}

/// Finds the stored latest version of a scope, the first time the stage meets the scope.
pub type Load = Box<dyn FnMut(&ModelScope) -> anyhow::Result<Option<ModelVersion>>>;

/// The newest installed version of a scope and the first date it serves.
#[derive(Debug)]
struct Installed {
    model: ModelVersion,
    serves_from: NaiveDate,
}

/// One scope: its model, its series and its training schedule.
#[derive(Debug, Default)]
struct ScopeState {
    model: Option<Installed>,
    /// A stored version loaded at start, installed once the start-up replay is done (where it
    /// serves from depends on the replayed rows).
    loaded: Option<ModelVersion>,
    series: BTreeSet<SeriesId>,
    schedule: Schedule,
    /// Whether its rows changed or a version was installed since the cursor last walked.
    dirty: bool,
    /// The newest trading day's live bars (daily policy of a global scope).
    day: TradingDay,
    /// Whether that day completed since the cursor last walked.
    day_complete: bool,
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
    /// the new or changed rows (a label arriving changes no forecast) that the newest installed
    /// version serves (its first date on). Without a model in its scope an unlabelled row
    /// waits: it is scored when the first version arrives.
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
            state.dirty = true;
            // Live bars only: the start-up replay's newest day was trained on before.
            if score {
                state.day.bar(&id, row.date_time, Instant::now());
                match &state.model {
                    Some(installed)
                        if installed.serves_from <= row.date_time && stored.forecast_input_changed =>
                    {
                        to_score.entry(id).or_default().push(row.date_time);
                    }
                    None if stored.unlabelled => report.waiting_for_a_model += 1,
                    _ => {}
                }
            }
        }
        for (ticker, timeframe, date) in deletes {
            let id: SeriesId = (ticker.clone(), *timeframe);
            if let Some(series) = self.series.get_mut(&id) {
                series.remove(*date);
            }
            self.scope_state(&id, report).dirty = true;
        }
        let mut predictions = Vec::new();
        for (id, dates) in to_score {
            let scope = Self::scope_of(self.settings.scope, &id.0);
            let Some(Installed { model, .. }) =
                self.scopes.get(&scope).and_then(|state| state.model.as_ref())
            else {
                continue;
            };
            let Some(series) = self.series.get_mut(&id) else { continue };
            for date in dates {
                predictions.extend(score_row(
                    series,
                    &id,
                    date,
                    &scope,
                    model,
                    self.settings.horizon_bars,
                    report,
                ));
            }
        }
        predictions
    }

    /// Installs the versions the trainer finished (re-scoring the rows each serves), then,
    /// with `score` (live epochs), walks each changed scope's training schedule and queues the
    /// versions it decides (see [`Schedule`]).
    pub fn after_epoch(&mut self, score: bool, report: &mut EpochReport) -> Vec<Prediction> {
        let mut predictions = Vec::new();
        for outcome in self.trainer.finished() {
            predictions.extend(self.install(outcome, score, report));
        }
        if !score {
            return predictions;
        }
        let scopes: Vec<ModelScope> = self.scopes.keys().cloned().collect();
        for scope in &scopes {
            predictions.extend(self.install_loaded(scope, report));
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
                    state.day_complete = true;
                    state.dirty = true;
                }
            }
        }
        for scope in scopes {
            self.walk(scope, report);
        }
        predictions
    }

    /// Whether every version decided so far is installed and every stored one resolved: what
    /// `run --exit-at-end` waits for, so that its mart, predictions and models are final.
    pub fn settled(&self) -> bool {
        self.scopes.values().all(|state| state.schedule.settled() && state.loaded.is_none() && !state.dirty)
    }

    /// Walks the schedule of `scope` over its labelled rows after the cursor, queueing the
    /// versions it decides.
    fn walk(&mut self, scope: ModelScope, report: &mut EpochReport) {
        let Some(state) = self.scopes.get(&scope) else { return };
        if !state.dirty {
            return;
        }
        let horizon = self.settings.horizon_bars as usize;
        let rows = labelled_after(&self.series, &state.series, state.schedule.cursor.as_ref(), horizon);
        let Some(state) = self.scopes.get_mut(&scope) else { return };
        let serving = state.model.as_ref().map(|installed| Serving {
            serves_from: installed.serves_from,
            holdout_mae: installed.model.holdout_mae,
            holdout_skill: installed.model.holdout_skill,
        });
        let daily = self.settings.policy.daily.is_some() && matches!(scope, ModelScope::Ticker(_));
        let was_below = state.schedule.below_persistence;
        let mut walk = state.schedule.walk(&rows, serving, &self.settings.policy, daily);
        // A global scope's trading day completes by its tickers' bars or a deadline: it trains
        // at the newest label the cursor passed, when it is not already training.
        if std::mem::take(&mut state.day_complete) && walk.points.is_empty() {
            walk.points.extend(state.schedule.point_at_cursor());
        }
        state.dirty = false;
        if state.schedule.below_persistence != was_below {
            report.below_persistence_change += if state.schedule.below_persistence { 1 } else { -1 };
        }
        if let Some(live_skill) = walk.live_skill {
            report.live_skill.push((scope.clone(), live_skill));
        }
        if let Some(live_mae) = walk.degraded {
            report.degraded.push((scope.clone(), live_mae));
        }
        for point in walk.points {
            self.queue_training(&scope, point);
            report.queued += 1;
        }
    }

    /// Waits for the trainings in flight to finish and installs them, walking the schedules
    /// after each (which may queue more), until none is left.
    #[cfg(test)]
    pub fn wait_for_trainings(&mut self, timeout: Duration, report: &mut EpochReport) -> Vec<Prediction> {
        let mut predictions = Vec::new();
        while self.scopes.values().any(|state| !state.schedule.pending.is_empty()) {
            let Some(outcome) = self.trainer.wait(timeout) else { break };
            predictions.extend(self.install(outcome, true, report));
            predictions.extend(self.after_epoch(true, report));
        }
        predictions
    }

    /// The model version in use for `scope`.
    #[cfg(test)]
    pub fn model_version(&self, scope: &ModelScope) -> Option<i32> {
        self.scopes.get(scope).and_then(|state| state.model.as_ref()).map(|installed| installed.model.version)
    }

    /// The scope of series `id`, loading its stored model when the scope is new here.
    fn scope_state(&mut self, id: &SeriesId, report: &mut EpochReport) -> &mut ScopeState {
        let scope = Self::scope_of(self.settings.scope, &id.0);
        if !self.scopes.contains_key(&scope) {
            let mut state = ScopeState::default();
            match (self.load)(&scope) {
                Ok(Some(model)) => {
                    report.loaded.push((scope.clone(), model.version, model.gate));
                    state.loaded = Some(model);
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

    /// Installs the stored version loaded for `scope` once its rows are back: the schedule
    /// resumes after its last training row, and it re-scores the rows it serves (their
    /// forecasts may not have been written before the restart).
    fn install_loaded(&mut self, scope: &ModelScope, report: &mut EpochReport) -> Vec<Prediction> {
        let horizon = self.settings.horizon_bars as usize;
        let Some(state) = self.scopes.get_mut(scope) else { return Vec::new() };
        let Some(model) = state.loaded.take() else { return Vec::new() };
        let rows = labelled_after(&self.series, &state.series, None, horizon);
        let Some(last) = rows.get(model.training_rows.saturating_sub(1)).or(rows.last()) else {
            // No labelled row to place it: it serves from the start, the schedule starts over.
            state.model = Some(Installed { model, serves_from: NaiveDate::MIN });
            return Vec::new();
        };
        state.schedule.resume_after(model.training_rows, last.key());
        state.dirty = true;
        let serves_from = last.label_date;
        state.model = Some(Installed { model, serves_from });
        self.rescore(scope, serves_from, report)
    }

    fn queue_training(&mut self, scope: &ModelScope, point: Point) {
        let Some(state) = self.scopes.get(scope) else { return };
        let horizon = self.settings.horizon_bars as usize;
        let mut rows: Vec<(NaiveDate, &str, NaiveDate, &ModelRow)> = Vec::new();
        for id in &state.series {
            if let Some(series) = self.series.get(id) {
                rows.extend(
                    series
                        .labelled(horizon)
                        .filter(|(_, label_date, _)| *label_date <= point.serves_from)
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
        self.trainer.submit(TrainingJob {
            scope: scope.clone(),
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
                // The older version keeps serving; the schedule goes on without this one.
                if let Some(state) = self.scopes.get_mut(&scope) {
                    state.schedule.installed();
                    state.dirty = true;
                }
                report.failed.push((scope, error));
                return Vec::new();
            }
        };
        let scope = trained.record.scope.clone();
        let Some(state) = self.scopes.get_mut(&scope) else { return Vec::new() };
        let Some(point) = state.schedule.installed() else { return Vec::new() };
        state.dirty = true;
        // The live window of the old version says nothing about the new one.
        if std::mem::take(&mut state.schedule.below_persistence) {
            report.below_persistence_change -= 1;
        }
        let model = ModelVersion::new(trained.version, &trained.record);
        state.model = Some(Installed { model, serves_from: point.serves_from });
        report.installed.push(trained);
        if score { self.rescore(&scope, point.serves_from, report) } else { Vec::new() }
    }

    /// Scores, with the newest installed version of `scope`, every row it serves (dated from
    /// `from` on) up to the first date of the next version in training.
    fn rescore(&mut self, scope: &ModelScope, from: NaiveDate, report: &mut EpochReport) -> Vec<Prediction> {
        let Some(state) = self.scopes.get(scope) else { return Vec::new() };
        let Some(Installed { model, .. }) = &state.model else { return Vec::new() };
        let until = state.schedule.pending.front().map_or(NaiveDate::MAX, |next| next.serves_from);
        let mut predictions = Vec::new();
        for id in &state.series {
            let Some(series) = self.series.get_mut(id) else { continue };
            let dates: Vec<NaiveDate> = series.dates_between(from, until).collect();
            for date in dates {
                predictions.extend(score_row(
                    series,
                    id,
                    date,
                    scope,
                    model,
                    self.settings.horizon_bars,
                    report,
                ));
            }
        }
        predictions
    }
}

/// The labelled rows of `series` after `cursor`, in cursor order (label date, date, ticker),
/// each with the errors of its last forecast.
fn labelled_after(
    rows: &HashMap<SeriesId, SeriesRows>,
    series: &BTreeSet<SeriesId>,
    cursor: Option<&CursorKey>,
    horizon: usize,
) -> Vec<LabelledRow> {
    let mut labelled: Vec<LabelledRow> = Vec::new();
    for id in series {
        let Some(rows) = rows.get(id) else { continue };
        labelled.extend(
            rows.labelled(horizon)
                .map(|(date, label_date, row)| LabelledRow {
                    label_date,
                    date,
                    ticker: id.0.clone(),
                    errors: match (row.forecast, row.label) {
                        (Some(forecast), Some(label)) => {
                            Some(((forecast - label).abs(), (row.close - label).abs()))
                        }
                        _ => None,
                    },
                })
                .filter(|row| cursor.is_none_or(|cursor| row.key() > *cursor)),
        );
    }
    labelled.sort_by_key(LabelledRow::key);
    labelled
}

/// Scores the row of `date` with `model` and records the forecast on it.
fn score_row(
    series: &mut SeriesRows,
    id: &SeriesId,
    date: NaiveDate,
    scope: &ModelScope,
    model: &ModelVersion,
    horizon_bars: u32,
    report: &mut EpochReport,
) -> Option<Prediction> {
    let row = series.get(date)?;
    match forecast(id, date, row, scope, model, horizon_bars) {
        Ok(prediction) => {
            series.set_forecast(date, prediction.predicted_close);
            Some(prediction)
        }
        Err(_) => {
            report.unscorable += 1;
            None
        }
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
