//! The rows of a query as typed columns, whatever the output format.

use chrono::{DateTime, NaiveDate, Utc};
use pricestream_cassandra::StoredPrediction;
use pricestream_records::{FeatureRow, MartCell};

/// One column's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Text.
    Text(Vec<Option<String>>),
    /// Dates, never null.
    Date(Vec<NaiveDate>),
    /// 32-bit integers.
    Int32(Vec<Option<i32>>),
    /// 64-bit integers.
    Int64(Vec<Option<i64>>),
    /// Doubles.
    Double(Vec<Option<f64>>),
    /// Instants in UTC, ms since the Unix epoch.
    Timestamp(Vec<Option<i64>>),
}

impl Values {
    fn empty_like(&self) -> Values {
        match self {
            Values::Text(_) => Values::Text(Vec::new()),
            Values::Date(_) => Values::Date(Vec::new()),
            Values::Int32(_) => Values::Int32(Vec::new()),
            Values::Int64(_) => Values::Int64(Vec::new()),
            Values::Double(_) => Values::Double(Vec::new()),
            Values::Timestamp(_) => Values::Timestamp(Vec::new()),
        }
    }

    fn append(&mut self, other: Values) {
        match (self, other) {
            (Values::Text(a), Values::Text(b)) => a.extend(b),
            (Values::Date(a), Values::Date(b)) => a.extend(b),
            (Values::Int32(a), Values::Int32(b)) => a.extend(b),
            (Values::Int64(a), Values::Int64(b)) => a.extend(b),
            (Values::Double(a), Values::Double(b)) => a.extend(b),
            (Values::Timestamp(a), Values::Timestamp(b)) => a.extend(b),
            _ => debug_assert!(false, "columns of one name have one type"),
        }
    }
}

/// A named column; `required` when no value is ever null.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The name, as in the topic's JSON.
    pub name: String,
    /// Whether every value is present.
    pub required: bool,
    /// The values, one per row.
    pub values: Values,
}

/// Rows as columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// The columns, all of `rows` values.
    pub columns: Vec<Column>,
    /// How many rows.
    pub rows: usize,
}

impl Batch {
    /// Appends `other`'s rows (the same columns).
    pub fn append(&mut self, other: Batch) {
        if self.columns.is_empty() {
            *self = other;
            return;
        }
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            mine.values.append(theirs.values);
        }
        self.rows += other.rows;
    }

    /// The same columns without rows.
    pub fn take(&mut self) -> Batch {
        let empty = self
            .columns
            .iter()
            .map(|c| Column { name: c.name.clone(), required: c.required, values: c.values.empty_like() })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        Batch { columns: std::mem::replace(&mut self.columns, empty), rows }
    }
}

/// A mart row as a query returns it: with the time it was known from, for `--as-of`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureOut {
    /// The row.
    pub row: FeatureRow,
    /// When pricestream knew this version (`--as-of` only).
    pub known_from: Option<DateTime<Utc>>,
}

/// The columns of feature rows: the mart's (camelCase, as on the changelog topic), then
/// `knownFrom` when `known` (an `--as-of` query).
pub fn feature_batch(rows: &[FeatureOut], known: bool) -> Batch {
    let names = pricestream_cassandra::feature_columns();
    let cells: Vec<Vec<MartCell>> = rows.iter().map(|r| r.row.indicator_cells().to_vec()).collect();
    let mut columns = Vec::with_capacity(names.len() + 1);
    let mut indicator = 0;
    for (name, typ) in names {
        let values = match name.as_str() {
            "ticker" => Values::Text(rows.iter().map(|r| Some(r.row.ticker.clone())).collect()),
            "timeframe" => Values::Text(rows.iter().map(|r| Some(r.row.timeframe.to_string())).collect()),
            "dateTime" => Values::Date(rows.iter().map(|r| r.row.date_time).collect()),
            "id" => Values::Int64(rows.iter().map(|r| r.row.id).collect()),
            "close" => Values::Double(rows.iter().map(|r| Some(r.row.close)).collect()),
            "label" => Values::Double(rows.iter().map(|r| r.row.label).collect()),
            "adjustmentFactor" => {
                Values::Double(rows.iter().map(|r| Some(r.row.adjustment_factor)).collect())
            }
            _ => {
                let at = indicator;
                indicator += 1;
                match typ {
                    "int" => Values::Int32(
                        cells
                            .iter()
                            .map(|c| if let MartCell::Period(v) = c[at] { v } else { None })
                            .collect(),
                    ),
                    _ => Values::Double(
                        cells
                            .iter()
                            .map(|c| if let MartCell::Number(v) = c[at] { v } else { None })
                            .collect(),
                    ),
                }
            }
        };
        let required =
            matches!(name.as_str(), "ticker" | "timeframe" | "dateTime" | "close" | "adjustmentFactor");
        columns.push(Column { name, required, values });
    }
    if known {
        let times = rows.iter().map(|r| r.known_from.map(|t| t.timestamp_millis())).collect();
        columns.push(Column { name: "knownFrom".into(), required: false, values: Values::Timestamp(times) });
    }
    Batch { columns, rows: rows.len() }
}

/// The columns of forecasts, named as on the predictions topic (snake_case), then `known_from`
/// when `known`. A value older rows lack reads as the topic documents it: `forecaster` `model`,
/// `gate_weight` and `adjustment_factor` 1.
pub fn prediction_batch(rows: &[(StoredPrediction, Option<DateTime<Utc>>)], known: bool) -> Batch {
    let column = |name: &str, required: bool, values: Values| Column { name: name.into(), required, values };
    let text =
        |f: fn(&StoredPrediction) -> String| Values::Text(rows.iter().map(|(p, _)| Some(f(p))).collect());
    let date = |f: fn(&StoredPrediction) -> NaiveDate| Values::Date(rows.iter().map(|(p, _)| f(p)).collect());
    let double =
        |f: fn(&StoredPrediction) -> f64| Values::Double(rows.iter().map(|(p, _)| Some(f(p))).collect());
    let mut columns = vec![
        column("ticker", true, text(|p| p.ticker.clone())),
        column("timeframe", true, text(|p| p.timeframe.clone())),
        column("as_of", true, date(|p| p.as_of)),
        column("target_date", true, date(|p| p.target_date)),
        column(
            "horizon_bars",
            false,
            Values::Int32(rows.iter().map(|(p, _)| Some(p.horizon_bars)).collect()),
        ),
        column("predicted_close", true, double(|p| p.predicted_close)),
        column("model_scope", true, text(|p| p.model_scope.clone())),
        column(
            "model_version",
            false,
            Values::Int32(rows.iter().map(|(p, _)| Some(p.model_version)).collect()),
        ),
        column(
            "feature_row_id",
            false,
            Values::Int64(rows.iter().map(|(p, _)| Some(p.feature_row_id)).collect()),
        ),
        column("forecaster", true, text(|p| p.forecaster.clone().unwrap_or_else(|| "model".into()))),
        column("gate_weight", true, double(|p| p.gate_weight.unwrap_or(1.0))),
        column("adjustment_factor", true, double(|p| p.adjustment_factor.unwrap_or(1.0))),
    ];
    if known {
        let times = rows.iter().map(|(_, known_from)| known_from.map(|t| t.timestamp_millis())).collect();
        columns.push(column("known_from", false, Values::Timestamp(times)));
    }
    Batch { columns, rows: rows.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_rows_become_the_changelog_columns_with_nulls_where_values_are_missing() {
        let row = FeatureRow {
            ticker: "NVDA".into(),
            date_time: NaiveDate::from_ymd_opt(2014, 1, 2).unwrap_or_default(),
            id: Some(7),
            ema_time_period: Some(20),
            ema: Some(1.25),
            close: 3.5,
            adjustment_factor: 1.0,
            ..FeatureRow::default()
        };
        let batch = feature_batch(&[FeatureOut { row, known_from: None }], true);
        let column = |name: &str| batch.columns.iter().find(|c| c.name == name).map(|c| c.values.clone());
        assert_eq!(column("emaTimePeriod"), Some(Values::Int32(vec![Some(20)])));
        assert_eq!(column("ema"), Some(Values::Double(vec![Some(1.25)])));
        assert_eq!(column("rsi"), Some(Values::Double(vec![None])));
        assert_eq!(column("label"), Some(Values::Double(vec![None])));
        assert_eq!(column("knownFrom"), Some(Values::Timestamp(vec![None])));
        assert_eq!(batch.columns.len(), pricestream_cassandra::feature_columns().len() + 1);
        let mut all = batch.clone();
        all.append(batch);
        assert_eq!(all.rows, 2);
        assert_eq!(all.take().rows, 2);
        assert_eq!(all.rows, 0);
    }
}
