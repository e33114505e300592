//! When a scope trains, decided from its data alone, so that a restart or a rebuild trains the
//! same versions and serves every row with the same one as an uninterrupted run.
//!
//! A cursor walks the scope's labelled rows in the order their labels became known. At each row
//! it (1) adds the error of the row's final forecast to the live window of the version that
//! served it, and (2) decides whether a version is trained here: the first once
//! `min_training_rows` labels are known, then every `retrain_every_rows` labels, every new label
//! date with the daily policy on a per-ticker scope, and where the newest version's live window
//! degraded. A version decided at a row is trained on every row whose label is known by that
//! row's label date, and serves the rows dated from that label date on (a forecast made at a
//! day's close may use every label known that day). The cursor never runs ahead of what it can
//! know: at a row that a version still in training serves, it stops until that version is
//! installed, because the row's final forecast, and so the window, depends on it.

use super::policy::RetrainPolicy;
use chrono::NaiveDate;
use pricestream_records::Timeframe;
use std::collections::VecDeque;

/// Where the cursor is: the label date, date and ticker of the last row it passed.
pub type CursorKey = (NaiveDate, NaiveDate, String);

/// One labelled row as the cursor sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledRow {
    /// When its label became known: the date of the bar `horizon_bars` later.
    pub label_date: NaiveDate,
    /// The row's date.
    pub date: NaiveDate,
    /// Its ticker.
    pub ticker: String,
    /// Its series' bar interval.
    pub timeframe: Timeframe,
}

impl LabelledRow {
    /// The row's place in the cursor's order.
    pub fn key(&self) -> CursorKey {
        (self.label_date, self.date, self.ticker.clone())
    }
}

/// A version decided by the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// Labelled rows known when it was decided (what it is trained on, counted in order).
    pub labelled: usize,
    /// The first date it serves: the label date of the row it was decided at.
    pub serves_from: NaiveDate,
}

/// What the cursor did in one walk.
#[derive(Debug, Default, PartialEq)]
pub struct Walk {
    /// Versions to train, in order.
    pub points: Vec<Point>,
    /// Whether the newest version's window degraded somewhere (its mean absolute error).
    pub degraded: Option<f64>,
    /// The live skill of the newest version's last full window, if the walk added to it.
    pub live_skill: Option<f64>,
    /// Whether it stopped at a row a version in training serves.
    pub blocked: bool,
}

/// The cursor of one scope.
#[derive(Debug, Default)]
pub struct Schedule {
    /// The last row passed.
    pub cursor: Option<CursorKey>,
    /// Labelled rows passed.
    pub counted: usize,
    /// The newest version decided (trained, in training, or loaded).
    pub newest: Option<Point>,
    /// Versions decided and not installed yet, oldest first.
    pub pending: VecDeque<Point>,
    /// Errors (served forecast, persistence) of the newest installed version, newest last.
    window: VecDeque<(f64, f64)>,
    /// `serves_from` of the version the window belongs to.
    window_of: Option<NaiveDate>,
    /// Whether the newest version degraded already (one retraining per version).
    degraded_once: bool,
    /// Whether the newest installed version's last full window did worse than persistence.
    pub below_persistence: bool,
}

/// Persistence's error over the model's: above 1 the model forecasts better.
pub fn skill(persistence_error: f64, model_error: f64) -> f64 {
    if model_error > 0.0 {
        persistence_error / model_error
    } else if persistence_error > 0.0 {
        f64::MAX
    } else {
        1.0
    }
}

/// The newest installed version, as the cursor needs it.
#[derive(Clone, Copy, Debug)]
pub struct Serving {
    /// First date it serves.
    pub serves_from: NaiveDate,
    /// Its holdout MAE (of the served forecast), for the degradation check.
    pub holdout_mae: Option<f64>,
    /// Persistence's holdout MAE over its own.
    pub holdout_skill: Option<f64>,
}

impl Schedule {
    /// Walks `rows` (the scope's labelled rows after the cursor, in cursor order) with
    /// `serving` the newest installed version; `daily` makes every new label date a version.
    /// `errors` gives the absolute errors of the newest version's forecast of a row it serves
    /// and of persistence (it may score the row first); `None` when it was not forecast.
    pub fn walk(
        &mut self,
        rows: &[LabelledRow],
        serving: Option<Serving>,
        policy: &RetrainPolicy,
        daily: bool,
        mut errors: impl FnMut(&LabelledRow) -> Option<(f64, f64)>,
    ) -> Walk {
        let mut walk = Walk::default();
        let window = policy.error_window.max(1);
        let mut previous_label_date = self.cursor.as_ref().map(|(label_date, _, _)| *label_date);
        for row in rows {
            if self.pending.front().is_some_and(|pending| pending.serves_from <= row.date) {
                walk.blocked = true;
                break;
            }
            // The newest version serves this row: its error counts in its window.
            let newest_serves = self.pending.is_empty()
                && serving.is_some_and(|serving| serving.serves_from <= row.date)
                && self
                    .newest
                    .is_some_and(|newest| Some(newest.serves_from) == serving.map(|s| s.serves_from));
            let mut degraded_here = false;
            if let (true, Some(serving)) = (newest_serves, serving) {
                if self.window_of != Some(serving.serves_from) {
                    self.window.clear();
                    self.window_of = Some(serving.serves_from);
                    self.degraded_once = false;
                    self.below_persistence = false;
                }
                if let Some(errors) = errors(row) {
                    self.window.push_back(errors);
                    while self.window.len() > window {
                        self.window.pop_front();
                    }
                    if self.window.len() == window {
                        let live = self.window.iter().map(|(model, _)| model).sum::<f64>() / window as f64;
                        let baseline = self.window.iter().map(|(_, base)| base).sum::<f64>() / window as f64;
                        let live_skill = skill(baseline, live);
                        walk.live_skill = Some(live_skill);
                        self.below_persistence = live_skill < 1.0;
                        let fell_below = live_skill < 1.0 && serving.holdout_skill.is_some_and(|s| s >= 1.0);
                        if !self.degraded_once && (fell_below || policy.degraded(live, serving.holdout_mae)) {
                            self.degraded_once = true;
                            degraded_here = true;
                            walk.degraded = Some(live);
                        }
                    }
                }
            }
            self.counted += 1;
            let new_date = previous_label_date.is_none_or(|previous| row.label_date > previous);
            previous_label_date = Some(row.label_date);
            let regular = match self.newest {
                None => self.counted >= policy.min_training_rows.max(1),
                Some(newest) => {
                    (policy.retrain_every_rows > 0
                        && self.counted >= newest.labelled + policy.retrain_every_rows)
                        || (daily && new_date)
                }
            };
            self.cursor = Some(row.key());
            if regular || degraded_here {
                let point = Point { labelled: self.counted, serves_from: row.label_date };
                self.newest = Some(point);
                self.pending.push_back(point);
                walk.points.push(point);
            }
        }
        walk
    }

    /// Resumes after a stored version trained on `labelled` rows, decided at `at` (the cursor
    /// key of its last training row): the rows before were walked by the run that stored it.
    pub fn resume_after(&mut self, labelled: usize, at: CursorKey) {
        let point = Point { labelled, serves_from: at.0 };
        self.newest = Some(point);
        self.counted = labelled;
        self.cursor = Some(at);
    }

    /// Decides a version at the last row passed (a global scope's trading day completed), when
    /// none is in training and rows were passed since the newest.
    pub fn point_at_cursor(&mut self) -> Option<Point> {
        let newest = self.newest?;
        let cursor = self.cursor.as_ref()?;
        if !self.pending.is_empty() || self.counted <= newest.labelled {
            return None;
        }
        let point = Point { labelled: self.counted, serves_from: cursor.0 };
        self.newest = Some(point);
        self.pending.push_back(point);
        Some(point)
    }

    /// Marks the oldest pending version installed (or failed); returns it.
    pub fn installed(&mut self) -> Option<Point> {
        self.pending.pop_front()
    }

    /// Whether the cursor waits for nothing and has passed every row it was given.
    pub fn settled(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() + chrono::Days::new(d)
    }

    /// Row of day `d` of one ticker, labelled two days later.
    fn row(d: u64) -> LabelledRow {
        LabelledRow { label_date: day(d + 2), date: day(d), ticker: "AAA".into(), timeframe: Timeframe::Day }
    }

    fn policy(min: usize, every: usize) -> RetrainPolicy {
        RetrainPolicy {
            min_training_rows: min,
            retrain_every_rows: every,
            holdout_fraction: 0.2,
            retrain_on_degradation: 0.5,
            error_window: 3,
            daily: false,
        }
    }

    #[test]
    fn versions_fall_on_label_counts_and_the_cursor_waits_for_the_one_that_serves() {
        let mut schedule = Schedule::default();
        let rows: Vec<LabelledRow> = (0..20).map(row).collect();
        let walk = schedule.walk(&rows, None, &policy(5, 4), false, |_| None);
        // The 5th label (day 4's, known on day 6) decides version 1; day 6's row is the first it
        // serves, and it is still training: the cursor stops there.
        assert_eq!(walk.points, [Point { labelled: 5, serves_from: day(6) }]);
        assert!(walk.blocked);
        assert_eq!(schedule.counted, 6, "days 0 to 5 passed");
        assert_eq!(schedule.installed(), Some(Point { labelled: 5, serves_from: day(6) }));
        let serving = Serving { serves_from: day(6), holdout_mae: None, holdout_skill: None };
        let rest: Vec<LabelledRow> = rows[6..].to_vec();
        let walk = schedule.walk(&rest, Some(serving), &policy(5, 4), false, |_| None);
        assert_eq!(walk.points, [Point { labelled: 9, serves_from: day(10) }]);
        assert_eq!(schedule.cursor, Some((day(11), day(9), "AAA".into())));
    }

    #[test]
    fn the_same_rows_in_any_chunks_decide_the_same_versions() {
        let rows: Vec<LabelledRow> = (0..40).map(row).collect();
        let run = |chunk: usize| {
            let mut schedule = Schedule::default();
            let mut decided = Vec::new();
            let mut serving = None;
            let mut next = 0;
            while next < rows.len() {
                let end = (next + chunk).min(rows.len());
                let walk =
                    schedule.walk(&rows[next..end], serving, &policy(5, 7), false, |_| Some((1.0, 1.0)));
                decided.extend(walk.points);
                next = rows.iter().position(|r| Some(r.key()) == schedule.cursor).map_or(0, |p| p + 1);
                // Install whatever is pending before the next chunk.
                while let Some(point) = schedule.installed() {
                    serving = Some(Serving {
                        serves_from: point.serves_from,
                        holdout_mae: None,
                        holdout_skill: None,
                    });
                }
            }
            decided
        };
        assert_eq!(run(1), run(40));
        assert_eq!(run(3), run(40));
        assert_eq!(run(40).iter().map(|p| p.labelled).collect::<Vec<_>>(), [5, 12, 19, 26, 33, 40]);
    }

    #[test]
    fn a_degraded_window_decides_a_version_once() {
        let mut schedule = Schedule::default();
        schedule.resume_after(5, (day(6), day(4), "AAA".into()));
        let serving = Serving { serves_from: day(6), holdout_mae: Some(1.0), holdout_skill: Some(1.2) };
        // Errors of 2 against a holdout MAE of 1: degraded once the window of 3 is full.
        let rows: Vec<LabelledRow> = (5..12).map(row).collect();
        let walk = schedule.walk(&rows, Some(serving), &policy(5, 0), false, |_| Some((2.0, 3.0)));
        assert_eq!(walk.degraded, Some(2.0));
        // Day 5 is served by the version before (not known here), days 6, 7, 8 fill the window.
        assert_eq!(walk.points, [Point { labelled: 9, serves_from: day(10) }]);
    }

    #[test]
    fn a_worse_than_persistence_window_is_reported_below() {
        let mut schedule = Schedule::default();
        schedule.resume_after(5, (day(6), day(4), "AAA".into()));
        let serving = Serving { serves_from: day(6), holdout_mae: None, holdout_skill: Some(0.9) };
        let rows: Vec<LabelledRow> = (5..10).map(row).collect();
        let walk = schedule.walk(&rows, Some(serving), &policy(5, 0), false, |_| Some((2.0, 1.0)));
        assert_eq!(walk.live_skill, Some(0.5));
        assert!(schedule.below_persistence);
        assert!(walk.points.is_empty(), "it never beat persistence on its holdout: no retraining");
    }
}
