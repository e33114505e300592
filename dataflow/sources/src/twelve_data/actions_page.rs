//! Reads the `splits` and `dividends` answers: each entry a checked [`CorporateAction`] or the
//! error refusing it (dead-lettered like a bad bar value).

use super::ApiValueError;
use super::page::{Page, RequestInfo, answer, kind, text};
use crate::rejection::{Reason, Refusal, raw_text};
use chrono::NaiveDate;
use pricestream_records::{ActionKind, CorporateAction};
use serde_json::{Map, Value};

/// Which answer: the endpoint's path, its array and how an entry becomes an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActionEndpoint {
    /// `/splits`: `{"splits":[{"date", "from_factor", "to_factor", …}]}`.
    Splits,
    /// `/dividends`: `{"dividends":[{"ex_date", "amount"}]}`.
    Dividends,
}

impl ActionEndpoint {
    /// The path after the API root, which is also the name of the answer's array.
    pub(crate) fn path(self) -> &'static str {
        match self {
            ActionEndpoint::Splits => "splits",
            ActionEndpoint::Dividends => "dividends",
        }
    }
}

/// Reads a `splits` or `dividends` answer; `Err` names what makes the body not one.
pub(crate) fn parse_actions(
    body: &[u8],
    request: &RequestInfo,
    endpoint: ActionEndpoint,
) -> Result<Page<CorporateAction>, String> {
    let top = match answer(body)? {
        Ok(top) => top,
        Err(error) => return Ok(error),
    };
    let Some(Value::Array(entries)) = top.get(endpoint.path()) else {
        return Err(format!("the body has no `{}` array", endpoint.path()));
    };
    let actions = entries.iter().enumerate().map(|(index, entry)| {
        let action = match entry {
            Value::Object(fields) => action(fields, &request.symbol, endpoint),
            other => Err(Refusal::new(
                Reason::ApiGarbage,
                format!("entry is a JSON {}, not an object", kind(other)),
            )),
        };
        action.map_err(|refusal| ApiValueError {
            symbol: request.symbol.clone(),
            request: request.url.clone(),
            array: endpoint.path(),
            index,
            datetime: ["date", "ex_date"].iter().find_map(|key| Some(entry.get(key)?.as_str()?.to_owned())),
            reason: refusal.reason,
            message: refusal.message,
            raw: raw_text(entry.to_string().as_bytes()),
        })
    });
    Ok(Page::Values(actions.collect()))
}

/// One entry as an action: a split's ratio is `from_factor / to_factor` (4-for-1: 4 and 1).
fn action(
    fields: &Map<String, Value>,
    symbol: &str,
    endpoint: ActionEndpoint,
) -> Result<CorporateAction, Refusal> {
    let number = |key: &str| -> Result<f64, Refusal> {
        let text = text(fields, key)?;
        text.trim()
            .parse()
            .map_err(|_| Refusal::new(Reason::BadNumber, format!("{key} `{text}` is not a number")))
    };
    let (date_key, kind) = match endpoint {
        ActionEndpoint::Splits => {
            ("date", ActionKind::Split { ratio: number("from_factor")? / number("to_factor")? })
        }
        ActionEndpoint::Dividends => ("ex_date", ActionKind::CashDividend { amount: number("amount")? }),
    };
    let date = text(fields, date_key)?;
    let ex_date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
        Refusal::new(Reason::BadDate, format!("{date_key} `{date}` is not a YYYY-MM-DD date"))
    })?;
    let action = CorporateAction { ticker: symbol.into(), ex_date, kind, withdrawn: false };
    let problems = action.validate();
    if problems.is_empty() {
        return Ok(action);
    }
    let message = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    Err(Refusal::new(Reason::BadAction, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestInfo {
        RequestInfo { symbol: "AAPL".into(), url: "http://x/splits?symbol=AAPL".into() }
    }

    fn read(body: &str, endpoint: ActionEndpoint) -> Vec<Result<CorporateAction, ApiValueError>> {
        match parse_actions(body.as_bytes(), &request(), endpoint) {
            Ok(Page::Values(values)) => values,
            other => panic!("expected entries, got {other:?}"),
        }
    }

    #[test]
    fn splits_and_dividends_become_actions_and_a_bad_entry_only_refuses_itself() {
        let splits = read(
            r#"{"meta":{"symbol":"AAPL"},"splits":[
            {"date":"2020-08-31","description":"4-for-1 split","ratio":0.25,"from_factor":4,"to_factor":1},
            {"date":"2000-06-21","description":"1-for-10 reverse split","ratio":10,"from_factor":1,"to_factor":10},
            {"date":"2001-01-01","from_factor":0,"to_factor":1}]}"#,
            ActionEndpoint::Splits,
        );
        let ratios: Vec<ActionKind> = splits.iter().take(2).flatten().map(|a| a.kind).collect();
        assert_eq!(ratios, [ActionKind::Split { ratio: 4.0 }, ActionKind::Split { ratio: 0.1 }]);
        let refused = splits[2].as_ref().expect_err("a zero ratio");
        assert_eq!((refused.index, refused.reason), (2, Reason::BadAction));
        let letter = refused.to_dead_letter(uuid::Uuid::nil()).message;
        assert!(letter.starts_with("AAPL: splits[2]: "), "{letter}");
        assert!(refused.to_string().contains("splits[2] (2001-01-01)"), "{refused}");
        let dividends = read(
            r#"{"meta":{"symbol":"AAPL"},"dividends":[{"ex_date":"2024-02-09","amount":0.24},{"ex_date":"soon","amount":1}]}"#,
            ActionEndpoint::Dividends,
        );
        let first = dividends[0].as_ref().expect("a dividend");
        assert_eq!(
            (first.ticker.as_str(), first.ex_date.to_string(), first.kind),
            ("AAPL", "2024-02-09".to_owned(), ActionKind::CashDividend { amount: 0.24 })
        );
        assert_eq!(dividends[1].as_ref().map_err(|e| e.reason), Err(Reason::BadDate));
    }

    #[test]
    fn an_error_body_or_garbage_is_not_a_list() {
        let error = parse_actions(
            br#"{"code":404,"message":"not found","status":"error"}"#,
            &request(),
            ActionEndpoint::Splits,
        );
        assert!(matches!(error, Ok(Page::Error { code: 404, .. })));
        assert!(parse_actions(br#"{"values":[]}"#, &request(), ActionEndpoint::Splits).is_err());
    }
}
