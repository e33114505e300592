//! `{"schema_version":1,"ticker":…,"timeframe":…,"datetime":…`: the opening shared by a
//! bar's message and the messages of its seven indicator values.

use super::PREFIX;
use super::spare::Spare;
use crate::Timeframe;
use crate::fast_serde::date_digits;
use chrono::NaiveDate;

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

/// The head of the messages of one ticker and timeframe, rendered once: the values of one
/// bar share it, and copying it costs less than writing it again. It ends with the date of
/// the last message written (the values of a bar mostly share that too).
pub(super) struct Head {
    text: [u8; HEAD_ROOM],
    /// The length up to the date.
    opening: usize,
    /// The date the text ends with, if any.
    date: Option<NaiveDate>,
}

/// A date's digits and closing quote.
const DATE_LEN: usize = 11;

impl Head {
    /// The head, or `None` for what only serde writes right: a ticker that is long or needs
    /// escaping.
    pub fn new(ticker: &str, timeframe: Timeframe) -> Option<Head> {
        if !plain_ticker(ticker) {
            return None;
        }
        let mut head = Head { text: [0; HEAD_ROOM], opening: 0, date: None };
        let mut put = |piece: &[u8]| {
            head.text[head.opening..head.opening + piece.len()].copy_from_slice(piece);
            head.opening += piece.len();
        };
        put(PREFIX);
        put(TICKER_KEY);
        put(ticker.as_bytes());
        put(TIMEFRAME_KEY);
        put(timeframe.as_str().as_bytes());
        put(DATETIME_KEY);
        Some(head)
    }

    /// Writes the head with `date` and returns true; false, writing nothing, for a date
    /// outside years 0–9999.
    #[inline(always)]
    pub fn write(&mut self, message: &mut Spare, date: NaiveDate) -> bool {
        if self.date != Some(date) {
            let Some(digits) = date_digits(&date) else { return false };
            let at = self.opening;
            self.text[at..at + 10].copy_from_slice(&digits);
            self.text[at + 10] = b'"';
            self.date = Some(date);
        }
        message.put_block(&self.text, self.opening + DATE_LEN);
        true
    }
}

const TICKER_KEY: &[u8] = b",\"ticker\":\"";
// Timeframe names are fixed ASCII words: nothing to escape.
const TIMEFRAME_KEY: &[u8] = b"\",\"timeframe\":\"";
const DATETIME_KEY: &[u8] = b"\",\"datetime\":\"";

/// True when the ticker is written as it is: short, and nothing in it to escape.
#[inline(always)]
fn plain_ticker(ticker: &str) -> bool {
    ticker.len() <= MAX_TICKER && ticker.as_bytes().iter().all(|&b| PLAIN[usize::from(b)])
}
