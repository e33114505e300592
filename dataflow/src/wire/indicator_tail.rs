//! After its head (ticker, timeframe, date), an indicator value's message goes on with
//! text that is the same for every value of one run and indicator: the task number, the
//! `indicator` tag, the periods and the key of the first number. A run sends millions of
//! such messages, so that text is rendered once per thread and copied from then on.

use super::spare::Spare;
use crate::records::IndicatorValue;
use serde_json::ser::{CompactFormatter, Formatter};
use std::cell::RefCell;
use uuid::Uuid;

/// The key of a number (`,"macdSignal":`), padded to a fixed size so that writing it is a
/// fixed-size copy.
pub(super) struct Key {
    pub bytes: [u8; 16],
    pub len: usize,
}

impl Key {
    const fn new(text: &[u8]) -> Key {
        let mut bytes = [0; 16];
        let mut at = 0;
        while at < text.len() {
            bytes[at] = text[at];
            at += 1;
        }
        Key { bytes, len: text.len() }
    }
}

/// One value's fields in wire order: its periods, then its numbers, each with its key
/// (`,"fastPeriod":`).
pub(super) struct Fields {
    pub period_keys: &'static [&'static [u8]],
    pub periods: [i32; 3],
    pub number_keys: &'static [Key],
    pub numbers: [f64; 5],
}

impl Fields {
    #[inline(always)]
    pub fn of(value: &IndicatorValue) -> Self {
        const TIME_PERIOD: &[&[u8]] = &[b",\"timePeriod\":"];
        const EMA_KEYS: &[Key] = &[Key::new(b",\"ema\":")];
        const SMA_KEYS: &[Key] = &[Key::new(b",\"sma\":")];
        const RSI_KEYS: &[Key] = &[Key::new(b",\"rsi\":")];
        const MACD_KEYS: &[Key] =
            &[Key::new(b",\"macd\":"), Key::new(b",\"macdSignal\":"), Key::new(b",\"macdHist\":")];
        const SLOW_K_KEYS: &[Key] = &[Key::new(b",\"slowK\":"), Key::new(b",\"slowD\":")];
        const SD_KEYS: &[Key] = &[
            Key::new(b",\"sd\":"),
            Key::new(b",\"sdDown\":"),
            Key::new(b",\"lowerBand\":"),
            Key::new(b",\"middleBand\":"),
            Key::new(b",\"upperBand\":"),
        ];
        const WILLR_KEYS: &[Key] = &[Key::new(b",\"willr\":")];
        let fields = |period_keys, periods, number_keys, numbers| Fields {
            period_keys,
            periods,
            number_keys,
            numbers,
        };
        match *value {
            IndicatorValue::Ema { ema_time_period, ema } => fields(
                &[b",\"emaTimePeriod\":"],
                [ema_time_period, 0, 0],
                EMA_KEYS,
                [ema, 0.0, 0.0, 0.0, 0.0],
            ),
            IndicatorValue::Sma { time_period, sma } => {
                fields(TIME_PERIOD, [time_period, 0, 0], SMA_KEYS, [sma, 0.0, 0.0, 0.0, 0.0])
            }
            IndicatorValue::Rsi { time_period, rsi } => {
                fields(TIME_PERIOD, [time_period, 0, 0], RSI_KEYS, [rsi, 0.0, 0.0, 0.0, 0.0])
            }
            IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd,
                macd_signal,
                macd_hist,
            } => fields(
                &[b",\"fastPeriod\":", b",\"slowPeriod\":", b",\"signalPeriod\":"],
                [fast_period, slow_period, signal_period],
                MACD_KEYS,
                [macd, macd_signal, macd_hist, 0.0, 0.0],
            ),
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => fields(
                &[b",\"fastKPeriod\":", b",\"slowKPeriod\":", b",\"slowDPeriod\":"],
                [fast_k_period, slow_k_period, slow_d_period],
                SLOW_K_KEYS,
                [slow_k, slow_d, 0.0, 0.0, 0.0],
            ),
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => {
                fields(
                    TIME_PERIOD,
                    [time_period, 0, 0],
                    SD_KEYS,
                    [sd, sd_down, lower_band, middle_band, upper_band],
                )
            }
            IndicatorValue::Willr { time_period, willr } => {
                fields(TIME_PERIOD, [time_period, 0, 0], WILLR_KEYS, [willr, 0.0, 0.0, 0.0, 0.0])
            }
        }
    }
}

/// Longest tail: the task number (53 bytes), the tag (22), three periods of up to 26
/// bytes each and a key (14).
pub(super) const TAIL_ROOM: usize = 192;

/// The rendered tail of one indicator and what it was rendered for.
#[derive(Clone, Copy)]
struct Tail {
    task: Uuid,
    periods: [i32; 3],
    len: usize,
    text: [u8; TAIL_ROOM],
}

impl Tail {
    /// Matches nothing: its length is zero and every real tail is longer.
    const NONE: Tail = Tail { task: Uuid::nil(), periods: [0; 3], len: 0, text: [0; TAIL_ROOM] };

    // Once per run and indicator: kept out of the copying path.
    #[cold]
    #[inline(never)]
    fn render(&mut self, task: &Uuid, tag: &str, fields: &Fields) {
        let mut text = Vec::with_capacity(TAIL_ROOM);
        text.extend_from_slice(b",\"task_number\":\"");
        text.extend_from_slice(task.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
        text.extend_from_slice(b"\",\"indicator\":\"");
        text.extend_from_slice(tag.as_bytes());
        text.push(b'"');
        for (key, &period) in fields.period_keys.iter().zip(&fields.periods) {
            text.extend_from_slice(key);
            // Writing to a Vec cannot fail.
            let _ = CompactFormatter.write_i32(&mut text, period);
        }
        let first = &fields.number_keys[0];
        text.extend_from_slice(&first.bytes[..first.len]);
        self.task = *task;
        self.periods = fields.periods;
        self.len = text.len();
        self.text[..text.len()].copy_from_slice(&text);
    }
}

thread_local! {
    /// One tail per indicator kind.
    static TAILS: RefCell<[Tail; 7]> = const { RefCell::new([Tail::NONE; 7]) };
}

/// Appends everything of a value's message between its date and its first number.
#[inline(always)]
pub(super) fn write_tail(message: &mut Spare, task: &Uuid, value: &IndicatorValue, fields: &Fields) {
    let kind = value.kind();
    TAILS.with_borrow_mut(|tails| {
        let tail = &mut tails[kind as usize];
        if tail.len == 0 || tail.task != *task || !same_periods(&tail.periods, &fields.periods) {
            tail.render(task, kind.as_str(), fields);
        }
        message.put_block(&tail.text, tail.len);
    });
}

/// Compares period by period. Compared as arrays, the three periods just stored one by one
/// were loaded back as one wider word, which the processor cannot forward from the
/// narrower stores: a stall of a dozen cycles on every message.
#[inline(always)]
fn same_periods(a: &[i32; 3], b: &[i32; 3]) -> bool {
    (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) == 0
}
