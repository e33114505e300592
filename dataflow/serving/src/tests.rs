//! The stage end to end on synthetic mart rows, with a real training thread.

use super::*;
use chrono::{Days, NaiveDate};
use pricestream_model::Gate;
use pricestream_model::ModelScope;
use pricestream_model::ScopeSetting;
use pricestream_model::{BacktestSummary, BoosterParams};
use pricestream_records::{FeatureRow, Forecaster, IndicatorKind, Prediction, Timeframe};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HORIZON: usize = 2;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default()
}

/// The mart row of `ticker` on day `day` (counted from [`start`]) with an RSI value.
fn row(ticker: &str, day: usize, close: f64, rsi: f64, label: Option<f64>) -> FeatureRow {
    FeatureRow {
        ticker: ticker.into(),
        timeframe: Timeframe::Day,
        date_time: start() + Days::new(day as u64),
        id: Some(day as i64 + 1),
        close,
        rsi: Some(rsi),
        rsi_time_period: Some(14),
        label,
        ..FeatureRow::default()
    }
}

/// Mart rows of `days` days of a ticker whose close creeps up 0.1 % a day; the last
/// `HORIZON` rows have no label yet, as in the mart.
fn rows(ticker: &str, days: usize) -> Vec<FeatureRow> {
    let close = |day: usize| 100.0 * 1.001_f64.powi(day as i32);
    (0..days)
        .map(|day| {
            row(ticker, day, close(day), rsi_of(day), (day + HORIZON < days).then(|| close(day + HORIZON)))
        })
        .collect()
}

/// The RSI of day `day` in [`rows`]: a saw tooth the model can learn nothing from.
fn rsi_of(day: usize) -> f64 {
    (day % 10) as f64 * 10.0
}

type Saved = Arc<Mutex<Vec<String>>>;

/// A stage whose store numbers versions per scope from 1 and records what it stored, and
/// whose loader knows `stored`.
fn stage(scope: ScopeSetting, stored: Vec<(ModelScope, ModelVersion)>) -> (ModelStage, Saved) {
    let policy = RetrainPolicy {
        min_training_rows: 50,
        retrain_every_rows: 10,
        holdout_fraction: 0.2,
        retrain_on_degradation: 0.0,
        error_window: 5,
        daily: false,
    };
    stage_with(scope, stored, policy)
}

fn stage_with(
    scope: ScopeSetting,
    stored: Vec<(ModelScope, ModelVersion)>,
    policy: RetrainPolicy,
) -> (ModelStage, Saved) {
    let saved: Saved = Arc::default();
    let seen = Arc::clone(&saved);
    let store: Store = Box::new(move |record| {
        let mut seen = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        seen.push(record.scope.to_string());
        Ok(seen.iter().filter(|scope| **scope == record.scope.to_string()).count() as i32)
    });
    let load: Load = Box::new(move |scope| {
        Ok(stored.iter().filter(|(stored, _)| stored == scope).map(|(_, model)| model.clone()).collect())
    });
    (stage_of(scope, policy, store, load), saved)
}

/// A stage of the test settings (small trees, rows with an RSI) training with `store` and
/// starting from `load`.
fn stage_of(scope: ScopeSetting, policy: RetrainPolicy, store: Store, load: Load) -> ModelStage {
    let settings = StageSettings {
        scope,
        params: BoosterParams { n_estimators: 5, threads: 1, ..BoosterParams::default() },
        policy,
        horizon_bars: HORIZON as u32,
        gate_margin: 0.01,
        indicators: vec![IndicatorKind::Rsi],
    };
    let trainer = Trainer::spawn("stage-test".into(), store).unwrap_or_else(|e| panic!("{e}"));
    ModelStage::new(settings, trainer, load)
}

/// Feeds each series of `history` as a replay (stored, not scored), closes the epoch and waits
/// for the versions it decides; returns the report of all that.
fn replay_and_train(stage: &mut ModelStage, history: &[Vec<FeatureRow>]) -> EpochReport {
    let mut report = EpochReport::default();
    for series in history {
        stage.apply(series, &[], false, &mut report);
    }
    stage.after_epoch(true, &mut report);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    report
}

/// A per-ticker stage without models that was fed `rows("AAA", days)` (`live`, or as a replay)
/// and published nothing for it; returns its store's record, the report and the rows.
fn aaa_fed(days: usize, live: bool) -> (ModelStage, Saved, EpochReport, Vec<FeatureRow>) {
    let (mut stage, saved) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = EpochReport::default();
    let history = rows("AAA", days);
    assert!(stage.apply(&history, &[], live, &mut report).is_empty());
    (stage, saved, report, history)
}

#[test]
fn versions_are_trained_off_the_scoring_path_at_fixed_label_counts_and_each_serves_its_dates() {
    // The history arrives in a replay: stored, not scored.
    let (mut stage, saved, mut report, _) = aaa_fed(100, false);
    assert!(stage.after_epoch(true, &mut report).is_empty());
    assert_eq!(report.queued, 1, "the 50th label decides version 1; the next waits for it");
    let published = stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    // 98 labelled rows: versions at the 50th, 60th, 70th, 80th and 90th label.
    let trained: Vec<i64> = report.installed.iter().map(|m| m.record.training_rows).collect();
    assert_eq!(trained, [50, 60, 70, 80, 90]);
    assert_eq!(*saved.lock().unwrap_or_else(|e| e.into_inner()), ["AAA"; 5]);
    // The n-th label is day n − 1's, known on day n + 1: version k serves from that day on.
    let last = final_forecasts(&published);
    let serves = |day: u64| last.get(&(start() + Days::new(day))).map(|f| f.model_version);
    assert_eq!(serves(50), None, "before version 1's first day");
    assert_eq!(
        (serves(51), serves(60), serves(61), serves(90), serves(91), serves(99)),
        (Some(1), Some(1), Some(2), Some(4), Some(5), Some(5))
    );
    // Day 99 is Thursday 2020-04-09: two weekdays later is Monday.
    let newest = &last[&(start() + Days::new(99))];
    assert_eq!(
        (newest.feature_row_id, newest.target_date),
        (100, NaiveDate::from_ymd_opt(2020, 4, 13).unwrap_or_default())
    );
    assert!(published.iter().all(|f| f.model_scope == "AAA" && f.horizon_bars == 2));
    // Each version scores only the dates it serves (and, until the next is trained, the two
    // unlabelled newest): 49 dates, not 49 per version.
    assert_eq!(
        published.len(),
        49 + 4 * 2,
        "{:?}",
        published.iter().map(|f| (f.as_of, f.model_version)).collect::<Vec<_>>()
    );
    let holdout = report.installed[0].record.backtest.as_ref().map(|h| h.model.rows);
    assert_eq!(holdout, Some(10), "20 % of version 1's 50 labelled rows");
}

/// The last forecast published for each date.
fn final_forecasts(published: &[Prediction]) -> BTreeMap<NaiveDate, Prediction> {
    published.iter().map(|forecast| (forecast.as_of, forecast.clone())).collect()
}

#[test]
fn a_new_day_is_scored_at_once_and_a_retraining_follows_the_label_count() {
    let (mut stage, _) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = replay_and_train(&mut stage, &[rows("AAA", 100)]);
    // Day 100 arrives: its row (unlabelled) and the label of day 98's row, the 99th label.
    let all = rows("AAA", 102);
    let forecasts = stage.apply(&[all[98].clone(), rows("AAA", 101)[100].clone()], &[], true, &mut report);
    assert_eq!(forecasts.len(), 1, "only the new day: day 98 is served by version 5 already");
    let forecast = &forecasts[0];
    assert_eq!(
        (forecast.as_of, forecast.feature_row_id, forecast.model_version),
        (start() + Days::new(100), 101, 5)
    );
    // A sanity check of the forecast: the model learned a small positive change.
    let close = all[100].close;
    assert!(
        forecast.predicted_close > close * 0.99 && forecast.predicted_close < close * 1.01,
        "{forecast:?}"
    );
    let mut report = EpochReport::default();
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0, "99 labels: the next version comes with the 100th");
    // Day 101: day 99's label, the 100th.
    stage.apply(&[all[99].clone(), all[101].clone()], &[], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 1);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Ticker("AAA".into())), Some(6));
}

#[test]
fn a_stored_model_is_used_at_once_and_a_global_scope_scores_every_ticker() {
    let (mut first, _) = stage(ScopeSetting::Global, vec![]);
    let mut report = replay_and_train(&mut first, &[rows("AAA", 40), rows("BBB", 40)]);
    assert_eq!(first.model_version(&ModelScope::Global), Some(3), "76 labels over two tickers: 50, 60, 70");
    let record = report.installed.remove(2).record;

    // A restart with the stored version: it scores without training.
    let stored = vec![(ModelScope::Global, ModelVersion::new(3, &record))];
    let (mut restarted, saved) = stage(ScopeSetting::Global, stored);
    let mut report = EpochReport::default();
    restarted.apply(&rows("AAA", 40), &[], false, &mut report);
    restarted.apply(&rows("BBB", 40), &[], false, &mut report);
    restarted.after_epoch(true, &mut report);
    assert_eq!(report.loaded, [(ModelScope::Global, 3, record.gate)]);
    assert_eq!(report.queued, 0, "the stored model is current: no retraining");
    let forecasts = restarted.apply(&rows("BBB", 41)[40..], &[], true, &mut report);
    assert_eq!(
        forecasts.iter().map(|f| (f.ticker.as_str(), f.model_version)).collect::<Vec<_>>(),
        [("BBB", 3)]
    );
    assert!(saved.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
}

#[test]
fn rows_without_a_model_wait_and_deleted_rows_leave_the_training_set() {
    let (mut stage, _, mut report, history) = aaa_fed(52, true);
    assert_eq!(report.waiting_for_a_model, 2);
    // Delete one labelled row: 49 < 50, no training.
    stage.apply(&[], &[("AAA".into(), Timeframe::Day, history[0].date_time)], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0);
}

/// A per-ticker stage whose AAA model was trained on `rows("AAA", 100)` (first at the 50th
/// label, then wherever its window degraded), with `retrain_on_degradation` as given and an
/// error window of 5; returns the newest version's number and holdout summary.
fn aaa_trained_on_history(retrain_on_degradation: f64) -> (ModelStage, i32, BacktestSummary) {
    let policy = RetrainPolicy {
        min_training_rows: 50,
        retrain_every_rows: 0,
        holdout_fraction: 0.2,
        retrain_on_degradation,
        error_window: 5,
        daily: false,
    };
    let (mut stage, _) = stage_with(ScopeSetting::PerTicker, vec![], policy);
    let report = replay_and_train(&mut stage, &[rows("AAA", 100)]);
    let newest = report.installed.last().expect("a version");
    let holdout = newest.record.backtest.clone().expect("a holdout");
    (stage, newest.version, holdout)
}

/// AAA's row of `day` on a series whose closes are `close(day)`, its label known once
/// `day + HORIZON <= known_until`.
fn aaa_row(close: impl Fn(usize) -> f64, day: usize, known_until: usize) -> FeatureRow {
    row("AAA", day, close(day), rsi_of(day), (day + HORIZON <= known_until).then(|| close(day + HORIZON)))
}

#[test]
fn forecasts_that_err_far_more_than_the_holdout_trigger_a_retraining() {
    let (mut stage, version, holdout) = aaa_trained_on_history(0.5);
    let holdout_mae = holdout.gated.mae;

    // From day 100 the close swings ±10 % in a 3-day cycle: the creeping model errs by dollars
    // where its holdout error was cents.
    let close = |day: usize| {
        if day < 100 { 100.0 * 1.001_f64.powi(day as i32) } else { 100.0 * (0.9 + 0.1 * (day % 3) as f64) }
    };
    let mut queued_on = None;
    for day in 100..120 {
        let mut report = EpochReport::default();
        let today = [aaa_row(close, day - HORIZON, day), aaa_row(close, day, day)];
        let forecasts = stage.apply(&today, &[], true, &mut report);
        assert_eq!(forecasts.len(), 1, "day {day} is scored");
        stage.after_epoch(true, &mut report);
        if report.queued > 0 {
            let (scope, live_mae) = &report.degraded[0];
            assert_eq!(scope, &ModelScope::Ticker("AAA".into()));
            assert!(*live_mae > 1.5 * holdout_mae, "{live_mae} vs {holdout_mae}");
            queued_on = Some(day);
            break;
        }
    }
    // The history's versions served it well: the window is full of small errors.
    // Day 98's label, the close of day 100, is the first swing; one error of dollars among five
    // of cents already puts the window's MAE far past the holdout's.
    assert_eq!(queued_on, Some(100));
    let mut report = EpochReport::default();
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Ticker("AAA".into())), Some(version + 1));
}

#[test]
fn forecasts_worse_than_persistence_are_reported_and_retrained() {
    // Degradation against the holdout error off: only the comparison with persistence acts.
    let (mut stage, version, holdout) = aaa_trained_on_history(0.0);
    assert!(
        holdout.baseline.mae > holdout.model.mae,
        "version 1 beat persistence on its holdout: {holdout:?}"
    );

    // From day 100 the close stands still: persistence is exact, the model still forecasts the
    // creep it learned.
    let close = |day: usize| 100.0 * 1.001_f64.powi(day.min(99) as i32);
    let (mut queued_on, mut skills, mut below) = (None, Vec::new(), 0);
    for day in 100..120 {
        let mut report = EpochReport::default();
        stage.apply(&[aaa_row(close, day - HORIZON, day), aaa_row(close, day, day)], &[], true, &mut report);
        stage.after_epoch(true, &mut report);
        skills.extend(report.live_skill.iter().map(|(_, skill)| *skill));
        below += report.below_persistence_change;
        if report.queued > 0 {
            assert_eq!(report.degraded[0].0, ModelScope::Ticker("AAA".into()));
            queued_on = Some(day);
            break;
        }
    }
    // The window is full of forecasts of the history, better than persistence;
    // from day 101 on persistence is exact, and on day 102 (day 100's label) the window turns.
    assert_eq!(queued_on, Some(102));
    let (last, before) = skills.split_last().unwrap_or_else(|| panic!("no skill reported"));
    assert!(*last < 1.0, "the served forecasts were worse than persistence: {skills:?}");
    assert!(before.iter().all(|skill| *skill >= 1.0), "better before: {skills:?}");
    assert_eq!(below, 1, "one scope below persistence");
    let mut report = EpochReport::default();
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Ticker("AAA".into())), Some(version + 1));
    assert_eq!(report.below_persistence_change, -1, "a new version starts its own window");
}

/// A global model retrained daily, its version 1 trained on the first 60 days of AAA and BBB.
fn daily_global_stage_at_version_1() -> ModelStage {
    let policy = RetrainPolicy {
        min_training_rows: 50,
        retrain_every_rows: 0,
        holdout_fraction: 0.2,
        retrain_on_degradation: 0.0,
        error_window: 5,
        daily: true,
    };
    let (mut stage, _) = stage_with(ScopeSetting::Global, vec![], policy);
    replay_and_train(&mut stage, &[rows("AAA", 60), rows("BBB", 60)]);
    assert_eq!(stage.model_version(&ModelScope::Global), Some(1));
    stage
}

#[test]
fn the_daily_policy_retrains_a_global_model_once_per_trading_day_declared() {
    let mut stage = daily_global_stage_at_version_1();

    // Day 60 arrives for both tickers: no training until the day is declared; then version 2.
    let mut report = EpochReport::default();
    for ticker in ["AAA", "BBB"] {
        stage.apply(&rows(ticker, 61)[58..], &[], true, &mut report);
    }
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0, "the day is not declared yet");
    stage.trading_day_declared();
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 1);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Global), Some(2));
    // Nothing new: no further training.
    let mut report = EpochReport::default();
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0);
}

#[test]
fn a_corrected_newest_row_is_re_scored_with_the_model_on_its_corrected_inputs() {
    let (mut stage, _) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = EpochReport::default();
    let history = rows("AAA", 100);
    stage.apply(&history, &[], false, &mut report);
    stage.after_epoch(true, &mut report);
    let first = stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    let newest_version = report.installed.last().map(|m| (m.version, &m.record));
    let (version, record) = newest_version.unwrap_or_else(|| panic!("no version installed"));
    let (booster, gate) = (record.booster.clone(), record.gate);
    let newest = start() + Days::new(99);
    let before = first.iter().rev().find(|f| f.as_of == newest).map(|f| f.predicted_close);
    let before = before.unwrap_or_else(|| panic!("day 99 was scored: {first:?}"));

    // The bar of day 99 is corrected: a 5 % higher close, and the RSI and EMA recomputed.
    let mut corrected = history[99].clone();
    corrected.close *= 1.05;
    corrected.rsi = Some(35.0);
    corrected.ema = Some(corrected.close * 0.98);
    let mut report = EpochReport::default();
    let reissued = stage.apply(std::slice::from_ref(&corrected), &[], true, &mut report);

    // The oracle: the booster on the corrected inputs, built here from their definitions in
    // docs/model.md (ema_gap = ema / close - 1, RSI as is, everything else missing), and the
    // price = close x (1 + predicted change), served through the version's gate.
    let mut inputs = [f32::NAN; pricestream_model::N_FEATURES];
    inputs[0] = (0.98_f64 - 1.0) as f32;
    inputs[4] = 35.0;
    let change = booster.predict_row(&inputs).unwrap_or_else(|e| panic!("{e}"));
    let model = corrected.close * (1.0 + f64::from(change));
    let expected = corrected.close + gate.weight * (model - corrected.close);
    assert_eq!(reissued.len(), 1, "{reissued:?}");
    let forecast = &reissued[0];
    assert_eq!(
        (forecast.ticker.as_str(), forecast.as_of, forecast.feature_row_id, forecast.model_version),
        ("AAA", newest, 100, version)
    );
    assert!((forecast.predicted_close - expected).abs() < 1e-9, "{} vs {expected}", forecast.predicted_close);
    assert!(
        (forecast.predicted_close - before).abs() > 1.0,
        "the correction moved the forecast from {before}"
    );

    // A correction of a row older than the newest version's first day changes the training
    // set, not a forecast.
    let mut old = history[50].clone();
    old.close *= 1.05;
    assert!(stage.apply(&[old], &[], true, &mut report).is_empty());
    // The same row again (a re-delivery) changes no forecast: nothing is published.
    assert!(stage.apply(&[corrected], &[], true, &mut report).is_empty());
}

/// Mart rows of a ticker whose daily moves are ±1 % by a fixed pseudo-random sequence that no
/// input knows (its RSI column is another, unrelated sequence); the last `HORIZON` rows have no
/// label yet.
fn noise_rows(ticker: &str, days: usize) -> Vec<FeatureRow> {
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / f64::from(1_u32 << 31)
    };
    let mut closes = vec![100.0_f64];
    let mut rsi = Vec::new();
    for _ in 0..days + HORIZON {
        let last = closes[closes.len() - 1];
        closes.push(last * if next() < 0.5 { 0.99 } else { 1.01 });
        rsi.push(next() * 100.0);
    }
    (0..days)
        .map(|day| {
            row(ticker, day, closes[day], rsi[day], (day + HORIZON < days).then(|| closes[day + HORIZON]))
        })
        .collect()
}

#[test]
fn the_gate_serves_the_model_where_it_has_skill_and_persistence_where_it_has_none() {
    let policy = RetrainPolicy {
        min_training_rows: 250,
        retrain_every_rows: 0,
        holdout_fraction: 0.2,
        retrain_on_degradation: 0.0,
        error_window: 5,
        daily: false,
    };
    let (mut stage, _) = stage_with(ScopeSetting::PerTicker, vec![], policy);
    let mut report = EpochReport::default();
    let (creeping, noise) = (rows("AAA", 300), noise_rows("BBB", 300));
    stage.apply(&creeping, &[], false, &mut report);
    stage.apply(&noise, &[], false, &mut report);
    stage.after_epoch(true, &mut report);
    let forecasts = stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    let gate = |scope: &str| {
        let installed = report.installed.iter().find(|m| m.record.scope.as_str() == scope);
        installed.map(|m| (m.record.gate, m.record.booster.clone())).expect("installed")
    };

    // AAA moves +0.2 % every two days, which persistence always misses and the model learned.
    let (aaa_gate, aaa_model) = gate("AAA");
    assert!(aaa_gate.weight > 0.9, "{aaa_gate:?}");
    for forecast in forecasts.iter().filter(|f| f.ticker == "AAA") {
        let row = &creeping[forecast.feature_row_id as usize - 1];
        let change = aaa_model.predict_row(&pricestream_model::model_inputs(row)).expect("scores");
        let model = pricestream_model::predicted_close(row.close, change);
        assert_eq!(forecast.predicted_close, aaa_gate.forecast(row.close, model));
        assert_eq!((forecast.forecaster, forecast.gate_weight), (Forecaster::Model, aaa_gate.weight));
    }

    // BBB is a coin flip: the gate serves today's close, and says so.
    let (bbb_gate, _) = gate("BBB");
    assert_eq!(bbb_gate, Gate::PERSISTENCE);
    let bbb: Vec<&Prediction> = forecasts.iter().filter(|f| f.ticker == "BBB").collect();
    assert_eq!(bbb.len(), 300 - 251, "every day from day 251, the 250th label's");
    for forecast in bbb {
        let row = &noise[forecast.feature_row_id as usize - 1];
        assert_eq!(forecast.predicted_close.to_bits(), row.close.to_bits());
        assert_eq!((forecast.forecaster, forecast.gate_weight), (Forecaster::Persistence, 0.0));
    }
}

/// Every record stored, as the models table keeps them.
type Records = Arc<Mutex<Vec<(i32, pricestream_model::ModelRecord)>>>;

/// A per-ticker stage storing into `records` and loading the newest of a scope from them.
fn stage_on(records: &Records) -> ModelStage {
    let policy = RetrainPolicy {
        min_training_rows: 50,
        retrain_every_rows: 15,
        holdout_fraction: 0.2,
        retrain_on_degradation: 0.5,
        error_window: 5,
        daily: false,
    };
    let kept = Arc::clone(records);
    let store: Store = Box::new(move |record| {
        let mut kept = kept.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let version = kept.iter().filter(|(_, r)| r.scope == record.scope).count() as i32 + 1;
        kept.push((version, record.clone()));
        Ok(version)
    });
    let kept = Arc::clone(records);
    let load: Load = Box::new(move |scope| {
        let kept = kept.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let newest = kept.iter().rev().filter(|(_, record)| &record.scope == scope).take(2);
        Ok(newest.map(|(version, record)| ModelVersion::new(*version, record)).collect())
    });
    stage_of(ScopeSetting::PerTicker, policy, store, load)
}

/// The rows of `all` as they are known on `day`: that day's row, and the label that day brings.
fn day_of(all: &[Vec<FeatureRow>], day: usize) -> Vec<FeatureRow> {
    let mut rows = Vec::new();
    for series in all {
        let mut today = series[day].clone();
        today.label = None;
        rows.push(today);
        if day >= HORIZON {
            rows.push(series[day - HORIZON].clone());
        }
    }
    rows
}

/// What the table would hold: the last forecast per ticker and date, as (version, weight, bits).
type Final = BTreeMap<(String, NaiveDate), (i32, u64, u64)>;

fn keep(table: &mut Final, published: Vec<Prediction>) {
    for forecast in published {
        let value =
            (forecast.model_version, forecast.gate_weight.to_bits(), forecast.predicted_close.to_bits());
        table.insert((forecast.ticker.clone(), forecast.as_of), value);
    }
}

/// The stored versions: scope, version, rows, model and gate (not when they were trained).
fn versions(records: &Records) -> Vec<(String, i32, i64, String, u64, Option<i32>)> {
    let records = records.lock().unwrap_or_else(|e| e.into_inner());
    let mut versions: Vec<_> = records
        .iter()
        .map(|(version, r)| {
            let (booster, weight) = (r.booster.to_json(), r.gate.weight.to_bits());
            (r.scope.to_string(), *version, r.training_rows, booster, weight, r.kept_version())
        })
        .collect();
    versions.sort();
    versions
}

#[test]
fn a_restart_any_epoch_boundaries_and_late_values_publish_the_same_forecasts_and_versions() {
    const DAYS: usize = 200;
    let all = vec![rows("AAA", DAYS), noise_rows("BBB", DAYS)];

    // A: every day's rows in one epoch each, trainings installed whenever they finish.
    let run_live = |stage: &mut ModelStage, days: std::ops::Range<usize>, table: &mut Final| {
        for day in days {
            let mut report = EpochReport::default();
            keep(table, stage.apply(&day_of(&all, day), &[], true, &mut report));
            keep(table, stage.after_epoch(true, &mut report));
        }
    };
    let finish = |stage: &mut ModelStage, table: &mut Final| {
        let mut report = EpochReport::default();
        keep(table, stage.wait_for_trainings(Duration::from_secs(60), &mut report));
        assert!(stage.settled());
    };
    let (uninterrupted, mut a) = (Records::default(), Final::new());
    let mut stage = stage_on(&uninterrupted);
    run_live(&mut stage, 0..DAYS, &mut a);
    finish(&mut stage, &mut a);
    drop(stage);

    // B: the whole history in one epoch, as a backfill read by a running service.
    let (bulk, mut b) = (Records::default(), Final::new());
    let mut stage = stage_on(&bulk);
    let mut report = EpochReport::default();
    let history: Vec<FeatureRow> = all.iter().flat_map(|series| series.iter().cloned()).collect();
    keep(&mut b, stage.apply(&history, &[], true, &mut report));
    keep(&mut b, stage.after_epoch(true, &mut report));
    finish(&mut stage, &mut b);
    drop(stage);

    // C: a crash on day 120 (what was queued and not stored is lost), then a restart that
    // replays the rows known by then without scoring and goes on.
    let (restarted, mut c) = (Records::default(), Final::new());
    let mut stage = stage_on(&restarted);
    run_live(&mut stage, 0..120, &mut c);
    drop(stage);
    let mut stage = stage_on(&restarted);
    let mut report = EpochReport::default();
    for day in 0..120 {
        stage.apply(&day_of(&all, day), &[], false, &mut report);
    }
    stage.after_epoch(false, &mut report);
    run_live(&mut stage, 120..DAYS, &mut c);
    finish(&mut stage, &mut c);

    // D: every bar first, its indicator value long after (another topic, read behind).
    let (late, mut d) = (Records::default(), Final::new());
    let mut stage = stage_on(&late);
    for day in 0..DAYS {
        let mut bars = day_of(&all, day);
        bars.iter_mut().for_each(|row| (row.rsi, row.rsi_time_period) = (None, None));
        let mut report = EpochReport::default();
        keep(&mut d, stage.apply(&bars, &[], true, &mut report));
        keep(&mut d, stage.after_epoch(true, &mut report));
    }
    for days in (0..DAYS).collect::<Vec<_>>().chunks(30) {
        let mut report = EpochReport::default();
        let values: Vec<FeatureRow> = days.iter().flat_map(|day| day_of(&all, *day)).collect();
        keep(&mut d, stage.apply(&values, &[], true, &mut report));
        keep(&mut d, stage.after_epoch(true, &mut report));
    }
    finish(&mut stage, &mut d);
    drop(stage);

    // Regular versions every 15 labels and, where a window degraded, versions in between.
    let stored = versions(&uninterrupted);
    assert!(stored.iter().any(|v| v.2 % 15 != 5), "no degraded window: {stored:?}");
    assert!(stored.len() > 20, "{}", stored.len());
    // Some new versions did not beat the one serving and kept it: the replays decide the same.
    let kept = stored.iter().filter(|v| v.5.is_some()).count();
    assert!(kept > 0 && kept < stored.len(), "{kept} of {} versions kept the one serving", stored.len());
    assert_eq!(versions(&bulk), versions(&uninterrupted), "bulk");
    assert_eq!(versions(&restarted), versions(&uninterrupted), "restart");
    assert_eq!(versions(&late), versions(&uninterrupted), "values after their bars");
    assert!(a.len() > 250, "{}", a.len());
    assert_eq!(b, a, "bulk");
    assert_eq!(c, a, "restart");
    assert_eq!(d, a, "values after their bars");
}
