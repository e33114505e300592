//! Reads one `time_series` answer: bars, an error body, or garbage.

use super::ApiValueError;
use crate::rejection::{Reason, Refusal, raw_text};
use crate::validate::{SeenDates, check_bar, parse_price, parse_volume};
use chrono::NaiveDate;
use pricestream_records::{Bar, Timeframe};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What one request is about, to name it in errors.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    /// The symbol asked for, upper-cased: the ticker of its bars.
    pub symbol: String,
    /// The request URL without the API key.
    pub url: String,
}

/// What an answer said.
#[derive(Debug)]
pub(crate) enum Page<T = Bar> {
    /// Its values, oldest first: bars (or actions) or the error that refused each.
    Values(Vec<Result<T, ApiValueError>>),
    /// `{"status":"error"}` with its code and message.
    Error {
        /// The `code` field (an HTTP-like status), 0 when absent.
        code: i64,
        /// The `message` field.
        message: String,
    },
}

/// Reads a `time_series` answer. `Err` names what makes the body not an answer at all.
pub(crate) fn parse_page(body: &[u8], request: &RequestInfo, task_number: Uuid) -> Result<Page, String> {
    let top = match answer(body)? {
        Ok(top) => top,
        Err(error) => return Ok(error),
    };
    let interval = top.get("meta").and_then(|m| m.get("interval")).and_then(Value::as_str);
    if let Some(interval) = interval.filter(|i| *i != "1day") {
        return Err(format!("meta.interval is `{interval}`, expected `1day`"));
    }
    let Some(Value::Array(values)) = top.get("values") else {
        return Err("the body has no `values` array".into());
    };
    let mut seen = SeenDates::default();
    let mut out = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate().rev() {
        let datetime = value.get("datetime").and_then(Value::as_str).map(str::to_owned);
        let bar = parse_value(value, &request.symbol, task_number).and_then(|bar| {
            seen.check(&bar.ticker, bar.datetime, index as u64, "values index")?;
            Ok(bar)
        });
        out.push(bar.map_err(|refusal| ApiValueError {
            symbol: request.symbol.clone(),
            request: request.url.clone(),
            array: "values",
            index,
            datetime,
            reason: refusal.reason,
            message: refusal.message,
            raw: raw_text(value.to_string().as_bytes()),
        }));
    }
    Ok(Page::Values(out))
}

/// An answer's top-level object, or the error page it is.
pub(crate) type Answer<T> = Result<Map<String, Value>, Page<T>>;

/// The top-level object of an answer, or the error page it is; `Err` when it is neither.
pub(crate) fn answer<T>(body: &[u8]) -> Result<Answer<T>, String> {
    let json: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let Value::Object(top) = json else {
        return Err(format!("the body is a JSON {}, not an object", kind(&json)));
    };
    if top.get("status").and_then(Value::as_str) == Some("error") {
        let code = top.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = match top.get("message") {
            Some(Value::String(m)) => m.clone(),
            Some(other) => other.to_string(),
            None => "(no message)".into(),
        };
        return Ok(Err(Page::Error { code, message }));
    }
    Ok(Ok(top))
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn parse_value(value: &Value, symbol: &str, task_number: Uuid) -> Result<Bar, Refusal> {
    let Value::Object(fields) = value else {
        return Err(Refusal::new(
            Reason::ApiGarbage,
            format!("value is a JSON {}, not an object", kind(value)),
        ));
    };
    let bar = Bar {
        ticker: symbol.into(),
        timeframe: Timeframe::Day,
        datetime: date(fields)?,
        open: parse_price("open", &text(fields, "open")?)?,
        high: parse_price("high", &text(fields, "high")?)?,
        low: parse_price("low", &text(fields, "low")?)?,
        close: parse_price("close", &text(fields, "close")?)?,
        // Currencies and some indices have no volume; their bars carry 0.
        volume: match fields.get("volume") {
            None => 0,
            Some(_) => parse_volume("volume", &text(fields, "volume")?)?,
        },
        task_number,
        adjustment_factor: 1.0,
        source: Some(pricestream_records::BarSource::Api),
    };
    check_bar(&bar)?;
    Ok(bar)
}

/// The value at `key` as text: a string as it is, a number written out, null as empty.
pub(crate) fn text(fields: &Map<String, Value>, key: &str) -> Result<String, Refusal> {
    match fields.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Null) => Ok(String::new()),
        Some(other) => Err(Refusal::new(Reason::ApiGarbage, format!("{key} is a JSON {}", kind(other)))),
        None => Err(Refusal::new(Reason::ApiGarbage, format!("value has no `{key}`"))),
    }
}

/// `datetime` as a day: `2024-01-02`, or `2024-01-02 00:00:00` whose time is ignored.
fn date(fields: &Map<String, Value>) -> Result<NaiveDate, Refusal> {
    let text = text(fields, "datetime")?;
    let day = match text.split_once([' ', 'T']) {
        Some((day, _)) => day,
        None => text.as_str(),
    };
    NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|_| Refusal::new(Reason::BadDate, format!("datetime `{text}` is not a YYYY-MM-DD date")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestInfo {
        RequestInfo { symbol: "AAPL".into(), url: "http://x/time_series?symbol=AAPL".into() }
    }

    fn values(body: &str) -> Vec<Result<Bar, ApiValueError>> {
        match parse_page(body.as_bytes(), &request(), Uuid::nil()) {
            Ok(Page::Values(values)) => values,
            other => panic!("expected values, got {other:?}"),
        }
    }

    #[test]
    fn reads_values_oldest_first() {
        let got = values(
            r#"{"meta":{"symbol":"AAPL","interval":"1day"},"values":[
            {"datetime":"2024-01-03","open":"184.22","high":"185.88","low":"183.43","close":"184.25","volume":"58414500"},
            {"datetime":"2024-01-02","open":"187.15","high":"188.44","low":"183.89","close":"185.64","volume":"82488700"}
            ],"status":"ok"}"#,
        );
        let bars: Vec<&Bar> = got.iter().map(|r| r.as_ref().expect("valid")).collect();
        assert_eq!(bars[0].datetime, NaiveDate::from_ymd_opt(2024, 1, 2).expect("date"));
        assert_eq!((bars[0].open, bars[0].volume, bars[0].ticker.as_str()), (187.15, 82_488_700, "AAPL"));
        assert_eq!(bars[1].close, 184.25);
    }

    #[test]
    fn one_bad_value_refuses_only_itself() {
        let got = values(
            r#"{"values":[
            {"datetime":"2024-01-05","open":"1","high":"2","low":"0.5","close":"1.5","volume":"10"},
            {"datetime":"2024-01-04","open":"abc","high":"2","low":"0.5","close":"1.5","volume":"10"},
            {"datetime":"2024-01-03","open":"1","high":"0.9","low":"0.5","close":"1.5","volume":"10"},
            {"datetime":"2024-01-05","open":"1","high":"2","low":"0.5","close":"1.5","volume":"10"},
            [1,2,3],
            {"datetime":"Jan 2","open":"1","high":"2","low":"0.5","close":"1.5"}
            ],"status":"ok"}"#,
        );
        let errors: Vec<&ApiValueError> = got.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 1);
        let reasons: Vec<(usize, Reason)> = errors.iter().map(|e| (e.index, e.reason)).collect();
        assert_eq!(
            reasons,
            [
                (5, Reason::BadDate),
                (4, Reason::ApiGarbage),
                (2, Reason::InconsistentOhlc),
                (1, Reason::BadNumber),
                (0, Reason::DuplicateDate)
            ]
        );
        let bad = errors[3];
        assert!(bad.raw.contains("\"open\":\"abc\""), "{}", bad.raw);
        let text = bad.to_string();
        assert!(text.contains("AAPL") && text.contains("values[1]") && text.contains("2024-01-04"), "{text}");
        assert!(text.contains("http://x/time_series?symbol=AAPL"), "{text}");
    }

    #[test]
    fn error_bodies_and_garbage() {
        let error =
            parse_page(br#"{"code":400,"message":"bad symbol","status":"error"}"#, &request(), Uuid::nil());
        assert!(matches!(error, Ok(Page::Error { code: 400, ref message }) if message == "bad symbol"));
        for garbage in
            ["<html>", "[1]", "{}", r#"{"values":{}}"#, r#"{"meta":{"interval":"1h"},"values":[]}"#]
        {
            assert!(parse_page(garbage.as_bytes(), &request(), Uuid::nil()).is_err(), "{garbage}");
        }
    }
}
