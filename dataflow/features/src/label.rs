//! Labels that cross a block boundary.
//!
//! The block co-group labels a row when the row `horizon` later is in the same block. For the
//! last `horizon` rows of a block (its *tails*) the later row is one of the first `horizon` rows
//! after the block, which are among the first `horizon` rows of their own block (its *heads*):
//! every row in between is also after the block, and there are fewer than `horizon` of them. So
//! tails and heads — at most `2 × horizon` records per block — meet by row number in one small
//! co-group, keyed `(series, id of the later row)`, which outputs each tail with its label. The
//! tails travel as [`LocalRow`]s (inline values), not as feature records, so that the co-group's
//! arrangements copy them without allocating.

use super::block::LocalRow;
use super::series_id::SeriesId;
use super::values::F64Bits;
use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

/// The key of the co-group: the series and a row number.
pub type RowKey = (SeriesId, u64);

/// One input of the co-group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
// Boxing the row would allocate on every copy the arrangement makes; edges are few anyway.
#[allow(clippy::large_enum_variant)]
pub enum Edge {
    /// The close of the row with this number (a head).
    Close(F64Bits),
    /// A tail waiting for the close of this row number, with its own row number.
    Waiting { id: u64, row: LocalRow },
}

/// A tail row with its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelledTail {
    /// Row number of the tail.
    pub id: u64,
    /// The tail's row.
    pub row: LocalRow,
    /// The close of the row `horizon` later, `None` while that row does not exist.
    pub label: Option<F64Bits>,
}

/// Every tail among `edges`, labelled, with its series.
pub fn cross_block_labels<'scope, T>(
    edges: VecCollection<'scope, T, (RowKey, Edge)>,
) -> VecCollection<'scope, T, (SeriesId, LabelledTail)>
where
    T: Timestamp + Lattice + Ord,
{
    edges
        .reduce_named::<_, LabelledTail, isize>("Co-group: labels across blocks", |_row, input, output| {
            let mut label = None;
            for (edge, diff) in input {
                if *diff <= 0 {
                    continue;
                }
                match **edge {
                    // Sorted: closes come first.
                    Edge::Close(close) => label = label.or(Some(close)),
                    Edge::Waiting { id, row } => output.push((LabelledTail { id, row, label }, 1)),
                }
            }
        })
        .map(|((series, _row), tail)| (series, tail))
}
