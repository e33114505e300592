//! The trading-day frontier: which trading day is the next to be declared, and when it is.
//!
//! Day D is declared once every ticker of its universe has its bar for D in the mart
//! (`complete`), or once `deadline` has passed since the first bar of D, or of a later day,
//! arrived (`deadline`: a ticker that does not trade, or never delivers, cannot hold the day
//! forever). Days are declared in calendar order, each once, from the day the frontier starts
//! at: the newest day seen when the caller says the input has caught up ([`Frontier::start`]),
//! or the day after the last one declared before a restart. A bar for a day already declared,
//! from a ticker that day listed as missing, is late: it is still applied downstream, and the
//! frontier reports it.
//!
//! The frontier is fed only what is in the mart, and holds no clock of its own: the caller
//! passes `now`, so the rules are tested without waiting.

use super::calendar::Calendar;
use super::event::{DayEvent, DayStatus};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Dates kept per ticker for the universe, and declared days kept to recognise late bars.
const KEPT_DAYS: usize = 64;

/// Whose bars a day waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Universe {
    /// These tickers, whether they were ever seen or not.
    Tickers(BTreeSet<String>),
    /// Every ticker with a bar in the this-many trading days before the day.
    Recent(u32),
}

/// How the frontier decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontierSettings {
    /// Whose bars a day waits for.
    pub universe: Universe,
    /// How long a day waits after its first bar (or a later day's).
    pub deadline: Duration,
}

/// A day not declared yet that has bars, or whose deadline clock runs.
#[derive(Debug, Default)]
struct Pending {
    arrived: BTreeSet<String>,
    since: Option<Instant>,
}

/// A bar that arrived after its day was declared without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateBar {
    /// Its ticker.
    pub ticker: String,
    /// Its day.
    pub day: NaiveDate,
}

/// A day declared, with the tickers whose bar it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// The event to publish.
    pub event: DayEvent,
    /// The tickers with a bar for the day.
    pub arrived: BTreeSet<String>,
}

/// The frontier of one calendar.
#[derive(Debug)]
pub struct Frontier {
    calendar: Calendar,
    settings: FrontierSettings,
    /// The next day to declare; `None` until the first bars (or a resume) set it.
    next: Option<NaiveDate>,
    pending: BTreeMap<NaiveDate, Pending>,
    /// Each ticker's newest dates (at most `KEPT_DAYS`), for the universe.
    recent: HashMap<String, BTreeSet<NaiveDate>>,
    /// The missing tickers of the days declared last.
    missing: BTreeMap<NaiveDate, BTreeSet<String>>,
    /// The newest trading day of any bar seen.
    newest: Option<NaiveDate>,
}

impl Frontier {
    /// A frontier that starts at the newest day of the first bars it is given.
    pub fn new(calendar: Calendar, settings: FrontierSettings) -> Self {
        Frontier {
            calendar,
            settings,
            next: None,
            pending: BTreeMap::new(),
            recent: HashMap::new(),
            missing: BTreeMap::new(),
            newest: None,
        }
    }

    /// Starts declaring, at the newest day seen so far, unless started or resumed already: the
    /// caller calls it once the input has caught up (the days before are history).
    /// The days from the start on that have bars start their deadline clocks `now`.
    pub fn start(&mut self, now: Instant) {
        if self.next.is_none() {
            self.next = self.newest;
            let next = self.next;
            self.pending.retain(|day, _| Some(*day) >= next);
            self.pending.values_mut().for_each(|pending| _ = pending.since.get_or_insert(now));
        }
    }

    /// Goes on after `last`, the last day declared before a restart.
    pub fn resume(&mut self, last: NaiveDate) {
        self.next = self.calendar.next_after(last);
        self.pending.retain(|day, _| Some(*day) >= self.next);
    }

    /// The next day to declare, once known.
    pub fn next(&self) -> Option<NaiveDate> {
        self.next
    }

    /// The calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// Notes bars now in the mart, as (ticker, day); `live` when read now rather than replayed
    /// at start. Returns the late ones (live bars of declared days that listed their ticker as
    /// missing; each is reported once).
    pub fn bars(&mut self, bars: &[(String, NaiveDate)], live: bool, now: Instant) -> Vec<LateBar> {
        let trading = bars.iter().map(|(_, day)| *day).filter(|day| self.calendar.is_trading_day(*day));
        self.newest = self.newest.max(trading.max());
        // Before the start, the days near the newest are kept: the first one declared is among them.
        let started = self.next.is_some();
        let next =
            self.next.or_else(|| self.newest.and_then(|newest| self.calendar.back(newest, KEPT_DAYS as u32)));
        let Some(next) = next else { return Vec::new() };
        if !started {
            self.pending.retain(|day, _| *day >= next);
        }
        let mut late = Vec::new();
        for (ticker, day) in bars {
            let dates = self.recent.entry(ticker.clone()).or_default();
            dates.insert(*day);
            if dates.len() > KEPT_DAYS {
                dates.pop_first();
            }
            if !self.calendar.is_trading_day(*day) {
                continue;
            }
            if *day >= next {
                self.pending.entry(*day).or_default().arrived.insert(ticker.clone());
                // A bar of a later day starts the clocks of the days before it too.
                let mut clock = Some(next).filter(|_| started);
                while let Some(at) = clock.filter(|at| at <= day) {
                    self.pending.entry(at).or_default().since.get_or_insert(now);
                    clock = self.calendar.next_after(at);
                }
            } else if started
                && let Some(missing) = self.missing.get_mut(day)
                && live
                && missing.remove(ticker)
            {
                late.push(LateBar { ticker: ticker.clone(), day: *day });
            }
        }
        late
    }

    /// Declares every day that is due, in calendar order.
    pub fn declare(&mut self, now: Instant, at: DateTime<Utc>) -> Vec<Declared> {
        let mut events = Vec::new();
        while let Some(day) = self.next {
            let pending = self.pending.get(&day);
            let arrived = pending.map(|p| p.arrived.clone()).unwrap_or_default();
            let mut expected = self.universe(day);
            let missing: Vec<String> = expected.difference(&arrived).cloned().collect();
            let status = if !arrived.is_empty() && missing.is_empty() {
                DayStatus::Complete
            } else if pending
                .and_then(|p| p.since)
                .is_some_and(|since| now.duration_since(since) >= self.settings.deadline)
            {
                DayStatus::Deadline
            } else {
                break;
            };
            expected.extend(arrived.iter().cloned());
            let event = DayEvent {
                calendar: self.calendar.name.clone(),
                day,
                status,
                expected: expected.len(),
                arrived: arrived.len(),
                missing: missing.clone(),
                declared_at: at,
            };
            events.push(Declared { event, arrived });
            self.missing.insert(day, missing.into_iter().collect());
            if self.missing.len() > KEPT_DAYS {
                self.missing.pop_first();
            }
            self.pending.remove(&day);
            self.next = self.calendar.next_after(day);
        }
        events
    }

    /// The tickers day `day` waits for.
    fn universe(&self, day: NaiveDate) -> BTreeSet<String> {
        match &self.settings.universe {
            Universe::Tickers(tickers) => tickers.clone(),
            Universe::Recent(days) => {
                let from = self.calendar.back(day, *days).unwrap_or(day);
                self.recent
                    .iter()
                    .filter(|(_, dates)| dates.range(from..day).next().is_some())
                    .map(|(ticker, _)| ticker.clone())
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trading days of March 2025 (no holidays): 3-7, 10-14, ...
    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, d).unwrap_or_default()
    }

    fn bars(tickers: &[&str], d: u32) -> Vec<(String, NaiveDate)> {
        tickers.iter().map(|t| (t.to_string(), day(d))).collect()
    }

    fn frontier(universe: Universe) -> Frontier {
        Frontier::new(Calendar::xnys(), FrontierSettings { universe, deadline: Duration::from_secs(60) })
    }

    fn summary(declared: &[Declared]) -> Vec<(NaiveDate, DayStatus, usize, usize, Vec<String>)> {
        let events = declared.iter().map(|d| &d.event);
        events.map(|e| (e.day, e.status, e.expected, e.arrived, e.missing.clone())).collect()
    }

    #[test]
    fn days_complete_in_order_when_the_recent_universe_has_its_bars() {
        let (t0, at) = (Instant::now(), Utc::now());
        let mut frontier = frontier(Universe::Recent(5));
        // History up to Tuesday 4 March; BBB's last bar is on Monday 3.
        let mut history = bars(&["AAA", "CCC"], 4);
        history.extend(bars(&["BBB"], 3));
        frontier.bars(&history, false, t0);
        assert_eq!(frontier.next(), None, "not started: the input has not caught up");
        assert!(frontier.declare(t0 + Duration::from_secs(600), at).is_empty());
        frontier.start(t0);
        assert_eq!(frontier.next(), Some(day(4)), "the newest day seen when the input caught up");
        // 4 March waits for BBB, in the universe by its bar of the 3rd.
        assert!(frontier.declare(t0, at).is_empty());
        frontier.bars(&bars(&["BBB"], 4), true, t0);
        assert_eq!(summary(&frontier.declare(t0, at)), [(day(4), DayStatus::Complete, 3, 3, vec![])]);
        // The 6th arrives whole before the 5th: nothing until the 5th is declared.
        frontier.bars(&bars(&["AAA", "BBB", "CCC"], 6), true, t0);
        frontier.bars(&bars(&["AAA", "BBB"], 5), true, t0);
        assert!(frontier.declare(t0 + Duration::from_secs(59), at).is_empty());
        let events = frontier.declare(t0 + Duration::from_secs(60), at);
        assert_eq!(
            summary(&events),
            [
                (day(5), DayStatus::Deadline, 3, 2, vec!["CCC".to_string()]),
                (day(6), DayStatus::Complete, 3, 3, vec![]),
            ]
        );
        // CCC's bar of the 5th is late, once; a replayed one is not.
        let late = frontier.bars(&bars(&["CCC"], 5), true, t0);
        assert_eq!(late, [LateBar { ticker: "CCC".into(), day: day(5) }]);
        assert!(frontier.bars(&bars(&["CCC"], 5), true, t0).is_empty());
        assert!(frontier.bars(&bars(&["AAA"], 4), true, t0).is_empty(), "a correction is not late");
        assert_eq!(frontier.next(), Some(day(7)));
    }

    #[test]
    fn a_configured_universe_waits_for_tickers_never_seen_and_a_resume_skips_declared_days() {
        let t0 = Instant::now();
        let universe: BTreeSet<String> = ["AAA", "ZZZ"].map(String::from).into();
        let mut frontier = frontier(Universe::Tickers(universe));
        frontier.resume(day(7)); // Friday: the next day is Monday the 10th
        frontier.bars(&bars(&["AAA"], 7), true, t0);
        frontier.bars(&bars(&["AAA"], 10), true, t0);
        assert!(frontier.declare(t0 + Duration::from_secs(30), Utc::now()).is_empty());
        let events = frontier.declare(t0 + Duration::from_secs(60), Utc::now());
        assert_eq!(summary(&events), [(day(10), DayStatus::Deadline, 2, 1, vec!["ZZZ".to_string()])]);
        // No bars at all for the 11th, but one for the 12th: the 11th's clock starts with it.
        frontier.bars(&bars(&["AAA", "ZZZ"], 12), true, t0 + Duration::from_secs(100));
        assert!(frontier.declare(t0 + Duration::from_secs(159), Utc::now()).is_empty());
        let events = frontier.declare(t0 + Duration::from_secs(160), Utc::now());
        assert_eq!(
            summary(&events),
            [
                (day(11), DayStatus::Deadline, 2, 0, vec!["AAA".to_string(), "ZZZ".to_string()]),
                (day(12), DayStatus::Complete, 2, 2, vec![]),
            ]
        );
    }
}
