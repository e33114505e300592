use crate::records::{Bar, FeatureRow};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::vec::Map;
use timely::progress::Timestamp;

/// One feature row per bar, carrying the bar's date and close. The indicator
/// joins, row numbering and label are added by the incremental feature graph.
pub fn features_from_bars<'scope, T: Timestamp>(
    bars: StreamVec<'scope, T, Bar>,
) -> StreamVec<'scope, T, FeatureRow> {
    bars.map(|bar| FeatureRow::from_bar(&bar))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Timeframe;
    use chrono::NaiveDate;
    use timely::dataflow::operators::capture::{Capture, Event};
    use timely::dataflow::operators::vec::ToStream;

    #[test]
    fn emits_one_row_per_bar_with_its_close() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default();
        let bars: Vec<Bar> = (2..5)
            .map(|d| Bar {
                ticker: "ABC".into(),
                timeframe: Timeframe::Day,
                datetime: day(d),
                open: 10.0,
                high: 11.0,
                low: 9.0,
                close: f64::from(d),
                volume: 100,
                task_number: uuid::Uuid::nil(),
            })
            .collect();
        let input = bars.clone();
        let captured = timely::example(move |scope| features_from_bars(input.to_stream(scope)).capture());
        let rows: Vec<FeatureRow> = captured
            .try_iter()
            .flat_map(|event| match event {
                Event::Messages(_, rows) => rows,
                Event::Progress(_) => Vec::new(),
            })
            .collect();
        assert_eq!(rows.len(), 3);
        for (row, bar) in rows.iter().zip(&bars) {
            assert_eq!((row.date_time, row.close, row.ema), (bar.datetime, bar.close, None));
        }
    }
}
