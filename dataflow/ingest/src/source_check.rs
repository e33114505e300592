//! The data-quality check of sources: which kind of source (a lake file, the API) delivered
//! each day of a series, and the days two kinds say different prices about. The later bar is
//! the one applied, as with any correction; the finding keeps what each kind said until they
//! agree again.

use crate::quality::Findings;
use chrono::NaiveDate;
use pricestream_records::{Bar, BarSource, QualityCheck};
use std::collections::BTreeMap;

/// The kind of source of each day, as runs of days (one or two runs for most series, so a
/// 20-year series costs a few words, not one entry per bar).
#[derive(Debug, Default)]
struct SourceRuns {
    /// Disjoint, in date order: each run's first and last day and their source.
    runs: Vec<(NaiveDate, NaiveDate, BarSource)>,
}

impl SourceRuns {
    /// The run containing `date`, or where it would go.
    fn find(&self, date: NaiveDate) -> Result<usize, usize> {
        let at = self.runs.partition_point(|(first, _, _)| *first <= date);
        match at.checked_sub(1) {
            Some(before) if self.runs[before].1 >= date => Ok(before),
            _ => Err(at),
        }
    }

    fn get(&self, date: NaiveDate) -> Option<BarSource> {
        self.find(date).ok().map(|at| self.runs[at].2)
    }

    fn set(&mut self, date: NaiveDate, source: BarSource) {
        match self.find(date) {
            Ok(at) if self.runs[at].2 == source => return,
            Ok(at) => {
                let (first, last, other) = self.runs[at];
                let mut split = Vec::with_capacity(3);
                if first < date {
                    split.push((first, date.pred_opt().unwrap_or(date), other));
                }
                split.push((date, date, source));
                if date < last {
                    split.push((date.succ_opt().unwrap_or(date), last, other));
                }
                self.runs.splice(at..=at, split);
            }
            Err(at) => self.runs.insert(at, (date, date, source)),
        }
        // Neighbours of the same source are one run (no day of another run lies between them).
        self.runs.dedup_by(|later, earlier| {
            let same = later.2 == earlier.2;
            if same {
                earlier.1 = later.1;
            }
            same
        });
    }
}

/// What each kind of source said about one day (high, low, close), once two said different things.
#[derive(Debug, Default)]
struct Said {
    by: [Option<[f64; 3]>; 2],
    /// The finding as the ledger held it at start, until both kinds speak again.
    stored: Option<String>,
}

/// The sources of one series and the days they differ about.
#[derive(Debug, Default)]
pub struct SourceCheck {
    runs: SourceRuns,
    differing: BTreeMap<NaiveDate, Said>,
}

/// Where a kind of source's prices go in [`Said::by`].
fn slot(source: BarSource) -> usize {
    source as usize
}

impl SourceCheck {
    /// Notes `bar` (its source, if known), whose day held `before` (high, low, close as
    /// delivered) until now.
    pub fn note(&mut self, bar: &Bar, before: Option<[f64; 3]>) {
        let Some(source) = bar.source else { return };
        let now = [bar.high, bar.low, bar.close];
        // What the day holds is the latest word of the kind that delivered it.
        let held = before.zip(self.runs.get(bar.datetime));
        let differs = held
            .is_some_and(|(before, was)| was != source && before.map(f64::to_bits) != now.map(f64::to_bits));
        let said = match self.differing.get_mut(&bar.datetime) {
            Some(said) => Some(said),
            None if differs => Some(self.differing.entry(bar.datetime).or_default()),
            None => None,
        };
        if let Some(said) = said {
            if let Some((before, was)) = held {
                said.by[slot(was)] = Some(before);
            }
            said.by[slot(source)] = Some(now);
        }
        self.runs.set(bar.datetime, source);
    }

    /// Keeps a disagreement the ledger holds open (found by an earlier run) open until both
    /// kinds of source deliver the day again.
    pub fn restore(&mut self, date: NaiveDate, detail: &str) {
        self.differing.entry(date).or_default().stored = Some(detail.to_owned());
    }

    /// Adds a finding for each day the two kinds' prices differ by more than `tolerance`
    /// (relative) in high, low or close.
    pub fn findings(&self, tolerance: f64, found: &mut Findings) {
        for (date, said) in &self.differing {
            let detail = match said.by {
                [Some(file), Some(api)] => differ(file, api, tolerance),
                _ => said.stored.clone(),
            };
            if let Some(detail) = detail {
                found.insert((*date, QualityCheck::SourceDisagreement), detail);
            }
        }
    }
}

/// How the file's and the API's prices differ, when by more than `tolerance`.
fn differ(file: [f64; 3], api: [f64; 3], tolerance: f64) -> Option<String> {
    let relative = |(a, b): (f64, f64)| (a - b).abs() / a.abs().max(b.abs());
    let most = file.into_iter().zip(api).map(relative).fold(0.0, f64::max);
    let prices = |[high, low, close]: [f64; 3]| format!("high {high}, low {low}, close {close}");
    (most > tolerance)
        .then(|| format!("file: {}; api: {}; {:.3} % apart", prices(file), prices(api), most * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).unwrap_or_default()
    }

    fn bar(d: u32, close: f64, source: BarSource) -> Bar {
        let flat = pricestream_records::examples::flat_bar("ABC", day(d), close);
        Bar { high: close + 1.0, low: close - 1.0, volume: 10, source: Some(source), ..flat }
    }

    #[test]
    fn runs_split_extend_and_merge() {
        let mut runs = SourceRuns::default();
        (4..=8).for_each(|d| runs.set(day(d), BarSource::File));
        assert_eq!(runs.runs.len(), 1);
        runs.set(day(6), BarSource::Api);
        assert_eq!(
            runs.runs,
            [
                (day(4), day(5), BarSource::File),
                (day(6), day(6), BarSource::Api),
                (day(7), day(8), BarSource::File)
            ]
        );
        runs.set(day(6), BarSource::File);
        assert_eq!(runs.runs, [(day(4), day(8), BarSource::File)]);
        (11..=20).for_each(|d| runs.set(day(d), BarSource::Api));
        assert_eq!(runs.runs, [(day(4), day(8), BarSource::File), (day(11), day(20), BarSource::Api)]);
        assert_eq!(
            (runs.get(day(9)), runs.get(day(12)), runs.get(day(3))),
            (None, Some(BarSource::Api), None)
        );
    }

    /// The findings of `check` at 0.1 %.
    fn found(check: &SourceCheck) -> Vec<(u32, String)> {
        let mut found = Findings::new();
        check.findings(0.001, &mut found);
        found.into_iter().map(|((date, _), detail)| (chrono::Datelike::day(&date), detail)).collect()
    }

    #[test]
    fn two_kinds_that_differ_are_found_until_they_agree() {
        let mut check = SourceCheck::default();
        check.note(&bar(4, 100.0, BarSource::File), None);
        check.note(&bar(5, 100.0, BarSource::File), None);
        // The API agrees on the 4th and is 2 % off on the 5th; a file correction is no disagreement.
        check.note(&bar(4, 100.0, BarSource::Api), Some([101.0, 99.0, 100.0]));
        check.note(&bar(5, 102.0, BarSource::Api), Some([101.0, 99.0, 100.0]));
        check.note(&bar(6, 50.0, BarSource::File), None);
        check.note(&bar(6, 55.0, BarSource::File), Some([51.0, 49.0, 50.0]));
        let listed = found(&check);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].0, 5);
        assert!(listed[0].1.contains("file: high 101, low 99, close 100; api: high 103"), "{}", listed[0].1);
        // The file is corrected to what the API says: resolved.
        check.note(&bar(5, 102.0, BarSource::File), Some([103.0, 101.0, 102.0]));
        assert!(found(&check).is_empty());
        // Off by less than the tolerance is agreement.
        check.note(&bar(4, 100.05, BarSource::File), Some([101.0, 99.0, 100.0]));
        assert!(found(&check).is_empty());
    }

    #[test]
    fn a_disagreement_the_ledger_holds_stays_until_both_kinds_speak() {
        let mut check = SourceCheck::default();
        check.restore(day(5), "as stored");
        check.note(&bar(5, 100.0, BarSource::File), None);
        assert_eq!(found(&check), [(5, "as stored".to_owned())]);
        check.note(&bar(5, 100.0, BarSource::Api), Some([101.0, 99.0, 100.0]));
        assert!(found(&check).is_empty());
        // After a restart the day holds the API's bar: a file that now says the same resolves it.
        let mut check = SourceCheck::default();
        check.note(&bar(6, 102.0, BarSource::Api), None);
        check.restore(day(6), "as stored");
        check.note(&bar(6, 102.0, BarSource::File), Some([103.0, 101.0, 102.0]));
        assert!(found(&check).is_empty());
    }
}
