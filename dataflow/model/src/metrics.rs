//! Forecast errors on prices: RMSE, MAE, MAPE and directional accuracy.

use serde::{Deserialize, Serialize};

/// How far a set of price forecasts is from what happened.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Rows evaluated.
    pub rows: usize,
    /// Root mean squared error, in price units.
    pub rmse: f64,
    /// Mean absolute error, in price units.
    pub mae: f64,
    /// Mean absolute percentage error, in percent of the actual price.
    pub mape_percent: f64,
    /// Share of rows (in percent) where the forecast moved in the same direction from today's
    /// close as the actual price did; `None` for a forecast that never predicts a move.
    pub directional_accuracy_percent: Option<f64>,
}

impl Metrics {
    /// Errors of `forecasts` against `actuals`, with `closes` the price on the forecast day.
    pub fn of_prices(closes: &[f64], actuals: &[f64], forecasts: &[f64]) -> Metrics {
        let rows = actuals.len().min(forecasts.len()).min(closes.len());
        let n = rows.max(1) as f64;
        let errors = || actuals.iter().zip(forecasts).take(rows).map(|(a, f)| f - a);
        let rmse = (errors().map(|e| e * e).sum::<f64>() / n).sqrt();
        let mae = errors().map(f64::abs).sum::<f64>() / n;
        let mape_percent = 100.0
            * actuals.iter().zip(forecasts).take(rows).map(|(a, f)| ((f - a) / a).abs()).sum::<f64>()
            / n;
        let moves = |i: usize| (forecasts[i] - closes[i]).signum_or_zero();
        let predicts_moves = (0..rows).any(|i| moves(i) != 0.0);
        let hits = (0..rows).filter(|&i| moves(i) == (actuals[i] - closes[i]).signum_or_zero()).count();
        Metrics {
            rows,
            rmse,
            mae,
            mape_percent,
            directional_accuracy_percent: predicts_moves.then(|| 100.0 * hits as f64 / n),
        }
    }
}

/// `signum` that maps 0 to 0 (f64::signum maps it to 1).
trait SignumOrZero {
    fn signum_or_zero(self) -> f64;
}

impl SignumOrZero for f64 {
    fn signum_or_zero(self) -> f64 {
        if self == 0.0 { 0.0 } else { self.signum() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_direction_hits_are_counted() {
        let closes = [10.0, 10.0, 10.0, 10.0];
        let actuals = [11.0, 9.0, 12.0, 10.0];
        let forecasts = [12.0, 11.0, 11.0, 10.0];
        let m = Metrics::of_prices(&closes, &actuals, &forecasts);
        assert_eq!(m.rows, 4);
        assert!((m.rmse - (6.0_f64 / 4.0).sqrt()).abs() < 1e-12);
        assert!((m.mae - 1.0).abs() < 1e-12);
        // Up/up, up/down, up/up, flat/flat: three hits of four.
        assert_eq!(m.directional_accuracy_percent, Some(75.0));
        let persistence = Metrics::of_prices(&closes, &actuals, &closes);
        assert_eq!(persistence.directional_accuracy_percent, None);
    }
}
