//! A compact stand-in for [`SeriesKey`] inside the graph.
//!
//! Every arranged record is keyed by its series. A `String` there costs an allocation per clone
//! (every map, exchange and merge clones keys) and a pointer chase per comparison while sorting.
//! Tickers are short, so the ticker's bytes are packed into three words instead: a `Copy`-cheap
//! key that compares as integers. The packing is injective (length included), so two series
//! never share an id; a ticker too long to pack keeps its `SeriesKey`.

use super::record::SeriesKey;
use pricestream_records::Timeframe;
use serde::{Deserialize, Serialize};

/// Bytes of a ticker that fit in [`SeriesId::Packed`]: three words less the length byte.
const PACKED_BYTES: usize = 23;

/// A series, as the graph keys its internal collections.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SeriesId {
    /// Ticker bytes, zero-padded, with the length in the last byte.
    Packed(Timeframe, [u64; 3]),
    /// A ticker longer than [`PACKED_BYTES`].
    Named(SeriesKey),
}

impl SeriesId {
    /// The id of `series`.
    pub fn of(series: &SeriesKey) -> Self {
        Self::new(&series.ticker, series.timeframe)
    }

    /// The id of the series of `ticker` and `timeframe`; allocates only for a ticker too long
    /// to pack.
    pub fn new(ticker: &str, timeframe: Timeframe) -> Self {
        if ticker.len() > PACKED_BYTES {
            return SeriesId::Named(SeriesKey { ticker: ticker.to_owned(), timeframe });
        }
        let ticker = ticker.as_bytes();
        let mut bytes = [0_u8; 24];
        bytes[..ticker.len()].copy_from_slice(ticker);
        bytes[PACKED_BYTES] = ticker.len() as u8;
        let word = |i: usize| {
            let mut chunk = [0_u8; 8];
            chunk.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(chunk)
        };
        SeriesId::Packed(timeframe, [word(0), word(1), word(2)])
    }

    /// The series back.
    pub fn to_key(&self) -> SeriesKey {
        match self {
            SeriesId::Packed(timeframe, words) => {
                let mut bytes = [0_u8; 24];
                for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
                    chunk.copy_from_slice(&word.to_le_bytes());
                }
                let len = usize::from(bytes[PACKED_BYTES]).min(PACKED_BYTES);
                // The bytes came from a `String`, so they are UTF-8; lossy only to avoid a panic path.
                let ticker = String::from_utf8_lossy(&bytes[..len]).into_owned();
                SeriesKey { ticker, timeframe: *timeframe }
            }
            SeriesId::Named(series) => series.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_distinct_tickers_apart() {
        let series = |ticker: &str| SeriesKey { ticker: ticker.into(), timeframe: Timeframe::Day };
        let tickers =
            ["", "A", "A\0", "NVDA", "BRK.B", "ÄÖÜ", "X".repeat(23).as_str(), "Y".repeat(24).as_str()]
                .map(String::from);
        let ids: Vec<SeriesId> = tickers.iter().map(|t| SeriesId::of(&series(t))).collect();
        for (id, ticker) in ids.iter().zip(&tickers) {
            assert_eq!(id.to_key(), series(ticker));
        }
        assert!(matches!(ids[6], SeriesId::Packed(..)));
        assert!(matches!(ids[7], SeriesId::Named(_)));
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
