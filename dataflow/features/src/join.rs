//! The incremental feature graph: bars LEFT OUTER JOIN the seven indicators, with row numbers
//! and labels, maintained by differential dataflow under inserts, corrections and deletions.

use super::block::{BlockKey, Local, LocalRow, block_rows, from_day_number};
use super::inputs::BlockCollection;
use super::label::{Edge, RowKey, cross_block_labels};
use super::record::FeatureRecord;
use super::row_id::block_offsets;
use super::series_id::SeriesId;
use super::values::F64Bits;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::join::join_traces;
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::{CapacityContainerBuilder, PushInto};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::core::OkErr;
use timely::progress::Timestamp;

/// Maintains one [`FeatureRecord`] per bar.
///
/// * `blocks`: the bars' closes and the indicator values, a bundle per (series, date), a value
///   per (series, block), as [`super::FeatureInputs`] feeds them. Should bundles of a date
///   overlap, their entries are added up: a second close is ignored (the smallest by bit pattern wins), as is a second
///   value of an indicator kind. Values for dates without a bar are kept and join when the bar
///   arrives.
/// * `horizon_bars`: the label of a row is the close of the row `horizon_bars` later in the
///   same series (`None` until it exists).
///
/// Every row has an `id` (its 1-based position in the series by date) and `None` for each
/// missing indicator. The output changes by retraction and insertion whenever any of these do.
pub fn feature_graph<'scope, T>(
    blocks: BlockCollection<'scope, T>,
    horizon_bars: u32,
) -> VecCollection<'scope, T, FeatureRecord>
where
    T: Timestamp + Lattice + Ord,
{
    let horizon = u64::from(horizon_bars);
    // Everything about one (series, 32-day block), a bundle per day: one arrangement for all
    // inputs.
    let local = block_rows(blocks, horizon);

    // Row number = rank in block + bars in the series' earlier blocks.
    let counts =
        local.clone().flat_map_ref(|block: &BlockKey, rows: &Local| Some((block.clone(), rows.len() as u64)));
    let offsets = block_offsets(counts).arrange_by_key_named("Arrange: block offsets");

    // Rows labelled inside their block are done; tails and heads go on to meet across blocks.
    // A changed block retracts every row it had and inserts every row it has: most of them
    // change anyway in a restatement, and an append's unchanged rows cancel where the output is
    // netted. The join's output is not consolidated (sorting ~20,000 large records to cancel the
    // few equal pairs cost a restatement a fifth of its time): edges are consolidated by the
    // label reduce; records leave the graph as they are.
    let numbered = join_traces::<_, _, _, _, CapacityContainerBuilder<Vec<(Numbered, T, isize)>>>(
        local,
        offsets,
        "Join: row numbers",
        move |(series, _block): &BlockKey, rows: &Local, offset: &u64, time, d1: &isize, d2: &isize, out| {
            let diff = d1 * d2;
            for row in rows {
                for numbered in number(series, row, offset + row.rank + 1, horizon).into_iter().flatten() {
                    out.push_into((numbered, time.clone(), diff));
                }
            }
        },
    );
    let (done, edges): (Updates<'scope, T, FeatureRecord>, Updates<'scope, T, (RowKey, Edge)>) = numbered
        .ok_err(|(numbered, time, diff)| match numbered {
            Ok(record) => Ok((record, time, diff)),
            Err(edge) => Err((edge, time, diff)),
        });
    let tails = cross_block_labels(edges.as_collection())
        .flat_map(|(series, tail)| record(&series, &tail.row, tail.id, tail.label));
    done.as_collection().concat(tails)
}

/// What the numbering join emits: a finished record, or an input of the cross-block labels.
type Numbered = Result<FeatureRecord, (RowKey, Edge)>;

/// The stream of a collection of `D`.
type Updates<'scope, T, D> = StreamVec<'scope, T, (D, T, isize)>;

/// The outputs of one numbered row: the finished record, or (for a tail) its wait for the
/// label beyond the block; and, for one of the first `horizon` rows of its block (a head), its
/// close as the label of an earlier block's tail.
fn number(series: &SeriesId, row: &LocalRow, id: u64, horizon: u64) -> [Option<Numbered>; 2] {
    let done = match row.tail {
        0 => record(series, row, id, row.label).map(Ok),
        // Without its `tail`, which changes as the block grows but not the record: otherwise
        // every append would retract and re-insert an unchanged record.
        _ => Some(Err((
            (series.clone(), id + horizon),
            Edge::Waiting { id, row: LocalRow { tail: 0, ..*row } },
        ))),
    };
    let head = (row.rank < horizon).then(|| Err(((series.clone(), id), Edge::Close(row.close.adjusted))));
    [done, head]
}

/// The feature record of `row`.
fn record(series: &SeriesId, row: &LocalRow, id: u64, label: Option<F64Bits>) -> Option<FeatureRecord> {
    let date = from_day_number(row.day)?;
    Some(FeatureRecord {
        key: (series.to_key(), date),
        id,
        close: row.close,
        label,
        indicators: row.indicators,
    })
}
