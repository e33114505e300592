use super::Timeframe;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A model's forecast of a close price some bars ahead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Date of the last bar the forecast is based on.
    pub as_of: NaiveDate,
    /// How many bars ahead the forecast looks.
    pub horizon_bars: u32,
    /// Forecast close price.
    pub predicted_close: f64,
    /// Identifier of the model that made the forecast.
    pub model_version: String,
}
