use super::Timeframe;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// A model's forecast of a close price some bars ahead: one message of the `predictions` topic
/// (key: the ticker) and one row of `instrument_mart.predictions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Date of the bar (the feature row) the forecast is based on.
    pub as_of: NaiveDate,
    /// Date of the bar whose close is forecast: `horizon_bars` bars after `as_of`. When that bar
    /// does not exist yet it is estimated by [`Prediction::weekdays_after`] (exchange holidays
    /// are not known).
    pub target_date: NaiveDate,
    /// How many bars ahead the forecast looks.
    pub horizon_bars: u32,
    /// Forecast close price.
    pub predicted_close: f64,
    /// Scope of the model that made the forecast: a ticker, or `global` for one model over
    /// every ticker (the partition key of `instrument_mart.models`).
    pub model_scope: String,
    /// Version of that model within its scope (1, 2, …).
    pub model_version: i32,
    /// `id` of the feature row the forecast was made from (its position in the ticker's series).
    pub feature_row_id: i64,
    /// What produced `predicted_close`: the model through its serving gate, or persistence
    /// (today's close) when the gate does not trust the model. Messages written before the
    /// gate existed lack it and were the raw model's.
    #[serde(default)]
    pub forecaster: Forecaster,
    /// The gate's weight on the model's predicted change (0 for persistence, 1 for the raw
    /// model): `predicted_close = close + gate_weight × (model's forecast − close)`.
    #[serde(default = "raw_model_weight")]
    pub gate_weight: f64,
    /// The cumulative corporate-action factor of the row the forecast was made from: the
    /// forecast is on the adjusted scale of that row, and `predicted_close /
    /// adjustment_factor` is on the scale of the bar's delivered prices (docs/adjustment.md).
    /// Messages written before it existed lack it (1).
    #[serde(default = "no_adjustment")]
    pub adjustment_factor: f64,
}

/// What produced a forecast.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forecaster {
    /// The model version `model_version`, its predicted change weighted by `gate_weight`.
    #[default]
    Model,
    /// Today's close: the version's gate found no skill to serve.
    Persistence,
}

impl Forecaster {
    /// The name on the wire and in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Forecaster::Model => "model",
            Forecaster::Persistence => "persistence",
        }
    }
}

fn raw_model_weight() -> f64 {
    1.0
}

fn no_adjustment() -> f64 {
    1.0
}

impl Prediction {
    /// The Kafka message key: the ticker, so a ticker's forecasts stay in order in one partition.
    pub fn message_key(&self) -> &str {
        &self.ticker
    }

    /// The date `bars` weekdays after `date`: the target date of a daily forecast whose bar does
    /// not exist yet. Weekends are skipped; exchange holidays are not known, so the real bar can
    /// fall later.
    pub fn weekdays_after(date: NaiveDate, bars: u32) -> NaiveDate {
        let mut day = date;
        let mut left = bars;
        while left > 0 {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                left -= 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn target_dates_skip_weekends() {
        // Thursday 2014-12-25 + 2 weekdays = Monday 2014-12-29.
        assert_eq!(Prediction::weekdays_after(date(2014, 12, 25), 2), date(2014, 12, 29));
        assert_eq!(Prediction::weekdays_after(date(2014, 12, 29), 1), date(2014, 12, 30));
        assert_eq!(Prediction::weekdays_after(date(2014, 12, 27), 0), date(2014, 12, 27));
    }

    #[test]
    fn goes_on_the_wire_with_snake_case_fields_and_back() {
        let prediction = Prediction {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            as_of: date(2014, 12, 29),
            target_date: date(2014, 12, 31),
            horizon_bars: 2,
            predicted_close: 20.125,
            model_scope: "NVDA".into(),
            model_version: 3,
            feature_row_id: 4010,
            forecaster: Forecaster::Model,
            gate_weight: 0.5,
            adjustment_factor: 1.0,
        };
        let bytes = wire::encode(&prediction);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["as_of"], "2014-12-29");
        assert_eq!(json["target_date"], "2014-12-31");
        assert_eq!(json["timeframe"], "1day");
        assert_eq!((json["forecaster"].as_str(), json["gate_weight"].as_f64()), (Some("model"), Some(0.5)));
        assert_eq!(wire::decode::<Prediction>(&bytes).ok(), Some(prediction.clone()));
        assert_eq!(prediction.message_key(), "NVDA");
    }

    #[test]
    fn a_message_from_before_the_gate_reads_as_the_raw_model() {
        let old = br#"{"schema_version":1,"ticker":"NVDA","timeframe":"1day","as_of":"2014-12-29",
            "target_date":"2014-12-31","horizon_bars":2,"predicted_close":20.125,"model_scope":"NVDA",
            "model_version":3,"feature_row_id":4010}"#;
        let prediction: Prediction = wire::decode(old).expect("a version 1 message");
        assert_eq!((prediction.forecaster, prediction.gate_weight), (Forecaster::Model, 1.0));
    }
}
