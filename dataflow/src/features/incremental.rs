//! The incremental feature graph: bars LEFT OUTER JOIN the seven indicators, with row numbers
//! and labels, maintained by differential dataflow under inserts, corrections and deletions.

use super::record::{BarKey, FeatureRecord};
use super::row_id::row_ids;
use super::upsert::{BarCollection, IndicatorCollection};
use super::values::{F64Bits, Indicator};
use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

/// One of the things known about a `(series, date)` key, before they are assembled into a row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    /// The bar: its row number and close.
    Bar { id: u64, close: F64Bits },
    /// The close `horizon_bars` bars later.
    Label(F64Bits),
    /// One indicator value.
    Indicator(Indicator),
}

/// Maintains one [`FeatureRecord`] per bar.
///
/// * `bars`: `((series, date), close)`, at most one close per key (as [`super::FeatureInputs`]
///   guarantees); a second close for a key is ignored (the smallest by bit pattern wins).
/// * `indicators`: `((series, date), value)`, at most one value per indicator kind and key;
///   values for dates without a bar are kept and join when the bar arrives.
/// * `horizon_bars`: the label of a row is the close of the row `horizon_bars` later in the
///   same series (`None` until it exists).
///
/// Every row has an `id` (its 1-based position in the series by date) and `None` for each
/// missing indicator. The output changes by retraction and insertion whenever any of these do.
pub fn feature_graph<'scope, T>(
    bars: BarCollection<'scope, T>,
    indicators: IndicatorCollection<'scope, T>,
    horizon_bars: u32,
) -> VecCollection<'scope, T, FeatureRecord>
where
    T: Timestamp + Lattice + Ord,
{
    // Arranged once; read by the row numbering and by the id join.
    let bars_by_key = bars.arrange_by_key_named("Arrange: bars by (series, date)");
    let dates = bars_by_key.clone().as_collection(|key: &BarKey, _close: &F64Bits| key.clone());
    let ids = row_ids(dates);

    // `((series, date), (id, close))`: the bar with its row number.
    let numbered = ids
        .join_core(bars_by_key, |key: &BarKey, id: &u64, close: &F64Bits| Some((key.clone(), (*id, *close))));

    // Label: the close of row `id + horizon` becomes the label of row `id`.
    let horizon = u64::from(horizon_bars);
    let by_id = numbered.clone().map(|((series, date), (id, _close))| ((series, id), date));
    let later_closes = numbered.clone().flat_map(move |((series, _date), (id, close))| {
        id.checked_sub(horizon).filter(|earlier| *earlier >= 1).map(|earlier| ((series, earlier), close))
    });
    let labels = by_id.join_map(later_closes, |(series, _id), date, close| ((series.clone(), *date), *close));

    // The left outer join of the bar with its label and its indicators, as one small reduce per
    // key (a co-group): at most nine values per group, so a change costs O(1), and a missing
    // indicator is simply absent (`None`), never zero.
    numbered
        .map(|(key, (id, close))| (key, Part::Bar { id, close }))
        .concat(labels.map(|(key, close)| (key, Part::Label(close))))
        .concat(indicators.map(|(key, value)| (key, Part::Indicator(value))))
        .reduce_named::<_, FeatureRecord, isize>("Co-group: feature rows", |key, input, output| {
            let mut bar = None;
            let mut label = None;
            let mut values = Vec::new();
            for (part, diff) in input {
                if *diff <= 0 {
                    continue;
                }
                match part {
                    Part::Bar { id, close } => bar = bar.or(Some((*id, *close))),
                    Part::Label(close) => label = label.or(Some(*close)),
                    Part::Indicator(value) => values.push(*value),
                }
            }
            if let Some((id, close)) = bar {
                // Sorted by kind already (input order); keep one value per kind.
                values.dedup_by_key(|value| value.kind());
                output.push((FeatureRecord { key: key.clone(), id, close, label, indicators: values }, 1));
            }
        })
        .map(|(_key, record)| record)
}
