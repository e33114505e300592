//! Splitting the token ring for scans of a whole table: each piece is read with
//! `token(partition key) >= ? AND token(partition key) <= ?`, a few at a time, so a scan of every
//! partition needs neither `ALLOW FILTERING` nor one huge paged query a node must serve alone.

/// `pieces` inclusive ranges of Murmur3 tokens, in order, that together cover the whole ring.
pub fn token_ranges(pieces: usize) -> Vec<(i64, i64)> {
    let pieces = pieces.max(1) as i128;
    let (low, high) = (i128::from(i64::MIN), i128::from(i64::MAX));
    let width = (high - low + 1) / pieces;
    (0..pieces)
        .map(|piece| {
            let start = low + piece * width;
            let end = if piece == pieces - 1 { high } else { start + width - 1 };
            (start as i64, end as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranges_cover_the_ring_once_in_order() {
        for pieces in [1, 3, 64] {
            let ranges = token_ranges(pieces);
            assert_eq!(ranges.len(), pieces);
            assert_eq!(ranges.first().map(|r| r.0), Some(i64::MIN));
            assert_eq!(ranges.last().map(|r| r.1), Some(i64::MAX));
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].1.checked_add(1), Some(pair[1].0), "{pieces} pieces: {pair:?}");
            }
        }
    }
}
