//! The stage end to end on synthetic mart rows, with a real training thread.

use super::*;
use chrono::{Days, NaiveDate};
use pricestream_model::Gate;
use pricestream_model::ModelScope;
use pricestream_model::ScopeSetting;
use pricestream_model::{BacktestSummary, BoosterParams};
use pricestream_records::{FeatureRow, Forecaster, Prediction, Timeframe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HORIZON: usize = 2;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default()
}

/// Mart rows of `days` days of a ticker whose close creeps up 0.1 % a day; the last
/// `HORIZON` rows have no label yet, as in the mart.
fn rows(ticker: &str, days: usize) -> Vec<FeatureRow> {
    let close = |day: usize| 100.0 * 1.001_f64.powi(day as i32);
    (0..days)
        .map(|day| FeatureRow {
            ticker: ticker.into(),
            timeframe: Timeframe::Day,
            date_time: start() + Days::new(day as u64),
            id: Some(day as i64 + 1),
            close: close(day),
            rsi: Some((day % 10) as f64 * 10.0),
            label: (day + HORIZON < days).then(|| close(day + HORIZON)),
            ..FeatureRow::default()
        })
        .collect()
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
        daily: None,
        daily_tickers: Default::default(),
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
        Ok(stored.iter().find(|(stored, _)| stored == scope).map(|(_, model)| model.clone()))
    });
    let settings = StageSettings {
        scope,
        params: BoosterParams { n_estimators: 5, threads: 1, ..BoosterParams::default() },
        policy,
        horizon_bars: HORIZON as u32,
        gate_margin: 0.01,
    };
    let trainer = Trainer::spawn("stage-test".into(), store).unwrap_or_else(|e| panic!("{e}"));
    (ModelStage::new(settings, trainer, load), saved)
}

#[test]
fn the_first_model_is_trained_off_the_scoring_path_then_scores_the_newest_rows() {
    let (mut stage, saved) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = EpochReport::default();
    // The history arrives in a replay: stored, not scored.
    let history = rows("AAA", 100);
    assert!(stage.apply(&history, &[], false, &mut report).is_empty());
    assert!(stage.after_epoch(true, &mut report).is_empty());
    assert_eq!(report.queued, 1, "98 labelled rows >= 50: the first model is queued");
    let installed = stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    // The two unlabelled rows (days 98 and 99) are scored with version 1.
    let mut as_of: Vec<_> = installed.iter().map(|f| (f.as_of, f.feature_row_id, f.model_version)).collect();
    as_of.sort();
    assert_eq!(as_of, [(start() + Days::new(98), 99, 1), (start() + Days::new(99), 100, 1)]);
    // Day 99 is Thursday 2020-04-09: two weekdays later is Monday.
    assert_eq!(installed.iter().map(|f| f.target_date).max(), NaiveDate::from_ymd_opt(2020, 4, 13));
    assert!(installed.iter().all(|f| f.model_scope == "AAA" && f.horizon_bars == 2));
    assert_eq!(*saved.lock().unwrap_or_else(|e| e.into_inner()), ["AAA"]);
    let holdout = report.installed[0].record.backtest.as_ref().map(|h| h.model.rows);
    assert_eq!(holdout, Some(19), "20 % of 98 labelled rows");
}

#[test]
fn a_new_day_is_scored_at_once_and_a_retraining_follows_the_policy() {
    let (mut stage, _) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = EpochReport::default();
    stage.apply(&rows("AAA", 100), &[], false, &mut report);
    stage.after_epoch(true, &mut report);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    // Day 100 arrives: its row (unlabelled) and the label of day 98's row.
    let all = rows("AAA", 101);
    let new_day = [all[98].clone(), all[100].clone()];
    let forecasts = stage.apply(&new_day, &[], true, &mut report);
    assert_eq!(forecasts.len(), 1);
    let forecast = &forecasts[0];
    assert_eq!(
        (forecast.as_of, forecast.feature_row_id, forecast.model_version),
        (start() + Days::new(100), 101, 1)
    );
    // A sanity check of the forecast: the model learned a small positive change.
    let close = all[100].close;
    assert!(
        forecast.predicted_close > close * 0.99 && forecast.predicted_close < close * 1.01,
        "{forecast:?}"
    );
    // Day 98's label was the first new one since version 1; eight more: no retraining yet,
    // the tenth queues version 2.
    let mut report = EpochReport::default();
    let more = rows("AAA", 111);
    stage.apply(&more[99..107], &[], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0);
    stage.apply(&more[107..108], &[], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 1);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Ticker("AAA".into())), Some(2));
}

#[test]
fn a_stored_model_is_used_at_once_and_a_global_scope_scores_every_ticker() {
    let (mut first, _) = stage(ScopeSetting::Global, vec![]);
    let mut report = EpochReport::default();
    first.apply(&rows("AAA", 40), &[], false, &mut report);
    first.apply(&rows("BBB", 40), &[], false, &mut report);
    first.after_epoch(true, &mut report);
    first.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(first.model_version(&ModelScope::Global), Some(1), "76 labelled rows over two tickers");
    let record = report.installed.remove(0).record;

    // A restart with the stored version: it scores without training.
    let stored = vec![(ModelScope::Global, ModelVersion::new(1, &record))];
    let (mut restarted, saved) = stage(ScopeSetting::Global, stored);
    let mut report = EpochReport::default();
    restarted.apply(&rows("AAA", 40), &[], false, &mut report);
    restarted.after_epoch(true, &mut report);
    assert_eq!(report.loaded, [(ModelScope::Global, 1, record.gate)]);
    assert_eq!(report.queued, 0, "the stored model is current: no retraining");
    let forecasts = restarted.apply(&rows("BBB", 41)[40..], &[], true, &mut report);
    assert_eq!(
        forecasts.iter().map(|f| (f.ticker.as_str(), f.model_version)).collect::<Vec<_>>(),
        [("BBB", 1)]
    );
    assert!(saved.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
}

#[test]
fn rows_without_a_model_wait_and_deleted_rows_leave_the_training_set() {
    let (mut stage, _) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = EpochReport::default();
    let history = rows("AAA", 52);
    assert!(stage.apply(&history, &[], true, &mut report).is_empty());
    assert_eq!(report.waiting_for_a_model, 2);
    // Delete one labelled row: 49 < 50, no training.
    stage.apply(&[], &[("AAA".into(), Timeframe::Day, history[0].date_time)], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0);
}

/// A per-ticker stage whose AAA model, version 1, was trained on `rows("AAA", 100)`, with
/// `retrain_on_degradation` as given and an error window of 5; returns its holdout summary.
fn aaa_at_version_1(retrain_on_degradation: f64) -> (ModelStage, BacktestSummary) {
    let policy = RetrainPolicy {
        min_training_rows: 50,
        retrain_every_rows: 0,
        holdout_fraction: 0.2,
        retrain_on_degradation,
        error_window: 5,
        daily: None,
        daily_tickers: Default::default(),
    };
    let (mut stage, _) = stage_with(ScopeSetting::PerTicker, vec![], policy);
    let mut report = EpochReport::default();
    stage.apply(&rows("AAA", 100), &[], false, &mut report);
    stage.after_epoch(true, &mut report);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    let holdout = report.installed[0].record.backtest.clone().expect("a holdout");
    (stage, holdout)
}

/// AAA's row of `day` on a series whose closes are `close(day)`, its label known once
/// `day + HORIZON <= known_until`.
fn aaa_row(close: impl Fn(usize) -> f64, day: usize, known_until: usize) -> FeatureRow {
    FeatureRow {
        ticker: "AAA".into(),
        timeframe: Timeframe::Day,
        date_time: start() + Days::new(day as u64),
        id: Some(day as i64 + 1),
        close: close(day),
        rsi: Some((day % 10) as f64 * 10.0),
        label: (day + HORIZON <= known_until).then(|| close(day + HORIZON)),
        ..FeatureRow::default()
    }
}

#[test]
fn forecasts_that_err_far_more_than_the_holdout_trigger_a_retraining() {
    let (mut stage, holdout) = aaa_at_version_1(0.5);
    let holdout_mae = holdout.model.mae;

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
    // Days 98 and 99 were forecast by the history's scoring; their labels arrive on days 100
    // and 101, day 100's on day 102: the fifth labelled forecast is day 102's, on day 104.
    assert_eq!(queued_on, Some(104));
    let mut report = EpochReport::default();
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Ticker("AAA".into())), Some(2));
}

#[test]
fn forecasts_worse_than_persistence_are_reported_and_retrained() {
    // Degradation against the holdout error off: only the comparison with persistence acts.
    let (mut stage, holdout) = aaa_at_version_1(0.0);
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
    // The fifth labelled forecast arrives on day 104 (see the test above); from then on the
    // window is full and its skill is reported.
    assert_eq!(queued_on, Some(104));
    assert_eq!(skills.len(), 1, "{skills:?}");
    assert!(skills[0] < 1.0, "the served forecasts were worse than persistence: {skills:?}");
    assert_eq!(below, 1, "one scope below persistence");
    let mut report = EpochReport::default();
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Ticker("AAA".into())), Some(2));
    assert_eq!(report.below_persistence_change, -1, "a new version starts its own window");
}

/// A global model retrained daily (`daily_tickers` as given), its version 1 trained on the
/// first 60 days of AAA and BBB.
fn daily_global_stage_at_version_1(daily_tickers: std::collections::BTreeSet<String>) -> ModelStage {
    let policy = RetrainPolicy {
        min_training_rows: 50,
        retrain_every_rows: 0,
        holdout_fraction: 0.2,
        retrain_on_degradation: 0.0,
        error_window: 5,
        daily: Some(Duration::from_secs(600)),
        daily_tickers,
    };
    let (mut stage, _) = stage_with(ScopeSetting::Global, vec![], policy);
    let mut report = EpochReport::default();
    stage.apply(&rows("AAA", 60), &[], false, &mut report);
    stage.apply(&rows("BBB", 60), &[], false, &mut report);
    stage.after_epoch(true, &mut report);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Global), Some(1));
    stage
}

#[test]
fn the_daily_policy_retrains_a_global_model_once_every_ticker_has_the_new_day() {
    let mut stage = daily_global_stage_at_version_1(Default::default());

    // Day 60 arrives for AAA: BBB's bar is missing, no training; then BBB's: version 2.
    let mut report = EpochReport::default();
    stage.apply(&rows("AAA", 61)[58..], &[], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0, "BBB has no bar for the new day yet");
    stage.apply(&rows("BBB", 61)[58..], &[], true, &mut report);
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
    let booster = report.installed[0].record.booster.clone();
    let gate = report.installed[0].record.gate;
    let newest = start() + Days::new(99);
    let before = first.iter().find(|f| f.as_of == newest).map(|f| f.predicted_close);
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
        ("AAA", newest, 100, 1)
    );
    assert!((forecast.predicted_close - expected).abs() < 1e-9, "{} vs {expected}", forecast.predicted_close);
    assert!(
        (forecast.predicted_close - before).abs() > 1.0,
        "the correction moved the forecast from {before}"
    );

    // A correction of a row whose label is known changes the training set, not a forecast.
    let mut old = history[50].clone();
    old.close *= 1.05;
    assert!(stage.apply(&[old], &[], true, &mut report).is_empty());
    // The stage scores what it is given: the dataflow nets an unchanged re-delivery away
    // (run::changes), and were the same row given again its forecast would be the same.
    let again = stage.apply(&[corrected], &[], true, &mut report);
    assert_eq!(
        again.iter().map(|f| (f.as_of, f.predicted_close)).collect::<Vec<_>>(),
        [(newest, forecast.predicted_close)]
    );
}

#[test]
fn the_daily_policy_waits_for_every_configured_ticker_even_one_not_met_yet() {
    let mut stage = daily_global_stage_at_version_1(["AAA", "BBB", "CCC"].map(String::from).into());

    // Day 60 arrives for both tickers met so far: without the list that completes the day
    // (the test above), but CCC is configured and has no bar yet.
    let mut report = EpochReport::default();
    stage.apply(&rows("AAA", 61)[58..], &[], true, &mut report);
    stage.apply(&rows("BBB", 61)[58..], &[], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 0, "CCC has no bar for the new day yet");
    stage.apply(&rows("CCC", 61)[60..], &[], true, &mut report);
    stage.after_epoch(true, &mut report);
    assert_eq!(report.queued, 1);
    stage.wait_for_trainings(Duration::from_secs(60), &mut report);
    assert_eq!(stage.model_version(&ModelScope::Global), Some(2));
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
        .map(|day| FeatureRow {
            ticker: ticker.into(),
            timeframe: Timeframe::Day,
            date_time: start() + Days::new(day as u64),
            id: Some(day as i64 + 1),
            close: closes[day],
            rsi: Some(rsi[day]),
            label: (day + HORIZON < days).then(|| closes[day + HORIZON]),
            ..FeatureRow::default()
        })
        .collect()
}

#[test]
fn the_gate_serves_the_model_where_it_has_skill_and_persistence_where_it_has_none() {
    let (mut stage, _) = stage(ScopeSetting::PerTicker, vec![]);
    let mut report = EpochReport::default();
    let (creeping, noise) = (rows("AAA", 100), noise_rows("BBB", 300));
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
    assert_eq!(bbb.len(), HORIZON);
    for forecast in bbb {
        let row = &noise[forecast.feature_row_id as usize - 1];
        assert_eq!(forecast.predicted_close.to_bits(), row.close.to_bits());
        assert_eq!((forecast.forecaster, forecast.gate_weight), (Forecaster::Persistence, 0.0));
    }
}
