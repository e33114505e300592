//! The model stage of one worker: keeps the rows of its series, scores the newest rows as
//! they change, and swaps in new model versions as the trainer finishes them.

use super::policy::{RetrainPolicy, TrainingState};
use super::scope::Scope;
use super::series::{ModelRow, SeriesRows};
use super::trainer::{TrainedModel, Trainer, TrainingData, TrainingJob, TrainingOutcome};
use chrono::NaiveDate;
use pricestream_dataflow::model::{Booster, BoosterParams, ModelError, predicted_close};
use pricestream_dataflow::records::{FeatureRow, Timeframe};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the stage is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSettings {
    /// One model per ticker or one global model.
    pub scope: Scope,
    /// Hyperparameters of every training.
    pub params: BoosterParams,
    /// When to train.
    pub policy: RetrainPolicy,
    /// How many bars ahead the label is (for the prediction's target).
    pub horizon_bars: u32,
}

/// A series: a ticker at one timeframe.
pub type SeriesId = (String, Timeframe);

/// A stored model version in use.
#[derive(Clone, Debug)]
pub struct ModelVersion {
    /// The version number, increasing per scope.
    pub version: u64,
    /// The model.
    pub booster: Booster,
}

/// One scored row: the forecast made from the mart row of `as_of`.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    /// The series.
    pub ticker: String,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// Date of the row the forecast is made from.
    pub as_of: NaiveDate,
    /// The row's `id` in the mart.
    pub row_id: Option<i64>,
    /// Forecast close `horizon_bars` after `as_of`.
    pub predicted_close: f64,
    /// The scope of the model that made it.
    pub scope: String,
    /// Its version.
    pub model_version: u64,
}

/// One scope: its model, its series and its training state.
#[derive(Debug, Default)]
struct ScopeState {
    model: Option<ModelVersion>,
    /// Highest version known (stored, or queued for training).
    last_version: u64,
    series: BTreeSet<SeriesId>,
    training: TrainingState,
}

/// What happened in the stage during one epoch, for metrics and logs.
#[derive(Debug, Default)]
pub struct EpochReport {
    /// Model versions that replaced older ones (or were the first).
    pub installed: Vec<TrainedModel>,
    /// Trainings that failed: scope and error.
    pub failed: Vec<(String, anyhow::Error)>,
    /// Trainings queued this epoch.
    pub queued: usize,
    /// Rows that could not be scored yet because their scope has no model.
    pub waiting_for_a_model: usize,
    /// Rows the model could not score (a stored model with another number of inputs).
    pub unscorable: usize,
}

/// The model stage of one worker. Every series of a scope must reach the same worker.
pub struct ModelStage {
    settings: StageSettings,
    series: HashMap<SeriesId, SeriesRows>,
    scopes: HashMap<String, ScopeState>,
    trainer: Trainer,
}

impl ModelStage {
    /// A stage starting from the stored latest model versions of its scopes (those of other
    /// workers' scopes are ignored as their series never arrive here).
    pub fn new(settings: StageSettings, stored: Vec<(String, ModelVersion)>, trainer: Trainer) -> ModelStage {
        let scopes = stored
            .into_iter()
            .map(|(scope, model)| {
                let state = ScopeState {
                    last_version: model.version,
                    training: TrainingState { has_model: true, ..TrainingState::default() },
                    model: Some(model),
                    ..ScopeState::default()
                };
                (scope, state)
            })
            .collect();
        ModelStage { settings, series: HashMap::new(), scopes, trainer }
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
    ) -> Vec<Forecast> {
        let mut to_score: BTreeMap<SeriesId, Vec<NaiveDate>> = BTreeMap::new();
        for row in upserts {
            let id: SeriesId = (row.ticker.clone(), row.timeframe);
            let stored = self.series.entry(id.clone()).or_default().store(row.date_time, ModelRow::of(row));
            let state = self.scope_state(&id);
            if stored.newly_labelled {
                state.training.labelled_rows += 1;
                state.training.new_labels += 1;
            }
            if stored.lost_label {
                state.training.labelled_rows = state.training.labelled_rows.saturating_sub(1);
            }
            if stored.unlabelled && score {
                to_score.entry(id).or_default().push(row.date_time);
            }
        }
        for (ticker, timeframe, date) in deletes {
            let id: SeriesId = (ticker.clone(), *timeframe);
            let was_labelled = self.series.get_mut(&id).is_some_and(|series| series.remove(*date));
            if was_labelled {
                let state = self.scope_state(&id);
                state.training.labelled_rows = state.training.labelled_rows.saturating_sub(1);
            }
        }
        let mut forecasts = Vec::new();
        for (id, dates) in to_score {
            let scope = self.settings.scope.model_of(&id.0).to_owned();
            let Some(model) = self.scopes.get(&scope).and_then(|state| state.model.as_ref()) else {
                report.waiting_for_a_model += dates.len();
                continue;
            };
            let Some(series) = self.series.get(&id) else { continue };
            for date in dates {
                if let Some(row) = series.get(date) {
                    push_forecast(&mut forecasts, report, forecast(&id, date, row, &scope, model));
                }
            }
        }
        forecasts
    }

    /// Installs the versions the trainer finished (re-scoring the newest rows of their
    /// series) and queues the trainings the policy asks for.
    pub fn after_epoch(&mut self, score: bool, report: &mut EpochReport) -> Vec<Forecast> {
        let mut forecasts = Vec::new();
        for outcome in self.trainer.finished() {
            forecasts.extend(self.install(outcome, score, report));
        }
        let wanted: Vec<String> = self
            .scopes
            .iter()
            .filter(|(_, state)| self.settings.policy.wants_training(&state.training))
            .map(|(scope, _)| scope.clone())
            .collect();
        for scope in wanted {
            self.queue_training(scope);
            report.queued += 1;
        }
        forecasts
    }

    /// Waits for the trainings in flight to finish and installs them (tests, shutdown).
    pub fn wait_for_trainings(&mut self, timeout: std::time::Duration, report: &mut EpochReport) -> Vec<Forecast> {
        let mut forecasts = Vec::new();
        while self.scopes.values().any(|state| state.training.in_flight) {
            let Some(outcome) = self.trainer.wait(timeout) else { break };
            forecasts.extend(self.install(outcome, true, report));
        }
        forecasts
    }

    /// The model version in use for `scope`.
    pub fn model_version(&self, scope: &str) -> Option<u64> {
        self.scopes.get(scope).and_then(|state| state.model.as_ref()).map(|model| model.version)
    }

    fn scope_state(&mut self, id: &SeriesId) -> &mut ScopeState {
        let scope = self.settings.scope.model_of(&id.0).to_owned();
        let state = self.scopes.entry(scope).or_default();
        if !state.series.contains(id) {
            state.series.insert(id.clone());
        }
        state
    }

    fn queue_training(&mut self, scope: String) {
        let Some(state) = self.scopes.get_mut(&scope) else { return };
        let mut rows: Vec<(NaiveDate, &str, &ModelRow)> = Vec::with_capacity(state.training.labelled_rows);
        for id in &state.series {
            if let Some(series) = self.series.get(id) {
                rows.extend(series.labelled().map(|(date, row)| (date, id.0.as_str(), row)));
            }
        }
        // Date order (then ticker): the holdout is the newest rows.
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut data = TrainingData::default();
        for (_, _, row) in rows {
            if let (Some(target), Some(label)) = (row.target, row.label) {
                data.push(&row.inputs, target, row.close, label);
            }
        }
        state.last_version += 1;
        state.training.in_flight = true;
        state.training.new_labels = 0;
        self.trainer.submit(TrainingJob {
            scope,
            version: state.last_version,
            data,
            params: self.settings.params.clone(),
            holdout_fraction: self.settings.policy.holdout_fraction,
        });
    }

    fn install(&mut self, outcome: TrainingOutcome, score: bool, report: &mut EpochReport) -> Vec<Forecast> {
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
        let Some(state) = self.scopes.get_mut(&trained.scope) else { return Vec::new() };
        state.training.in_flight = false;
        state.training.has_model = true;
        let model = ModelVersion { version: trained.version, booster: trained.booster.clone() };
        let mut forecasts = Vec::new();
        if score {
            for id in &state.series {
                let Some(series) = self.series.get(id) else { continue };
                for (date, row) in series.unlabelled() {
                    push_forecast(&mut forecasts, report, forecast(id, date, row, &trained.scope, &model));
                }
            }
        }
        state.model = Some(model);
        report.installed.push(trained);
        forecasts
    }
}

fn push_forecast(forecasts: &mut Vec<Forecast>, report: &mut EpochReport, forecast: Result<Forecast, ModelError>) {
    match forecast {
        Ok(forecast) => forecasts.push(forecast),
        Err(_) => report.unscorable += 1,
    }
}

/// The forecast of one row; an error when the model cannot score it (a stored model with
/// another number of inputs).
fn forecast(
    id: &SeriesId,
    date: NaiveDate,
    row: &ModelRow,
    scope: &str,
    model: &ModelVersion,
) -> Result<Forecast, ModelError> {
    let change = model.booster.predict_row(&row.inputs)?;
    Ok(Forecast {
        ticker: id.0.clone(),
        timeframe: id.1,
        as_of: date,
        row_id: row.id,
        predicted_close: predicted_close(row.close, change),
        scope: scope.to_owned(),
        model_version: model.version,
    })
}
