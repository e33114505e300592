//! The model stage of one worker of `run`, fed by the feature rows of the scopes routed
//! to it, loading and storing model versions in `models`.

use crate::Shared;
use crate::changes::RowChanges;
use crate::metrics::Metrics;
use pricestream_features::FeatureRecord;
use pricestream_model::Gate;
use pricestream_records::{FeatureRow, Prediction};
use pricestream_runtime::fault::{Patience, wait_out_for};
use pricestream_serving::{EpochReport, Load, ModelStage, ModelVersion, StageSettings, Store, Trainer};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// A hash of the row's model scope that every process computes the same way: all rows of a
/// scope meet at one worker's stage.
pub fn scope_hash(record: &FeatureRecord, shared: &Shared) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    ModelStage::scope_of(shared.config.model.scope, &record.key.0.ticker).as_str().hash(&mut hasher);
    hasher.finish()
}

/// The stage of worker `index`, with its training thread; `None` when serving is off.
pub fn stage(shared: &Shared, index: usize) -> anyhow::Result<Option<ModelStage>> {
    let Some(models) = &shared.models else { return Ok(None) };
    let settings = StageSettings {
        scope: shared.config.model.scope,
        params: shared.config.model.params.clone(),
        policy: shared.config.serving.policy(),
        horizon_bars: shared.config.features.horizon_bars,
        gate_margin: shared.config.model.gate_margin,
        indicators: pricestream_records::IndicatorKind::ALL.to_vec(),
    };
    let (table, runtime, metrics) = (Arc::clone(models), shared.runtime.clone(), Arc::clone(&shared.metrics));
    let (outages, stop) = (Arc::clone(&shared.outages), Arc::clone(&shared.stop));
    let store: Store = Box::new(move |record| {
        let patience = Patience::Forever { stop: Some(&stop) };
        let saved = runtime.block_on(wait_out_for(&outages, "store model", patience, || table.save(record)));
        Ok(metrics.count_write_error("models", saved)?)
    });
    let trainer = Trainer::spawn(format!("trainer-{index}"), store)?;
    let (table, runtime) = (Arc::clone(models), shared.runtime.clone());
    let horizon = shared.config.features.horizon_bars;
    let (outages, stop) = (Arc::clone(&shared.outages), Arc::clone(&shared.stop));
    let load: Load = Box::new(move |scope| {
        let patience = Patience::Forever { stop: Some(&stop) };
        // The newest and the one before (it still serves rows whose values may arrive late).
        let stored = runtime
            .block_on(wait_out_for(&outages, "load model", patience, || table.load_newest(scope, 2)))?;
        // A model of another horizon forecasts another label: train anew instead.
        let stored = stored.into_iter().take_while(|stored| stored.record.horizon_bars == horizon);
        Ok(stored.map(|stored| ModelVersion::new(stored.version, &stored.record)).collect())
    });
    // Trainings run on the configured device (`auto` logs its choice per training; the
    // metric shows what it resolves to here); scoring one row at a time stays on the CPU.
    let device = shared.model_device.to_string();
    shared.metrics.model_device.with_label_values(&[device.as_str()]).set(1);
    // Both outcomes exist from the start, so a rate sees 0 rather than nothing.
    for outcome in ["stored", "failed"] {
        shared.metrics.model_trainings.with_label_values(&[outcome]);
    }
    Ok(Some(ModelStage::new(settings, trainer, load)))
}

/// Feeds one epoch's rows to the stage and returns the forecasts to publish (none while
/// `score` is off: the start-up replay rebuilds state whose forecasts were published), and the
/// rows left unscored for want of a model, as (ticker, day).
pub fn feed(
    stage: &mut ModelStage,
    rows: Vec<(FeatureRecord, isize)>,
    score: bool,
    metrics: &Metrics,
) -> (Vec<Prediction>, Vec<(String, chrono::NaiveDate)>) {
    let changes = RowChanges::from_updates(rows);
    let started = Instant::now();
    let mut report = EpochReport::default();
    let rows: Vec<FeatureRow> = changes.rows().cloned().collect();
    let mut predictions = stage.apply(&rows, &changes.deletes, score, &mut report);
    predictions.extend(stage.after_epoch(score, &mut report));
    let predictions = last_per_row(predictions);
    if !predictions.is_empty() {
        metrics.scoring_seconds.observe(started.elapsed().as_secs_f64());
    }
    observe(&report, metrics);
    (predictions, std::mem::take(&mut report.unserved))
}

/// The last forecast of each row, in the order they were made. One epoch can score a row twice
/// (a late value rescored by the version serving now, then the version installed at the end of
/// the epoch); the epoch's writes to the table run concurrently, so only the last may be sent.
fn last_per_row(predictions: Vec<Prediction>) -> Vec<Prediction> {
    let mut seen = std::collections::HashSet::new();
    let mut last: Vec<Prediction> = predictions
        .into_iter()
        .rev()
        .filter(|p| seen.insert((p.ticker.clone(), p.timeframe, p.as_of)))
        .collect();
    last.reverse();
    last
}

fn observe(report: &EpochReport, metrics: &Metrics) {
    metrics.rows_waiting_for_a_model.inc_by(report.waiting_for_a_model as u64);
    metrics.models_loaded.inc_by(report.loaded.len() as u64);
    for (scope, version, gate) in &report.loaded {
        metrics.model_version.set(i64::from(*version));
        observe_gate(gate, metrics);
        info!(%scope, version, gate_weight = gate.weight, "Loaded the stored model.");
    }
    for trained in &report.installed {
        let record = &trained.record;
        metrics.model_trainings.with_label_values(&["stored"]).inc();
        metrics.model_training_seconds.observe(trained.duration.as_secs_f64());
        metrics.model_training_rows.set(record.training_rows);
        metrics.model_version.set(i64::from(trained.version));
        if let Some(holdout) = &record.backtest {
            metrics.model_holdout_rmse.with_label_values(&["model"]).set(holdout.model.rmse);
            metrics.model_holdout_rmse.with_label_values(&["gated"]).set(holdout.gated.rmse);
            metrics.model_holdout_rmse.with_label_values(&["persistence"]).set(holdout.baseline.rmse);
        }
        observe_gate(&record.gate, metrics);
        if let Some(challenge) = &record.challenge {
            let outcome = if challenge.kept_incumbent { "kept" } else { "replaced" };
            metrics.model_challenges.with_label_values(&[outcome]).inc();
        }
        info!(
            scope = %record.scope,
            version = trained.version,
            kept_version = record.kept_version(),
            serving_rmse = record.challenge.map(|c| c.incumbent.rmse),
            challenger_rmse = record.challenge.map(|c| c.challenger.rmse),
            rows = record.training_rows,
            holdout_rmse = record.backtest.as_ref().map(|b| b.model.rmse),
            gated_rmse = record.backtest.as_ref().map(|b| b.gated.rmse),
            persistence_rmse = record.backtest.as_ref().map(|b| b.baseline.rmse),
            gate_weight = record.gate.weight,
            seconds = trained.duration.as_secs_f64(),
            "Trained and stored a model version."
        );
    }
    for (scope, live_mae) in &report.degraded {
        info!(
            %scope,
            live_mae,
            "The served forecasts degraded (past serving.retrain_on_degradation, or worse than persistence after beating it on the holdout); retraining."
        );
    }
    for (_, skill) in &report.live_skill {
        metrics.model_live_skill.observe(*skill);
    }
    metrics.model_scopes_below_persistence.add(report.below_persistence_change);
    for (scope, error) in &report.failed {
        metrics.model_trainings.with_label_values(&["failed"]).inc();
        warn!(%scope, "Model training or loading failed: {error:#}");
    }
    if report.unscorable > 0 {
        warn!(rows = report.unscorable, "Rows the model could not score (a stored model with other inputs).");
    }
}

/// The gate of a version just installed.
fn observe_gate(gate: &Gate, metrics: &Metrics) {
    metrics.model_gate_weight.set(gate.weight);
    let forecaster = if gate.is_persistence() { "persistence" } else { "model" };
    metrics.model_versions_serving.with_label_values(&[forecaster]).inc();
}

#[cfg(test)]
mod tests {
    use super::observe;
    use crate::metrics::Metrics;
    use pricestream_cassandra::ModelScope;
    use pricestream_model::Gate;
    use pricestream_serving::EpochReport;

    #[test]
    fn a_row_scored_twice_in_an_epoch_keeps_only_its_last_forecast() {
        use pricestream_records::{Forecaster, Prediction, Timeframe};
        let day = |d| chrono::NaiveDate::from_ymd_opt(2015, 12, d).unwrap_or_default();
        let forecast = |ticker: &str, as_of, model_version| Prediction {
            ticker: ticker.into(),
            timeframe: Timeframe::Day,
            as_of,
            target_date: Prediction::weekdays_after(as_of, 2),
            horizon_bars: 2,
            predicted_close: 75.5,
            model_scope: ticker.into(),
            model_version,
            feature_row_id: 1,
            forecaster: Forecaster::Persistence,
            gate_weight: 0.0,
            adjustment_factor: 1.0,
        };
        let epoch = vec![
            forecast("GEN005", day(8), 1),
            forecast("GEN005", day(7), 2),
            forecast("GEN004", day(8), 2),
            forecast("GEN005", day(8), 2),
        ];
        let kept: Vec<(String, u32, i32)> = super::last_per_row(epoch)
            .iter()
            .map(|p| (p.ticker.to_string(), chrono::Datelike::day(&p.as_of), p.model_version))
            .collect();
        let want = [("GEN005", 7, 2), ("GEN004", 8, 2), ("GEN005", 8, 2)];
        assert_eq!(kept, want.map(|(t, d, v)| (t.to_owned(), d, v)));
    }

    #[test]
    fn the_model_version_gauge_follows_the_last_model_installed() {
        let metrics = Metrics::new().expect("metrics register");
        let mut report = EpochReport::default();
        report.loaded.push((ModelScope::parse("NVDA"), 4, Gate::PERSISTENCE));
        report.loaded.push((ModelScope::parse("ORCL"), 7, Gate { weight: 0.25 }));
        observe(&report, &metrics);
        assert_eq!(metrics.model_version.get(), 7);
        assert_eq!(metrics.models_loaded.get(), 2);
        assert_eq!(metrics.model_gate_weight.get(), 0.25);
        let serving = |forecaster| metrics.model_versions_serving.with_label_values(&[forecaster]).get();
        assert_eq!((serving("model"), serving("persistence")), (1, 1));
        observe(&EpochReport::default(), &metrics);
        assert_eq!(metrics.model_version.get(), 7, "an epoch without models keeps the gauge");
    }
}
