//! Adjusted prices: what the delivered prices already are, which corporate actions to apply to
//! them, and the exact arithmetic of the cumulative factor (`docs/adjustment.md` spells it out
//! for an independent implementation).

use super::{ActionKind, CorporateAction};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which corporate actions the adjusted series applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentMode {
    /// Prices as delivered.
    None,
    /// Splits only: the usual "split-adjusted" series.
    #[default]
    Splits,
    /// Splits and cash dividends: a total-return series.
    SplitsAndDividends,
}

/// What a source's prices already are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    /// As traded on the day.
    #[default]
    Raw,
    /// Already adjusted for splits (Yahoo's `Close`).
    SplitAdjusted,
    /// Already adjusted for splits and dividends (Yahoo's `Adj Close`).
    FullyAdjusted,
}

/// The adjustment of one run: the mode and what the delivered prices already are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// Which actions the adjusted series applies.
    pub mode: AdjustmentMode,
    /// What the delivered prices already are: nothing is applied twice.
    pub basis: PriceBasis,
}

impl Adjustment {
    /// Whether splits are applied to the delivered prices.
    pub fn applies_splits(self) -> bool {
        self.mode != AdjustmentMode::None && self.basis == PriceBasis::Raw
    }

    /// Whether cash dividends are applied to the delivered prices.
    pub fn applies_dividends(self) -> bool {
        self.mode == AdjustmentMode::SplitsAndDividends && self.basis != PriceBasis::FullyAdjusted
    }

    /// Whether `action` changes the adjusted series.
    pub fn applies(self, action: &CorporateAction) -> bool {
        match action.kind {
            ActionKind::Split { .. } => self.applies_splits(),
            ActionKind::CashDividend { .. } => self.applies_dividends(),
        }
    }

    /// What the series' stored values are recorded as computed with, besides the indicator
    /// settings: empty when nothing is applied, so series stored before adjustments existed
    /// (or from sources already adjusted) are not sent again.
    pub fn settings_text(self) -> String {
        match (self.applies_splits(), self.applies_dividends()) {
            (false, false) => String::new(),
            (true, false) => " adjust/splits".to_owned(),
            (false, true) => " adjust/dividends".to_owned(),
            (true, true) => " adjust/splits+dividends".to_owned(),
        }
    }
}

/// The order actions are applied in: by ex-date, a split before a dividend of the same day.
pub fn action_order(action: &CorporateAction) -> (NaiveDate, u8) {
    let kind = match action.kind {
        ActionKind::Split { .. } => 0,
        ActionKind::CashDividend { .. } => 1,
    };
    (action.ex_date, kind)
}

/// The cumulative factor of each bar of a series (`dates` ascending, `closes` the delivered
/// closes of those bars): adjusted price = delivered price × factor.
///
/// Only `actions` that `adjustment` applies count, and an action counts only once the series
/// has a bar on or after its ex-date (before that, nothing it changes has happened yet). Each
/// action has its own factor ([`CorporateAction::price_factor`]; a dividend's previous close is
/// the delivered close of the last bar before its ex-date, and a dividend without one, or one
/// not below it, is skipped). A bar's factor is the product of the factors of the counted
/// actions with an ex-date after the bar's date, multiplied one at a time starting from 1.0 in
/// the reverse of [`action_order`] (the latest action first).
pub fn factors(
    dates: &[NaiveDate],
    closes: &[f64],
    actions: &[CorporateAction],
    adjustment: Adjustment,
) -> Vec<f64> {
    let mut factors = vec![1.0; dates.len()];
    let Some(&last) = dates.last() else { return factors };
    let mut counted: Vec<&CorporateAction> =
        actions.iter().filter(|a| adjustment.applies(a) && a.ex_date <= last).collect();
    counted.sort_by_key(|a| action_order(a));
    let mut cumulative = 1.0;
    let mut at = dates.len();
    for action in counted.iter().rev() {
        // Bars on or after this ex-date carry the product of the later actions only.
        while at > 0 && dates[at - 1] >= action.ex_date {
            at -= 1;
            factors[at] = cumulative;
        }
        let previous_close = at.checked_sub(1).map_or(f64::NAN, |before| closes[before]);
        if at == 0 {
            break; // No bar before the ex-date: nothing to adjust.
        }
        if let Ok(factor) = action.price_factor(previous_close) {
            cumulative *= factor;
        }
    }
    for factor in &mut factors[..at] {
        *factor = cumulative;
    }
    factors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).expect("a date")
    }

    fn action(d: u32, kind: ActionKind) -> CorporateAction {
        CorporateAction { ticker: "ABC".into(), ex_date: day(d), kind, withdrawn: false }
    }

    const RAW_WITH_DIVIDENDS: Adjustment =
        Adjustment { mode: AdjustmentMode::SplitsAndDividends, basis: PriceBasis::Raw };

    #[test]
    fn each_bar_carries_the_product_of_the_later_actions_latest_first() {
        let dates: Vec<NaiveDate> = (4..=8).map(day).collect();
        let closes = [100.0, 102.0, 51.0, 50.0, 52.0];
        let actions = [
            action(8, ActionKind::CashDividend { amount: 0.5 }),
            action(6, ActionKind::Split { ratio: 2.0 }),
            action(20, ActionKind::Split { ratio: 3.0 }), // no bar on or after it yet
        ];
        let got = factors(&dates, &closes, &actions, RAW_WITH_DIVIDENDS);
        let dividend = 1.0 - 0.5 / 50.0;
        let both = dividend * (1.0 / 2.0);
        assert_eq!(got, [both, both, dividend, dividend, 1.0]);
        // Splits only: the dividend does not count.
        let splits = Adjustment { mode: AdjustmentMode::Splits, basis: PriceBasis::Raw };
        assert_eq!(factors(&dates, &closes, &actions, splits), [0.5, 0.5, 1.0, 1.0, 1.0]);
        // Split-adjusted prices: only the dividend is left to apply.
        let yahoo = Adjustment { basis: PriceBasis::SplitAdjusted, ..RAW_WITH_DIVIDENDS };
        assert_eq!(factors(&dates, &closes, &actions, yahoo), [dividend, dividend, dividend, dividend, 1.0]);
    }

    #[test]
    fn actions_before_the_first_bar_or_impossible_dividends_change_nothing() {
        let dates: Vec<NaiveDate> = (4..=5).map(day).collect();
        let actions = [
            action(1, ActionKind::Split { ratio: 4.0 }),
            action(5, ActionKind::CashDividend { amount: 9.0 }),
        ];
        assert_eq!(factors(&dates, &[8.0, 8.0], &actions, RAW_WITH_DIVIDENDS), [1.0, 1.0]);
    }

    #[test]
    fn only_applied_actions_change_the_recorded_settings() {
        let yahoo = Adjustment { mode: AdjustmentMode::Splits, basis: PriceBasis::SplitAdjusted };
        assert_eq!(yahoo.settings_text(), "");
        assert_eq!(Adjustment::default().settings_text(), " adjust/splits");
        assert_eq!(RAW_WITH_DIVIDENDS.settings_text(), " adjust/splits+dividends");
        // The names in config files.
        let mode: AdjustmentMode = serde_json::from_str("\"splits_and_dividends\"").expect("a mode");
        assert_eq!(mode, AdjustmentMode::SplitsAndDividends);
        assert!(serde_json::from_str::<AdjustmentMode>("\"split\"").is_err());
        let basis: PriceBasis = serde_json::from_str("\"split_adjusted\"").expect("a basis");
        assert_eq!(basis, PriceBasis::SplitAdjusted);
    }
}
