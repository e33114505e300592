//! `{"schema_version":1,"ticker":…,"timeframe":…,"datetime":…`: the opening shared by a
//! bar's message and the messages of its seven indicator values.

use super::PREFIX;
use super::spare::Spare;
use crate::records::Timeframe;
use crate::records::fast_serde::date_digits;
use chrono::NaiveDate;
use std::cell::Cell;

/// Longest ticker written here; longer ones go the serde way.
const MAX_TICKER: usize = super::spare::SHORT;
/// Room for the longest head: 74 bytes around the ticker, and the ticker.
pub(super) const HEAD_ROOM: usize = 128;

/// The bytes a JSON string holds as they are: printable ASCII but `"` and `\`. A table,
/// since every message checks its ticker byte by byte.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut byte = b' ';
    while byte <= b'~' {
        plain[byte as usize] = byte != b'"' && byte != b'\\';
        byte += 1;
    }
    plain
};

/// Writes the head and returns true; returns false, writing nothing, for what only serde
/// writes right: a ticker that is long or needs escaping, or a date outside years 0–9999.
#[inline(always)]
pub(super) fn write_head(message: &mut Spare, ticker: &str, timeframe: Timeframe, date: NaiveDate) -> bool {
    let Some(digits) = digits_of(date) else { return false };
    if ticker.len() > MAX_TICKER || !ticker.as_bytes().iter().all(|&b| PLAIN[usize::from(b)]) {
        return false;
    }
    const OPENING: &[u8] = b",\"ticker\":\"";
    message.put(PREFIX);
    message.put(OPENING);
    message.put_short(ticker.as_bytes());
    // Timeframe names are fixed ASCII words: nothing to escape.
    message.put(b"\",\"timeframe\":\"");
    message.put(timeframe.as_str().as_bytes());
    message.put(b"\",\"datetime\":\"");
    message.put(&digits);
    message.put(b"\"");
    true
}

/// `YYYY-MM-DD`; the eight messages of a bar share their date, so the last one is kept.
#[inline(always)]
fn digits_of(date: NaiveDate) -> Option<[u8; 10]> {
    thread_local! {
        static LAST: Cell<Option<(NaiveDate, [u8; 10])>> = const { Cell::new(None) };
    }
    match LAST.get() {
        Some((last, digits)) if last == date => Some(digits),
        _ => {
            let digits = date_digits(&date)?;
            LAST.set(Some((date, digits)));
            Some(digits)
        }
    }
}
