//! The backtest chart: predicted against actual close of every predicted row, as a PNG.
//!
//! Drawn with plotters' bitmap backend; text goes through ab_glyph with DejaVu Sans Mono embedded
//! in the binary (`analytics/assets/`, Bitstream Vera license beside it), so no system font
//! library or installed font is needed.

use super::walk::Forecast;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;

/// Width and height of the chart in pixels.
pub const SIZE: (u32, u32) = (1200, 600);

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSansMono.ttf");
const FAMILY: &str = "sans-serif";

/// Draws `forecasts` (one ticker, date order) to `path` with `title` on top.
pub fn draw(path: &Path, title: &str, forecasts: &[Forecast]) -> Result<(), String> {
    register_font(FAMILY, FontStyle::Normal, FONT).map_err(|_| "the embedded font cannot be read")?;
    if forecasts.is_empty() {
        return Err("no forecasts to draw".into());
    }
    let (low, high) = forecasts
        .iter()
        .flat_map(|f| [f.actual, f.predicted])
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(low.is_finite() && high.is_finite()) {
        return Err("no finite prices to draw".into());
    }
    let pad = ((high - low) * 0.05).max(1e-6);
    let text = |e: DrawingAreaErrorKind<_>| e.to_string();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0..forecasts.len(), (low - pad)..(high + pad))
        .map_err(text)?;
    let date_of = |i: &usize| forecasts.get(*i).map(|f| f.as_of.to_string()).unwrap_or_default();
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&date_of)
        .x_desc("forecast made at the close of")
        .y_desc("close")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(text)?;
    let actual_color = RGBColor(40, 40, 40);
    let predicted_color = RGBColor(214, 39, 40);
    let series = [
        ("actual close, horizon later", actual_color, forecasts.iter().map(|f| f.actual).collect::<Vec<_>>()),
        ("predicted close", predicted_color, forecasts.iter().map(|f| f.predicted).collect()),
    ];
    for (label, color, values) in series {
        chart
            .draw_series(LineSeries::new(values.into_iter().enumerate(), color.stroke_width(1)))
            .map_err(text)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 16))
        .draw()
        .map_err(text)?;
    root.present().map_err(text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn writes_a_png_of_the_documented_size() {
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let forecasts: Vec<Forecast> = (0..50)
            .map(|i| Forecast {
                ticker: "T".into(),
                as_of: start + chrono::Days::new(i),
                close: 10.0,
                actual: 10.0 + (i as f64).sin(),
                predicted: 10.0 + (i as f64 * 0.9).sin(),
                served: 10.0,
            })
            .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chart.png");
        draw(&path, "T: test", &forecasts).expect("drawn");
        let bytes = std::fs::read(&path).expect("written");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(draw(&path, "empty", &[]).is_err());
    }
}
