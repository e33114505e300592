//! Where a corporate action's cells become a [`CorporateAction`] or a refusal: the ticker, the
//! ex-date, the kind, and the one number the kind needs (a split's ratio, a dividend's amount),
//! checked by [`CorporateAction::validate`].

use super::cells::{is_missing, parse_date, parse_ticker};
use crate::rejection::{Reason, Refusal};
use pricestream_records::{ActionKind, CorporateAction};

/// The cells of one action, as read from a file's columns.
pub(crate) struct ActionCells<'a> {
    /// `ticker`.
    pub(crate) ticker: &'a str,
    /// `ex_date`, `YYYY-MM-DD`.
    pub(crate) ex_date: &'a str,
    /// `kind`: `split` or `cash_dividend`.
    pub(crate) kind: &'a str,
    /// `ratio`: a split's new shares per old share; empty for a dividend.
    pub(crate) ratio: &'a str,
    /// `amount`: a dividend's cash per share; empty for a split.
    pub(crate) amount: &'a str,
    /// `status`, an optional column: `active` (or empty, or no such column) or `withdrawn`.
    pub(crate) status: &'a str,
}

/// The action the cells describe, checked.
pub(crate) fn parse_action(cells: &ActionCells<'_>) -> Result<CorporateAction, Refusal> {
    let ticker = parse_ticker("ticker", cells.ticker)?;
    let ex_date = parse_date("ex_date", cells.ex_date, "%Y-%m-%d")?;
    let kind = match cells.kind.trim().to_ascii_lowercase().as_str() {
        ActionKind::SPLIT => {
            ActionKind::Split { ratio: number("ratio", cells.ratio, "a split", cells.amount, "amount")? }
        }
        ActionKind::CASH_DIVIDEND => ActionKind::CashDividend {
            amount: number("amount", cells.amount, "a cash dividend", cells.ratio, "ratio")?,
        },
        other => {
            let message = format!("kind `{other}` is neither `split` nor `cash_dividend`");
            return Err(Refusal::new(Reason::BadAction, message));
        }
    };
    let withdrawn = match cells.status.trim().to_ascii_lowercase().as_str() {
        "" | "active" => false,
        "withdrawn" => true,
        other => {
            let message = format!("status `{other}` is neither `active` nor `withdrawn`");
            return Err(Refusal::new(Reason::BadAction, message));
        }
    };
    let action = CorporateAction { ticker, ex_date, kind, withdrawn };
    let problems = action.validate();
    if problems.is_empty() {
        return Ok(action);
    }
    let message = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    Err(Refusal::new(Reason::BadAction, message))
}

/// The number in `column`, which `what` needs, with `other` (the other kind's column) empty.
fn number(column: &str, text: &str, what: &str, other: &str, other_column: &str) -> Result<f64, Refusal> {
    let text = text.trim();
    if is_missing(text) {
        return Err(Refusal::new(Reason::MissingValue, format!("{what} needs its {column} (`{text}`)")));
    }
    if !is_missing(other) {
        let message = format!("{what} has no {other_column}, got `{}`", other.trim());
        return Err(Refusal::new(Reason::BadAction, message));
    }
    text.parse().map_err(|_| Refusal::new(Reason::BadNumber, format!("{column} `{text}` is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn cells<'a>(kind: &'a str, ratio: &'a str, amount: &'a str) -> ActionCells<'a> {
        ActionCells { ticker: " nvda ", ex_date: "2024-06-10", kind, ratio, amount, status: "" }
    }

    fn reason(result: Result<CorporateAction, Refusal>) -> Reason {
        result.map_or_else(|refusal| refusal.reason, |action| panic!("accepted: {action:?}"))
    }

    #[test]
    fn a_split_and_a_dividend_are_read_with_their_numbers() {
        let ex_date = NaiveDate::from_ymd_opt(2024, 6, 10).unwrap_or_default();
        let split = parse_action(&cells("split", "10", ""));
        assert_eq!(
            split,
            Ok(CorporateAction {
                ticker: "NVDA".into(),
                ex_date,
                kind: ActionKind::Split { ratio: 10.0 },
                withdrawn: false
            })
        );
        let dividend = parse_action(&cells("Cash_Dividend", "", "0.01"));
        assert_eq!(dividend.map(|a| a.kind), Ok(ActionKind::CashDividend { amount: 0.01 }));
        let withdrawn = ActionCells { status: " Withdrawn", ..cells("split", "10", "") };
        assert_eq!(parse_action(&withdrawn).map(|a| a.withdrawn), Ok(true));
        let active = ActionCells { status: "active", ..cells("split", "10", "") };
        assert_eq!(parse_action(&active).map(|a| a.withdrawn), Ok(false));
        let unknown = ActionCells { status: "pending", ..cells("split", "10", "") };
        assert_eq!(reason(parse_action(&unknown)), Reason::BadAction);
    }

    #[test]
    fn each_kind_of_bad_action_is_refused_with_its_reason() {
        assert_eq!(reason(parse_action(&cells("merger", "", ""))), Reason::BadAction);
        assert_eq!(reason(parse_action(&cells("split", "", ""))), Reason::MissingValue);
        assert_eq!(reason(parse_action(&cells("split", "4", "1.5"))), Reason::BadAction);
        assert_eq!(reason(parse_action(&cells("split", "four", ""))), Reason::BadNumber);
        assert_eq!(reason(parse_action(&cells("split", "-4", ""))), Reason::BadAction);
        assert_eq!(reason(parse_action(&cells("cash_dividend", "", "0"))), Reason::BadAction);
        assert_eq!(reason(parse_action(&cells("cash_dividend", "", "inf"))), Reason::BadAction);
        let mut bad_date = cells("split", "4", "");
        bad_date.ex_date = "10/06/2024";
        assert_eq!(reason(parse_action(&bad_date)), Reason::BadDate);
        let mut bad_ticker = cells("split", "4", "");
        bad_ticker.ticker = "A|B";
        assert_eq!(reason(parse_action(&bad_ticker)), Reason::BadTicker);
    }
}
