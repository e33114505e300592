//! The dataflow that maintains feature rows from the input streams.

mod graph;

pub use graph::features_from_bars;
