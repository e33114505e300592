//! A series that corporate actions adjust: its delivered bars kept whole, so that a new action
//! (or a bar that makes one count) restates the adjusted prices in one pass, and each bar whose
//! factor changed is sent again with it.

use chrono::NaiveDate;
use pricestream_indicators::TickerSeries;
use pricestream_records::adjustment::{Adjustment, action_order, factors};
use pricestream_records::{Bar, CorporateAction, IndicatorValue};

/// The delivered bars and the actions of one series.
#[derive(Debug, Default)]
pub struct Adjusted {
    /// The actions the run's adjustment applies, in [`action_order`], one per ex-date and kind.
    actions: Vec<CorporateAction>,
    /// Every delivered bar in date order; its `adjustment_factor` is the one last sent with it
    /// (NaN: not sent as it is now).
    bars: Vec<Bar>,
}

/// What a restatement sends: the bars whose factor (or prices) changed, and the indicator
/// values that changed, in date order.
#[derive(Debug, Default)]
pub struct Restated {
    /// Bars to send, each with its factor.
    pub bars: Vec<Bar>,
    /// Values to send.
    pub values: Vec<(NaiveDate, IndicatorValue)>,
}

impl Adjusted {
    /// A series of `stored` bars (sent before with the factors `actions` give them).
    pub fn new(actions: Vec<CorporateAction>, stored: Vec<Bar>, adjustment: Adjustment) -> Self {
        let mut adjusted = Adjusted { actions: Vec::new(), bars: stored };
        for action in actions {
            adjusted.add_action(action, adjustment);
        }
        let factors = adjusted.factors(adjustment);
        for (bar, factor) in adjusted.bars.iter_mut().zip(factors) {
            bar.adjustment_factor = factor;
        }
        adjusted
    }

    /// The delivered bars, in date order.
    pub fn bars(&self) -> &[Bar] {
        &self.bars
    }

    /// The adjusted high, low and close of every bar, with their dates: a series to compute
    /// the indicators over.
    pub fn prices(&self) -> (Vec<NaiveDate>, Vec<[f64; 3]>) {
        let prices =
            self.bars.iter().map(|b| [b.high, b.low, b.close].map(|p| p * b.adjustment_factor)).collect();
        (self.bars.iter().map(|b| b.datetime).collect(), prices)
    }

    /// Adds `action`, or replaces the one of its ex-date and kind, or (withdrawn) removes that
    /// one; false when the adjustment ignores it or nothing changes.
    pub fn add_action(&mut self, action: CorporateAction, adjustment: Adjustment) -> bool {
        if !adjustment.applies(&action) {
            return false;
        }
        let found = self.actions.binary_search_by_key(&action_order(&action), action_order);
        if action.withdrawn {
            return found.map(|at| self.actions.remove(at)).is_ok();
        }
        match found {
            Ok(at) if self.actions[at] == action => false,
            Ok(at) => {
                self.actions[at] = action;
                true
            }
            Err(at) => {
                self.actions.insert(at, action);
                true
            }
        }
    }

    /// The delivered high, low and close of `date`, if it has a bar.
    pub fn delivered(&self, date: NaiveDate) -> Option<[f64; 3]> {
        let at = self.bars.binary_search_by_key(&date, |b| b.datetime).ok()?;
        let bar = &self.bars[at];
        Some([bar.high, bar.low, bar.close])
    }

    /// Takes a delivered bar, to be sent with the next [`Adjusted::restate`]; false (and
    /// nothing changes) when this exact bar is already there.
    pub fn stage(&mut self, bar: &Bar) -> bool {
        let same = |a: &Bar| {
            [a.open, a.high, a.low, a.close].map(f64::to_bits)
                == [bar.open, bar.high, bar.low, bar.close].map(f64::to_bits)
                && a.volume == bar.volume
        };
        let unsent = Bar { adjustment_factor: f64::NAN, ..bar.clone() };
        match self.bars.binary_search_by_key(&bar.datetime, |b| b.datetime) {
            Ok(at) if same(&self.bars[at]) => return false,
            Ok(at) => self.bars[at] = unsent,
            Err(at) => self.bars.insert(at, unsent),
        }
        true
    }

    /// Recomputes every bar's factor and `series` over the adjusted prices; returns the bars
    /// whose factor changed (or that were staged) and the values that changed.
    pub fn restate(&mut self, adjustment: Adjustment, series: &mut TickerSeries) -> Restated {
        let factors = self.factors(adjustment);
        let mut restated = Restated::default();
        for (bar, factor) in self.bars.iter_mut().zip(factors) {
            if bar.adjustment_factor.to_bits() != factor.to_bits() {
                bar.adjustment_factor = factor;
                restated.bars.push(bar.clone());
            }
        }
        let (dates, prices) = self.prices();
        series.restate(dates, prices, &mut restated.values);
        restated
    }

    fn factors(&self, adjustment: Adjustment) -> Vec<f64> {
        let dates: Vec<NaiveDate> = self.bars.iter().map(|b| b.datetime).collect();
        let closes: Vec<f64> = self.bars.iter().map(|b| b.close).collect();
        factors(&dates, &closes, &self.actions, adjustment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_indicators::IndicatorParams;
    use pricestream_records::{ActionKind, AdjustmentMode, PriceBasis, examples};

    fn bar(day: u32, close: f64) -> Bar {
        let date = NaiveDate::from_ymd_opt(2024, 1, day).expect("date");
        Bar { high: close + 2.0, low: close - 2.0, ..examples::flat_bar("ABC", date, close) }
    }

    const RAW: Adjustment = Adjustment { mode: AdjustmentMode::Splits, basis: PriceBasis::Raw };

    fn split(day: u32, ratio: f64) -> CorporateAction {
        let ex_date = NaiveDate::from_ymd_opt(2024, 1, day).expect("date");
        CorporateAction { ticker: "ABC".into(), ex_date, kind: ActionKind::Split { ratio }, withdrawn: false }
    }

    #[test]
    fn a_split_resends_the_bars_before_it_and_a_second_time_nothing() {
        let bars: Vec<Bar> = (2..=29).map(|d| bar(d, if d < 20 { 100.0 } else { 50.0 })).collect();
        let mut series = TickerSeries::new(&IndicatorParams::default());
        let mut adjusted = Adjusted::new(Vec::new(), bars, RAW);
        assert!(adjusted.restate(RAW, &mut series).bars.is_empty(), "sent before with factor 1");
        assert!(adjusted.add_action(split(20, 2.0), RAW));
        let restated = adjusted.restate(RAW, &mut series);
        assert_eq!(restated.bars.len(), 18);
        assert!(restated.bars.iter().all(|b| b.adjustment_factor == 0.5 && b.close == 100.0));
        // SMA(20) over a flat adjusted series of 50: every value there is, once it exists.
        assert!(
            restated
                .values
                .iter()
                .all(|(_, v)| !matches!(v, IndicatorValue::Sma { sma, .. } if *sma != 50.0))
        );
        assert!(!adjusted.add_action(split(20, 2.0), RAW), "the same action again");
        assert!(adjusted.restate(RAW, &mut series).bars.is_empty());
        // Withdrawn, the split's bars go back to factor 1.
        assert!(adjusted.add_action(CorporateAction { withdrawn: true, ..split(20, 2.0) }, RAW));
        let restored = adjusted.restate(RAW, &mut series);
        assert_eq!(restored.bars.len(), 18);
        assert!(restored.bars.iter().all(|b| b.adjustment_factor == 1.0));
        assert!(
            !adjusted.add_action(CorporateAction { withdrawn: true, ..split(20, 2.0) }, RAW),
            "gone already"
        );
        assert!(adjusted.add_action(split(20, 2.0), RAW));
        adjusted.restate(RAW, &mut series);
        // Only a staged bar is sent; a re-delivered one is not.
        assert!(!adjusted.stage(&bar(29, 50.0)));
        assert!(adjusted.stage(&bar(30, 51.0)));
        let restated = adjusted.restate(RAW, &mut series);
        assert_eq!(restated.bars.iter().map(|b| b.datetime.to_string()).collect::<Vec<_>>(), ["2024-01-30"]);
    }
}
