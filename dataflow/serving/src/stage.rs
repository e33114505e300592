//! The model stage of one worker: keeps the rows of its series, scores the newest rows as
//! they change, and swaps in new model versions as the trainer finishes them.

use super::policy::RetrainPolicy;
use super::schedule::{CursorKey, LabelledRow, Point, Schedule, Serving, skill};
use super::series::{ModelRow, SeriesRows, kinds_mask};
use super::trainer::{Incumbent, TrainedModel, Trainer, TrainingData, TrainingJob, TrainingOutcome};
use chrono::NaiveDate;
use pricestream_model::ModelScope;
use pricestream_model::ScopeSetting;
use pricestream_model::{Booster, BoosterParams, Gate, ModelError, predicted_close};
use pricestream_records::{FeatureRow, Forecaster, Prediction, Timeframe};
use std::collections::{BTreeMap, BTreeSet, HashMap};
#[cfg(test)]
use std::time::Duration;

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
    /// The indicators every mart row gets (the extractor computes all of them): a row is
    /// trained on only once each past its lookback joined it.
    pub indicators: Vec<pricestream_records::IndicatorKind>,
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
    /// The last row date its model was fitted on.
    pub fitted_until: Option<NaiveDate>,
}

impl ModelVersion {
    /// Version `version` of a stored record: its model, its gate and the holdout errors of
    /// its served forecasts when it has a holdout (where it kept the version before, that
    /// one's errors on the rows they were compared on).
    pub fn new(version: i32, record: &pricestream_model::ModelRecord) -> Self {
        let (served, baseline) = match (&record.challenge, &record.backtest) {
            (Some(challenge), _) if challenge.kept_incumbent => {
                (Some(challenge.incumbent.mae), Some(challenge.baseline.mae))
            }
            (_, Some(backtest)) => (Some(backtest.gated.mae), Some(backtest.baseline.mae)),
            _ => (None, None),
        };
        ModelVersion {
            version,
            booster: record.booster.clone(),
            gate: record.gate,
            training_rows: usize::try_from(record.training_rows).unwrap_or(0),
            holdout_mae: served,
            holdout_skill: served.zip(baseline).map(|(served, baseline)| skill(baseline, served)),
            fitted_until: record.model_last_date,
        }
    }

    /// What a version trained after it must beat.
    fn incumbent(&self) -> Incumbent {
        Incumbent {
            version: self.version,
            booster: self.booster.clone(),
            gate: self.gate,
            fitted_until: self.fitted_until,
        }
    }
}

/// Finds the two newest stored versions of a scope (newest first), the first time the stage
/// meets the scope.
pub type Load = Box<dyn FnMut(&ModelScope) -> anyhow::Result<Vec<ModelVersion>>>;

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
    /// The version before: rows it serves can still change (their indicator values arrive
    /// after their bar) while the newest trains.
    previous: Option<Installed>,
    /// Stored versions loaded at start (newest first), installed once the start-up replay is
    /// done (where they serve from depends on the replayed rows).
    loaded: Vec<ModelVersion>,
    series: BTreeSet<SeriesId>,
    schedule: Schedule,
    /// Whether its rows changed or a version was installed since the cursor last walked.
    dirty: bool,
    /// Whether a trading day was declared since the cursor last walked (daily policy of a
    /// global scope).
    day_complete: bool,
}

impl ScopeState {
    /// The installed version that serves `date`: the newest from its first date on, the one
    /// before on the dates between their first dates.
    fn serving(&self, date: NaiveDate) -> Option<&ModelVersion> {
        [&self.model, &self.previous]
            .into_iter()
            .flatten()
            .find(|installed| installed.serves_from <= date)
            .map(|installed| &installed.model)
    }
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
    /// Unlabelled rows left without a forecast this epoch, for want of a model or of a
    /// version serving their date: ticker and date.
    pub unserved: Vec<(String, NaiveDate)>,
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
                if state.model.is_none() && stored.unlabelled {
                    report.waiting_for_a_model += 1;
                    report.unserved.push((row.ticker.clone(), row.date_time));
                } else if stored.forecast_input_changed && state.serving(row.date_time).is_some() {
                    to_score.entry(id).or_default().push(row.date_time);
                } else if stored.unlabelled && state.serving(row.date_time).is_none() {
                    // A model, but no version serves this date (yet): no forecast is coming now.
                    report.unserved.push((row.ticker.clone(), row.date_time));
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
            let (Some(state), Some(series)) = (self.scopes.get(&scope), self.series.get_mut(&id)) else {
                continue;
            };
            for date in dates {
                let Some(model) = state.serving(date) else { continue };
                let horizon = self.settings.horizon_bars;
                predictions.extend(score_row(series, &id, date, &scope, model, horizon, report));
            }
        }
        predictions
    }

    /// Installs the versions the trainer finished, then, with `score` (live epochs), walks each
    /// changed scope's training schedule, queueing the versions it decides (see [`Schedule`]),
    /// and scores with each scope's newest version the rows it serves that it has not scored.
    pub fn after_epoch(&mut self, score: bool, report: &mut EpochReport) -> Vec<Prediction> {
        for outcome in self.trainer.finished() {
            self.install(outcome, report);
        }
        if !score {
            return Vec::new();
        }
        let scopes: Vec<ModelScope> = self.scopes.keys().cloned().collect();
        for scope in &scopes {
            self.install_loaded(scope);
        }
        let mut predictions = Vec::new();
        for scope in scopes {
            predictions.extend(self.walk(scope, report));
        }
        predictions
    }

    /// A trading day was declared (the service's trading-day frontier, identical on every
    /// worker): with the daily policy, each global scope trains once more at its next walk.
    pub fn trading_day_declared(&mut self) {
        if !self.settings.policy.daily {
            return;
        }
        for (scope, state) in &mut self.scopes {
            if matches!(scope, ModelScope::Global) {
                state.day_complete = true;
                state.dirty = true;
            }
        }
    }

    /// Whether every version decided so far is installed and every stored one resolved: what
    /// `run --exit-at-end` waits for, so that its mart, predictions and models are final.
    pub fn settled(&self) -> bool {
        self.scopes.values().all(|state| state.schedule.settled() && state.loaded.is_empty() && !state.dirty)
    }

    /// Walks the schedule of `scope` over its labelled rows after the cursor, scoring with its
    /// newest version the rows the walk needs the forecasts of, queues the versions it decides,
    /// then scores the rest of the rows that version serves.
    fn walk(&mut self, scope: ModelScope, report: &mut EpochReport) -> Vec<Prediction> {
        let horizon = self.settings.horizon_bars as usize;
        let Some(state) = self.scopes.get_mut(&scope) else { return Vec::new() };
        if !state.dirty {
            return Vec::new();
        }
        state.dirty = false;
        let expected = kinds_mask(&self.settings.indicators);
        let rows = labelled_after(
            &self.series,
            &state.series,
            state.schedule.cursor.as_ref(),
            horizon,
            Some(expected),
        );
        let serving = state.model.as_ref().map(|installed| Serving {
            serves_from: installed.serves_from,
            holdout_mae: installed.model.holdout_mae,
            holdout_skill: installed.model.holdout_skill,
        });
        let daily = self.settings.policy.daily && matches!(scope, ModelScope::Ticker(_));
        let was_below = state.schedule.below_persistence;
        let mut predictions = Vec::new();
        let (series, installed) = (&mut self.series, state.model.as_ref());
        let mut walk = state.schedule.walk(&rows, serving, &self.settings.policy, daily, |row| {
            let id: SeriesId = (row.ticker.clone(), row.timeframe);
            let rows = series.get_mut(&id)?;
            let installed = installed?;
            if rows.get(row.date)?.forecast.is_none_or(|(_, version)| version != installed.model.version) {
                predictions.extend(score_row(
                    rows,
                    &id,
                    row.date,
                    &scope,
                    &installed.model,
                    horizon as u32,
                    report,
                ));
            }
            let scored = rows.get(row.date)?;
            match (scored.forecast, scored.label) {
                (Some((forecast, _)), Some(label)) => {
                    Some(((forecast - label).abs(), (scored.close - label).abs()))
                }
                _ => None,
            }
        });
        // A trading day was declared: a global scope trains at the newest label the cursor
        // passed, when it is not already training.
        if std::mem::take(&mut state.day_complete) && walk.points.is_empty() {
            walk.points.extend(state.schedule.point_at_cursor());
        }
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
        predictions.extend(self.score_served(&scope, report));
        predictions
    }

    /// Waits for the trainings in flight to finish and installs them, walking the schedules
    /// after each (which may queue more), until none is left.
    #[cfg(test)]
    pub fn wait_for_trainings(&mut self, timeout: Duration, report: &mut EpochReport) -> Vec<Prediction> {
        let mut predictions = Vec::new();
        while self.scopes.values().any(|state| !state.schedule.pending.is_empty()) {
            let Some(outcome) = self.trainer.wait(timeout) else { break };
            self.install(outcome, report);
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
                Ok(stored) => {
                    if let Some(newest) = stored.first() {
                        report.loaded.push((scope.clone(), newest.version, newest.gate));
                    }
                    state.loaded = stored;
                }
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

    /// Installs the stored versions loaded for `scope` once its rows are back: the schedule
    /// resumes after the newest one's last training row, and its rows are scored again (their
    /// forecasts may not have been written before the restart).
    fn install_loaded(&mut self, scope: &ModelScope) {
        let horizon = self.settings.horizon_bars as usize;
        let Some(state) = self.scopes.get_mut(scope) else { return };
        if state.loaded.is_empty() {
            return;
        }
        state.dirty = true;
        let rows = labelled_after(&self.series, &state.series, None, horizon, None);
        // Where each serves from: the label date of its last training row.
        let place = |model: ModelVersion| {
            let last = rows.get(model.training_rows.saturating_sub(1)).or(rows.last());
            let serves_from = last.map_or(NaiveDate::MIN, |row| row.label_date);
            (last.map(LabelledRow::key), Installed { model, serves_from })
        };
        let mut loaded = std::mem::take(&mut state.loaded).into_iter();
        let Some((key, newest)) = loaded.next().map(place) else { return };
        if let Some(key) = key {
            state.schedule.resume_after(newest.model.training_rows, key);
        }
        state.previous = loaded.next().map(place).map(|(_, previous)| previous);
        state.model = Some(newest);
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
            incumbent: state.model.as_ref().map(|installed| installed.model.incumbent()),
        });
    }

    fn install(&mut self, outcome: TrainingOutcome, report: &mut EpochReport) {
        let trained = match outcome {
            Ok(trained) => trained,
            Err((scope, error)) => {
                // The older version keeps serving; the schedule goes on without this one.
                if let Some(state) = self.scopes.get_mut(&scope) {
                    state.schedule.installed();
                    state.dirty = true;
                }
                report.failed.push((scope, error));
                return;
            }
        };
        let Some(state) = self.scopes.get_mut(&trained.record.scope) else { return };
        let Some(point) = state.schedule.installed() else { return };
        state.dirty = true;
        // The live window of the old version says nothing about the new one.
        if std::mem::take(&mut state.schedule.below_persistence) {
            report.below_persistence_change -= 1;
        }
        let model = ModelVersion::new(trained.version, &trained.record);
        state.previous = state.model.replace(Installed { model, serves_from: point.serves_from });
        report.installed.push(trained);
    }

    /// Scores with the newest installed version of `scope` the rows it serves (from its first
    /// date up to the first date of the next version in training) that it has not scored, and,
    /// for freshness, the newest rows without a label after them (the next version scores those
    /// again).
    fn score_served(&mut self, scope: &ModelScope, report: &mut EpochReport) -> Vec<Prediction> {
        let Some(state) = self.scopes.get(scope) else { return Vec::new() };
        let Some(Installed { model, serves_from }) = &state.model else { return Vec::new() };
        let until = state.schedule.pending.front().map_or(NaiveDate::MAX, |next| next.serves_from);
        let mut predictions = Vec::new();
        for id in &state.series {
            let Some(series) = self.series.get_mut(id) else { continue };
            let dates: Vec<NaiveDate> = series
                .dates_from(*serves_from)
                .filter(|(date, row)| *date < until || row.label.is_none())
                .filter(|(_, row)| row.forecast.is_none_or(|(_, version)| version != model.version))
                .map(|(date, _)| date)
                .collect();
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

/// The labelled rows of `series` after `cursor`, in cursor order (label date, date, ticker), up
/// up to the first whose `expected` indicators have not all joined it (`None`: every row).
fn labelled_after(
    rows: &HashMap<SeriesId, SeriesRows>,
    series: &BTreeSet<SeriesId>,
    cursor: Option<&CursorKey>,
    horizon: usize,
    expected: Option<u8>,
) -> Vec<LabelledRow> {
    let mut labelled: Vec<LabelledRow> = Vec::new();
    for id in series {
        let Some(rows) = rows.get(id) else { continue };
        labelled.extend(
            rows.labelled(horizon)
                .map(|(date, label_date, _)| LabelledRow {
                    label_date,
                    date,
                    ticker: id.0.clone(),
                    timeframe: id.1,
                })
                .filter(|row| cursor.is_none_or(|cursor| row.key() > *cursor)),
        );
    }
    labelled.sort_by_key(LabelledRow::key);
    // The cursor stops at the first row whose indicator values are still on their way.
    let complete = |row: &LabelledRow| {
        let series = rows.get(&(row.ticker.clone(), row.timeframe));
        expected.is_none_or(|expected| series.is_some_and(|series| series.complete(row.date, expected)))
    };
    let end = labelled.iter().position(|row| !complete(row)).unwrap_or(labelled.len());
    labelled.truncate(end);
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
            series.set_forecast(date, prediction.predicted_close, model.version);
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
        adjustment_factor: row.adjustment_factor,
    })
}
