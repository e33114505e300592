//! The warehouse's rows as typed columns, named as on their topics: bars (snake_case, as
//! delivered), indicator values (one row per indicator and bar, the topic's field names) and
//! corporate actions (camelCase).

use super::table::{Batch, Column, Values};
use pricestream_cassandra::StoredIndicator;
use pricestream_records::{ActionKind, Bar, CorporateAction, IndicatorKind};

fn column(name: &str, required: bool, values: Values) -> Column {
    Column { name: name.into(), required, values }
}

/// The columns of bars as the bars topic names them (without `adjustment_factor`: the
/// warehouse keeps bars as delivered).
pub fn bar_batch(bars: &[Bar]) -> Batch {
    let double = |f: fn(&Bar) -> f64| Values::Double(bars.iter().map(|b| Some(f(b))).collect());
    let columns = vec![
        column("ticker", true, Values::Text(bars.iter().map(|b| Some(b.ticker.to_string())).collect())),
        column("timeframe", true, Values::Text(bars.iter().map(|b| Some(b.timeframe.to_string())).collect())),
        column("datetime", true, Values::Date(bars.iter().map(|b| b.datetime).collect())),
        column("open", true, double(|b| b.open)),
        column("high", true, double(|b| b.high)),
        column("low", true, double(|b| b.low)),
        column("close", true, double(|b| b.close)),
        column("volume", true, Values::Int64(bars.iter().map(|b| Some(b.volume)).collect())),
        column(
            "task_number",
            true,
            Values::Text(bars.iter().map(|b| Some(b.task_number.to_string())).collect()),
        ),
        column(
            "source",
            false,
            Values::Text(bars.iter().map(|b| b.source.map(|s| s.as_str().to_owned())).collect()),
        ),
    ];
    Batch { columns, rows: bars.len() }
}

/// The fields of every indicator, in the order of [`IndicatorKind::ALL`], each once: its
/// periods (integers) and numbers. Indicators share some names (`timePeriod`).
fn indicator_fields() -> Vec<(&'static str, bool)> {
    let mut fields: Vec<(&'static str, bool)> = Vec::new();
    for kind in IndicatorKind::ALL {
        let periods = kind.period_names().iter().map(|name| (*name, true));
        for field in periods.chain(kind.number_names().iter().map(|name| (*name, false))) {
            if !fields.iter().any(|(name, _)| *name == field.0) {
                fields.push(field);
            }
        }
    }
    fields
}

/// The columns of indicator values as the indicators topic names them: the key, `indicator`,
/// then every indicator's fields, null where the row's indicator has no such field.
pub fn indicator_batch(values: &[StoredIndicator]) -> Batch {
    let mut columns = vec![
        column("ticker", true, Values::Text(values.iter().map(|v| Some(v.ticker.clone())).collect())),
        column(
            "timeframe",
            true,
            Values::Text(values.iter().map(|v| Some(v.timeframe.to_string())).collect()),
        ),
        column("datetime", true, Values::Date(values.iter().map(|v| v.date).collect())),
        column(
            "indicator",
            true,
            Values::Text(values.iter().map(|v| Some(v.kind.as_str().to_owned())).collect()),
        ),
    ];
    for (name, period) in indicator_fields() {
        let at = |names: &[&str]| names.iter().position(|n| *n == name);
        let values = match period {
            true => Values::Int32(
                values.iter().map(|v| at(v.kind.period_names()).and_then(|i| v.periods[i])).collect(),
            ),
            false => Values::Double(
                values.iter().map(|v| at(v.kind.number_names()).and_then(|i| v.numbers[i])).collect(),
            ),
        };
        columns.push(column(name, false, values));
    }
    Batch { columns, rows: values.len() }
}

/// The columns of corporate actions as their topic names them: `ratio` for a split, `amount`
/// for a cash dividend, the other null.
pub fn action_batch(actions: &[CorporateAction]) -> Batch {
    let number =
        |f: fn(&ActionKind) -> Option<f64>| Values::Double(actions.iter().map(|a| f(&a.kind)).collect());
    let columns = vec![
        column("ticker", true, Values::Text(actions.iter().map(|a| Some(a.ticker.to_string())).collect())),
        column("exDate", true, Values::Date(actions.iter().map(|a| a.ex_date).collect())),
        column(
            "kind",
            true,
            Values::Text(actions.iter().map(|a| Some(a.kind.as_str().to_owned())).collect()),
        ),
        column("ratio", false, number(|k| k.columns().1)),
        column("amount", false, number(|k| k.columns().2)),
    ];
    Batch { columns, rows: actions.len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use pricestream_records::Timeframe;

    #[test]
    fn indicator_rows_fill_their_own_fields_and_leave_the_others_null() {
        let date = NaiveDate::from_ymd_opt(2014, 1, 2).unwrap_or_default();
        let row = |kind, periods: Vec<Option<i32>>, numbers: Vec<Option<f64>>| StoredIndicator {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            date,
            kind,
            periods,
            numbers,
        };
        let batch = indicator_batch(&[
            row(IndicatorKind::Sma, vec![Some(5)], vec![Some(1.5)]),
            row(IndicatorKind::Rsi, vec![Some(14)], vec![Some(55.0)]),
        ]);
        let column = |name: &str| batch.columns.iter().find(|c| c.name == name).map(|c| c.values.clone());
        assert_eq!(column("timePeriod"), Some(Values::Int32(vec![Some(5), Some(14)])));
        assert_eq!(column("sma"), Some(Values::Double(vec![Some(1.5), None])));
        assert_eq!(column("rsi"), Some(Values::Double(vec![None, Some(55.0)])));
        assert_eq!(column("indicator"), Some(Values::Text(vec![Some("sma".into()), Some("rsi".into())])));
        let names: Vec<&str> = batch.columns.iter().map(|c| c.name.as_str()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "each field once: {names:?}");
    }
}
