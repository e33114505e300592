//! Corporate actions: the splits and cash dividends that make earlier prices incomparable with
//! later ones, and the factor each applies to the prices before its ex-date.

use super::{Ticker, check_ticker};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One split or cash dividend of one instrument, effective from its ex-date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorporateAction {
    /// Instrument symbol (`NVDA`).
    pub ticker: Ticker,
    /// First trading day whose prices already reflect the action.
    pub ex_date: NaiveDate,
    /// What happened.
    #[serde(flatten)]
    pub kind: ActionKind,
    /// The action was announced or recorded by mistake: it is removed, and what it adjusted is
    /// restated without it. Absent on the wire unless true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub withdrawn: bool,
}

fn is_false(flag: &bool) -> bool {
    !flag
}

/// A split or a cash dividend.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionKind {
    /// `ratio` new shares for each old one: 4.0 for a 4-for-1 split, 0.1 for a 1-for-10
    /// reverse split.
    Split {
        /// New shares per old share.
        ratio: f64,
    },
    /// A cash payment of `amount` per share, in the instrument's price currency.
    CashDividend {
        /// Cash per share.
        amount: f64,
    },
}

impl ActionKind {
    /// The name of a split on the wire, in files and in Cassandra.
    pub const SPLIT: &'static str = "split";
    /// The name of a cash dividend on the wire, in files and in Cassandra.
    pub const CASH_DIVIDEND: &'static str = "cash_dividend";

    /// The kind's name: [`ActionKind::SPLIT`] or [`ActionKind::CASH_DIVIDEND`].
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Split { .. } => Self::SPLIT,
            ActionKind::CashDividend { .. } => Self::CASH_DIVIDEND,
        }
    }

    /// The kind as a table stores it: its name, its ratio (splits) and its amount (dividends).
    pub fn columns(self) -> (&'static str, Option<f64>, Option<f64>) {
        match self {
            ActionKind::Split { ratio } => (Self::SPLIT, Some(ratio), None),
            ActionKind::CashDividend { amount } => (Self::CASH_DIVIDEND, None, Some(amount)),
        }
    }

    /// The kind [`ActionKind::columns`] gave, or `None` for an unknown name or a missing number.
    pub fn from_columns(name: &str, ratio: Option<f64>, amount: Option<f64>) -> Option<Self> {
        match (name, ratio, amount) {
            (Self::SPLIT, Some(ratio), _) => Some(ActionKind::Split { ratio }),
            (Self::CASH_DIVIDEND, _, Some(amount)) => Some(ActionKind::CashDividend { amount }),
            _ => None,
        }
    }
}

/// Why a corporate action cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The ticker is not a ticker.
    #[error(transparent)]
    Ticker(#[from] super::TickerError),
    /// A split ratio that is zero, negative, NaN or infinite.
    #[error("split ratio must be a positive finite number, got {0}")]
    BadRatio(f64),
    /// A dividend amount that is zero, negative, NaN or infinite.
    #[error("cash dividend amount must be a positive finite number, got {0}")]
    BadAmount(f64),
    /// A dividend as large as the close it is paid from, or larger: no price would be left.
    #[error("cash dividend {amount} is not below the previous close {previous_close}")]
    DividendAtLeastClose {
        /// Cash per share.
        amount: f64,
        /// Close of the last trading day before the ex-date.
        previous_close: f64,
    },
}

impl CorporateAction {
    /// Every problem of the action that does not depend on prices.
    pub fn validate(&self) -> Vec<ActionError> {
        let mut problems = Vec::new();
        if let Err(e) = check_ticker(&self.ticker) {
            problems.push(e.into());
        }
        match self.kind {
            ActionKind::Split { ratio } if !(ratio.is_finite() && ratio > 0.0) => {
                problems.push(ActionError::BadRatio(ratio))
            }
            ActionKind::CashDividend { amount } if !(amount.is_finite() && amount > 0.0) => {
                problems.push(ActionError::BadAmount(amount))
            }
            _ => {}
        }
        problems
    }

    /// The factor this action applies to every price before its ex-date; volumes before it are
    /// divided by the same factor for a split and left alone for a dividend. A split: `1 /
    /// ratio`. A cash dividend: `1 - amount / previous_close`, with `previous_close` the raw
    /// close of the last trading day before the ex-date.
    pub fn price_factor(&self, previous_close: f64) -> Result<f64, ActionError> {
        match self.kind {
            ActionKind::Split { ratio } if ratio.is_finite() && ratio > 0.0 => Ok(1.0 / ratio),
            ActionKind::Split { ratio } => Err(ActionError::BadRatio(ratio)),
            ActionKind::CashDividend { amount } if !(amount.is_finite() && amount > 0.0) => {
                Err(ActionError::BadAmount(amount))
            }
            ActionKind::CashDividend { amount } if amount >= previous_close => {
                Err(ActionError::DividendAtLeastClose { amount, previous_close })
            }
            ActionKind::CashDividend { amount } => Ok(1.0 - amount / previous_close),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(kind: ActionKind) -> CorporateAction {
        let ex_date = NaiveDate::from_ymd_opt(2024, 6, 10).expect("a date");
        CorporateAction { ticker: "NVDA".into(), ex_date, kind, withdrawn: false }
    }

    #[test]
    fn splits_divide_earlier_prices_by_their_ratio() {
        // NVDA's 10-for-1 split of June 2024: a 1,200 close before it compares with 120 after.
        let factor = action(ActionKind::Split { ratio: 10.0 }).price_factor(1_200.0);
        assert_eq!(factor.map(|f| 1_200.0 * f), Ok(120.0));
        // A 1-for-10 reverse split multiplies them by ten.
        assert_eq!(action(ActionKind::Split { ratio: 0.1 }).price_factor(1.0).map(|f| 2.0 * f), Ok(20.0));
    }

    #[test]
    fn a_dividend_scales_earlier_prices_by_one_minus_its_share_of_the_previous_close() {
        // 2 paid on a 100 close: earlier prices are multiplied by 0.98.
        assert_eq!(action(ActionKind::CashDividend { amount: 2.0 }).price_factor(100.0), Ok(0.98));
        let too_much = action(ActionKind::CashDividend { amount: 100.0 }).price_factor(100.0);
        assert_eq!(too_much, Err(ActionError::DividendAtLeastClose { amount: 100.0, previous_close: 100.0 }));
    }

    #[test]
    fn kind_names_are_the_json_tags_and_columns_round_trip() {
        for kind in [ActionKind::Split { ratio: 2.0 }, ActionKind::CashDividend { amount: 1.0 }] {
            let json = serde_json::to_value(action(kind)).unwrap_or_default();
            assert_eq!(json["kind"], kind.as_str());
            let (name, ratio, amount) = kind.columns();
            assert_eq!(ActionKind::from_columns(name, ratio, amount), Some(kind));
        }
        assert_eq!(ActionKind::from_columns("split", None, Some(1.0)), None);
        assert_eq!(ActionKind::from_columns("merger", Some(1.0), None), None);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut bad = action(ActionKind::Split { ratio: f64::NAN });
        bad.ticker = "".into();
        let problems = bad.validate();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(matches!(problems[1], ActionError::BadRatio(r) if r.is_nan()));
        for amount in [0.0, -1.0, f64::INFINITY] {
            assert_eq!(
                action(ActionKind::CashDividend { amount }).validate(),
                vec![ActionError::BadAmount(amount)]
            );
        }
        assert!(action(ActionKind::Split { ratio: 4.0 }).validate().is_empty());
    }

    #[test]
    fn the_json_names_the_kind_and_its_number() -> serde_json::Result<()> {
        let split = action(ActionKind::Split { ratio: 4.0 });
        let json = serde_json::to_string(&split)?;
        assert_eq!(json, r#"{"ticker":"NVDA","exDate":"2024-06-10","kind":"split","ratio":4.0}"#);
        assert_eq!(serde_json::from_str::<CorporateAction>(&json)?, split);
        let dividend: CorporateAction = serde_json::from_str(
            r#"{"ticker":"NVDA","exDate":"2024-06-10","kind":"cash_dividend","amount":0.01}"#,
        )?;
        assert_eq!(dividend.kind, ActionKind::CashDividend { amount: 0.01 });
        Ok(())
    }
}
