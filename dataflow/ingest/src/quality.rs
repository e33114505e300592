//! The data-quality checks of one series: calendar gaps, split-like jumps, stale bars and
//! bars without volume, over the prices the indicators see, and days two kinds of source
//! disagree about ([`crate::source_check`]). Each run of a series' bars (and
//! each restatement) checks the whole series again, in one pass, and sends what changed: a new
//! finding, or the resolution of one the data no longer shows. Findings never stop anything.

use crate::source_check::SourceCheck;
use chrono::{Datelike, NaiveDate, Weekday};
use pricestream_records::{Bar, Problems, QualityCheck, QualityFinding};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The checks' settings (`[quality]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualitySettings {
    /// Bars in a row with the same high, low and close that make a stale run.
    pub stale_bars: usize,
    /// How far a close-to-close ratio may be from a split ratio and still look like one.
    pub jump_tolerance: f64,
    /// Weekdays the exchange is closed: no gap there.
    pub holidays: BTreeSet<NaiveDate>,
    /// How far (relative) a file's and the API's high, low or close of a day may be apart
    /// before they disagree.
    pub source_tolerance: f64,
}

impl Default for QualitySettings {
    fn default() -> Self {
        QualitySettings {
            stale_bars: 5,
            jump_tolerance: 0.02,
            holidays: BTreeSet::new(),
            source_tolerance: 0.001,
        }
    }
}

impl QualitySettings {
    /// Records every problem under `prefix` (e.g. `quality`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        problems.at_least(&format!("{prefix}.stale_bars"), self.stale_bars, 2);
        problems.check(
            self.jump_tolerance > 0.0 && self.jump_tolerance <= 0.2,
            &format!("{prefix}.jump_tolerance"),
            format_args!("must be in (0, 0.2], got {}", self.jump_tolerance),
        );
        problems.check(
            (0.0..=0.2).contains(&self.source_tolerance),
            &format!("{prefix}.source_tolerance"),
            format_args!("must be in [0, 0.2], got {}", self.source_tolerance),
        );
    }
}

/// Common split ratios (new shares per old share); their inverses are reverse splits.
const SPLIT_RATIOS: [f64; 6] = [2.0, 3.0, 4.0, 5.0, 10.0, 1.5];

/// The open findings of a series, by date and check, with what was seen.
pub type Findings = BTreeMap<(NaiveDate, QualityCheck), String>;

/// One series' findings, the dates of its bars without volume (the indicator series does
/// not keep volumes) and its sources.
#[derive(Debug, Default)]
pub struct Quality {
    zero_volume: BTreeSet<NaiveDate>,
    sources: SourceCheck,
    open: Findings,
}

impl Quality {
    /// Takes the series' open findings as the ledger holds them: the next check sends what
    /// differs from them.
    pub fn set_open(&mut self, ledger: &[QualityFinding]) {
        self.open =
            ledger.iter().filter(|f| !f.resolved).map(|f| ((f.date, f.check), f.detail.clone())).collect();
        for ((date, check), detail) in &self.open {
            if *check == QualityCheck::SourceDisagreement {
                self.sources.restore(*date, detail);
            }
        }
    }

    /// Notes a bar's volume and source (a corrected bar replaces what was noted for its date);
    /// `before` is what its day held until now (high, low, close as delivered).
    pub fn note(&mut self, bar: &Bar, before: Option<[f64; 3]>) {
        if bar.volume == 0 {
            self.zero_volume.insert(bar.datetime);
        } else {
            self.zero_volume.remove(&bar.datetime);
        }
        self.sources.note(bar, before);
    }

    /// Checks the series (`dates` ascending, `hlc` their high, low and close) again and
    /// returns what changed since the last check, as findings of `ticker` (resolved ones
    /// marked so).
    pub fn check(
        &mut self,
        ticker: &str,
        dates: &[NaiveDate],
        hlc: &[[f64; 3]],
        settings: &QualitySettings,
    ) -> Vec<QualityFinding> {
        let mut now = findings(dates, hlc, &self.zero_volume, settings);
        self.sources.findings(settings.source_tolerance, &mut now);
        let mut changed = Vec::new();
        let finding = |(date, check): &(NaiveDate, QualityCheck), detail: &str, resolved| QualityFinding {
            ticker: ticker.into(),
            date: *date,
            check: *check,
            detail: detail.to_owned(),
            resolved,
        };
        for (key, detail) in &now {
            if self.open.get(key) != Some(detail) {
                changed.push(finding(key, detail, false));
            }
        }
        for (key, detail) in &self.open {
            if !now.contains_key(key) {
                changed.push(finding(key, detail, true));
            }
        }
        self.open = now;
        changed
    }
}

/// Every finding of a series.
pub fn findings(
    dates: &[NaiveDate],
    hlc: &[[f64; 3]],
    zero_volume: &BTreeSet<NaiveDate>,
    settings: &QualitySettings,
) -> Findings {
    let mut found = Findings::new();
    for (i, pair) in dates.windows(2).enumerate() {
        let (before, after) = (pair[0], pair[1]);
        for day in before.iter_days().skip(1).take_while(|day| *day < after) {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !settings.holidays.contains(&day) {
                let detail = format!("no bar on this weekday, between the bars of {before} and {after}");
                found.insert((day, QualityCheck::CalendarGap), detail);
            }
        }
        let (previous, close) = (hlc[i][2], hlc[i + 1][2]);
        if let Some(detail) = split_like(previous, close, settings.jump_tolerance) {
            found.insert((after, QualityCheck::SplitLikeJump), detail);
        }
    }
    let mut run_start = 0;
    for i in 1..=dates.len() {
        let same = |a: &[f64; 3], b: &[f64; 3]| a.map(f64::to_bits) == b.map(f64::to_bits);
        if i < dates.len() && same(&hlc[i], &hlc[run_start]) {
            continue;
        }
        if i - run_start >= settings.stale_bars.max(2) {
            let detail = format!("high, low and close unchanged for at least {} bars", settings.stale_bars);
            found.insert((dates[run_start], QualityCheck::StaleBars), detail);
        }
        run_start = i;
    }
    for date in zero_volume.iter().filter(|date| dates.binary_search(date).is_ok()) {
        found.insert((*date, QualityCheck::ZeroVolume), "volume 0".to_owned());
    }
    found
}

/// What a move from `previous` to `close` looks like, when it looks like a split.
fn split_like(previous: f64, close: f64, tolerance: f64) -> Option<String> {
    let ratio = close / previous;
    SPLIT_RATIOS.iter().find_map(|&split| {
        let (forward, reverse) = ((ratio * split - 1.0).abs(), (ratio / split - 1.0).abs());
        let name = |new: f64, old: f64| format!("{new}-for-{old}");
        let looks = if forward <= tolerance {
            name(split, 1.0)
        } else if reverse <= tolerance {
            name(1.0, split)
        } else {
            return None;
        };
        Some(format!("close {close} after {previous}: ratio {ratio:.4}, like a {looks} split no applied action explains"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day of March 2024.
    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).unwrap_or_default()
    }

    /// A bar of `date` with `volume` and no source.
    fn volume_bar(date: NaiveDate, volume: i64) -> Bar {
        Bar { volume, ..pricestream_records::examples::flat_bar("ABC", date, 1.0) }
    }

    /// Findings as `day:check`, resolved ones with a `+`.
    fn listed(found: &[QualityFinding]) -> String {
        let item = |f: &QualityFinding| {
            format!("{}:{}{}", f.date.day(), f.check.as_str(), if f.resolved { "+" } else { "" })
        };
        found.iter().map(item).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn each_check_finds_its_day_and_a_fix_resolves_it() {
        // 4..=29 March without the 12th and 13th (a Tuesday and Wednesday), 15th a holiday.
        let dates: Vec<NaiveDate> = (4..=29)
            .map(day)
            .filter(|d| {
                !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && ![12, 13, 15].contains(&d.day())
            })
            .collect();
        let mut hlc: Vec<[f64; 3]> = dates
            .iter()
            .map(|d| {
                let c = 100.0 + f64::from(d.day());
                [c + 1.0, c - 1.0, c]
            })
            .collect();
        // A 2-for-1 drop on the 20th (and after), stale from the 25th to the 29th.
        for (i, d) in dates.iter().enumerate() {
            if d.day() >= 20 {
                hlc[i] = hlc[i].map(|p| p / 2.0);
            }
            if d.day() >= 25 {
                hlc[i] = [61.0, 60.0, 60.5];
            }
        }
        let settings = QualitySettings { holidays: [day(15)].into(), ..QualitySettings::default() };
        let mut quality = Quality::default();
        quality.note(&volume_bar(day(7), 0), None);
        let found = quality.check("ABC", &dates, &hlc, &settings);
        let first = "7:zero_volume 12:calendar_gap 13:calendar_gap 20:split_like_jump 25:stale_bars";
        assert_eq!(listed(&found), first);
        assert!(quality.check("ABC", &dates, &hlc, &settings).is_empty(), "nothing new");
        // The split applied (earlier prices halved) and a volume corrected: both resolved.
        for (i, d) in dates.iter().enumerate().filter(|(_, d)| d.day() < 20) {
            hlc[i] = hlc[i].map(|p| p / 2.0);
            let _ = d;
        }
        quality.note(&volume_bar(day(7), 10), None);
        let resolved = quality.check("ABC", &dates, &hlc, &settings);
        assert_eq!(listed(&resolved), "7:zero_volume+ 20:split_like_jump+");
    }

    #[test]
    fn split_like_moves_forward_and_reverse_and_ordinary_ones() {
        assert!(split_like(100.0, 50.2, 0.02).is_some_and(|d| d.contains("2-for-1")));
        assert!(split_like(10.0, 99.0, 0.02).is_some_and(|d| d.contains("1-for-10")));
        assert!(split_like(100.0, 66.9, 0.02).is_some_and(|d| d.contains("1.5-for-1")));
        assert_eq!(split_like(100.0, 93.0, 0.02), None);
        assert_eq!(split_like(100.0, 58.0, 0.02), None);
    }
}
