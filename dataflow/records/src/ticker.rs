/// An instrument symbol. Stored inline up to 24 bytes (every real ticker), so the eight
/// records of a bar copy it instead of each allocating its own; it reads as a `&str`.
pub type Ticker = compact_str::CompactString;

/// The longest ticker accepted anywhere (file, API, Kafka): far above any exchange's symbols,
/// far below what a Cassandra key or a log line can carry.
pub const MAX_TICKER_LEN: usize = 32;

/// Why a text is not a ticker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ticker `{shown}` is not 1 to {MAX_TICKER_LEN} printable ASCII characters without `|`{length}")]
pub struct TickerError {
    /// The text, cut to a readable length.
    pub shown: String,
    /// ` (N bytes)` when the text was cut.
    length: String,
}

/// Checks that `text` is a ticker: 1 to [`MAX_TICKER_LEN`] printable ASCII characters (no
/// spaces or controls), without `|`, which separates the parts of the changelog's keys.
pub fn check_ticker(text: &str) -> Result<(), TickerError> {
    let ok = !text.is_empty()
        && text.len() <= MAX_TICKER_LEN
        && text.bytes().all(|b| b.is_ascii_graphic() && b != b'|');
    if ok {
        return Ok(());
    }
    let cut: String = text.chars().take(40).collect();
    let length = if cut.len() < text.len() { format!(" ({} bytes)", text.len()) } else { String::new() };
    Err(TickerError { shown: cut, length })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickers_are_short_printable_and_free_of_the_key_separator() {
        for good in ["NVDA", "BRK.B", "^GSPC", "X", "A23456789012345678901234567890AB"] {
            assert_eq!(check_ticker(good), Ok(()), "{good}");
        }
        for bad in ["", "NV DA", "A|B", "NVDA\n", "ÄPFEL", &"A".repeat(33)] {
            assert!(check_ticker(bad).is_err(), "{bad:?}");
        }
        let long = check_ticker(&"X".repeat(70_000)).expect_err("too long").to_string();
        assert!(long.contains("(70000 bytes)") && long.len() < 200, "{long}");
    }
}
