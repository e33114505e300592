//! From a feature-mart row to model inputs and target, and from a prediction back to a price.
//!
//! Trees cannot extrapolate: a tree trained on NVDA at $20 predicts at most $20-ish when the
//! price is $200. So every input is scale-free (a ratio to the close, or an oscillator that is
//! already bounded), and the target is the relative change of the close `horizon_bars` ahead;
//! the price forecast is `close × (1 + predicted change)`. A missing indicator (inside its
//! lookback) is a missing input (NaN), never 0. See `docs/model.md`.

use pricestream_records::FeatureRow;

/// Number of model inputs.
pub const N_FEATURES: usize = 11;

/// Names of the model inputs, in row order.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "ema_gap",
    "sma_gap",
    "band_width",
    "band_position",
    "rsi",
    "willr",
    "slow_k",
    "slow_d",
    "macd_to_close",
    "macd_hist_to_close",
    "macd_signal_to_close",
];

/// The model inputs of a mart row, in [`FEATURE_NAMES`] order; NaN where an indicator is
/// missing or a ratio is undefined (a zero-width band).
pub fn model_inputs(row: &FeatureRow) -> [f32; N_FEATURES] {
    let close = row.close;
    let to_close = |value: Option<f64>| value.map(|v| v / close);
    let gap = |value: Option<f64>| to_close(value).map(|ratio| ratio - 1.0);
    let band = match (row.lower_band, row.middle_band, row.upper_band) {
        (Some(lower), Some(middle), Some(upper)) => Some((lower, middle, upper)),
        _ => None,
    };
    let inputs = [
        gap(row.ema),
        gap(row.sma),
        band.map(|(lower, middle, upper)| (upper - lower) / middle),
        band.map(|(lower, _, upper)| (close - lower) / (upper - lower)),
        row.rsi,
        row.willr,
        row.slow_k,
        row.slow_d,
        to_close(row.macd),
        to_close(row.macd_hist),
        to_close(row.macd_signal),
    ];
    inputs.map(|input| match input {
        Some(value) if value.is_finite() => value as f32,
        _ => f32::NAN,
    })
}

/// The training target of a mart row: `label / close − 1`, the relative change of the close
/// `horizon_bars` ahead; `None` while the label is unknown (or the close is not positive).
pub fn target_change(row: &FeatureRow) -> Option<f32> {
    let label = row.label?;
    let change = label / row.close - 1.0;
    (row.close > 0.0 && change.is_finite()).then_some(change as f32)
}

/// The price a predicted relative change stands for.
pub fn predicted_close(close: f64, change: f32) -> f64 {
    close * (1.0 + f64::from(change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_ratios_and_missing_indicators_stay_missing() {
        let row = FeatureRow {
            close: 100.0,
            ema: Some(110.0),
            sma: Some(90.0),
            lower_band: Some(95.0),
            middle_band: Some(100.0),
            upper_band: Some(105.0),
            rsi: Some(55.0),
            macd: Some(2.0),
            label: Some(103.0),
            ..FeatureRow::default()
        };
        let inputs = model_inputs(&row);
        assert!((inputs[0] - 0.1).abs() < 1e-6);
        assert!((inputs[1] + 0.1).abs() < 1e-6);
        assert!((inputs[2] - 0.1).abs() < 1e-6);
        assert!((inputs[3] - 0.5).abs() < 1e-6);
        assert_eq!(inputs[4], 55.0);
        assert!(inputs[5].is_nan() && inputs[6].is_nan() && inputs[7].is_nan());
        assert!((inputs[8] - 0.02).abs() < 1e-6);
        assert!(inputs[9].is_nan() && inputs[10].is_nan());
        assert!((target_change(&row).expect("labelled") - 0.03).abs() < 1e-6);
        assert!((predicted_close(100.0, 0.03) - 103.0).abs() < 1e-4);
    }

    #[test]
    fn a_flat_band_and_an_unknown_label_are_missing() {
        let row = FeatureRow {
            close: 10.0,
            lower_band: Some(10.0),
            middle_band: Some(10.0),
            upper_band: Some(10.0),
            ..FeatureRow::default()
        };
        assert_eq!(model_inputs(&row)[2], 0.0);
        assert!(model_inputs(&row)[3].is_nan());
        assert_eq!(target_change(&row), None);
    }
}
