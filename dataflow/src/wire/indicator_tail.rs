//! After its head (ticker, timeframe, date), an indicator value's message goes on with
//! text that is the same for every value of one run and indicator: the task number, the
//! `indicator` tag, the periods and the key of the first number. A run sends millions of
//! such messages, so that text is rendered once per indicator and copied from then on;
//! then come the value's numbers, each kind's written by code of its own.

use super::spare::Spare;
use crate::records::{IndicatorKind, IndicatorValue};
use serde_json::ser::{CompactFormatter, Formatter};
use uuid::Uuid;

/// The key of a number (`,"macdSignal":`), padded to a fixed size so that writing it is a
/// fixed-size copy.
struct Key {
    bytes: [u8; 16],
    len: usize,
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

/// What one kind of value writes besides its numbers: the keys of its periods and of its
/// numbers, in wire order.
struct Layout<const PERIODS: usize, const NUMBERS: usize> {
    kind: IndicatorKind,
    period_keys: [&'static [u8]; PERIODS],
    number_keys: [Key; NUMBERS],
}

const TIME_PERIOD: &[u8] = b",\"timePeriod\":";
const EMA: Layout<1, 1> = Layout {
    kind: IndicatorKind::Ema,
    period_keys: [b",\"emaTimePeriod\":"],
    number_keys: [Key::new(b",\"ema\":")],
};
const SMA: Layout<1, 1> =
    Layout { kind: IndicatorKind::Sma, period_keys: [TIME_PERIOD], number_keys: [Key::new(b",\"sma\":")] };
const RSI: Layout<1, 1> =
    Layout { kind: IndicatorKind::Rsi, period_keys: [TIME_PERIOD], number_keys: [Key::new(b",\"rsi\":")] };
const MACD: Layout<3, 3> = Layout {
    kind: IndicatorKind::Macd,
    period_keys: [b",\"fastPeriod\":", b",\"slowPeriod\":", b",\"signalPeriod\":"],
    number_keys: [Key::new(b",\"macd\":"), Key::new(b",\"macdSignal\":"), Key::new(b",\"macdHist\":")],
};
const STOCH: Layout<3, 2> = Layout {
    kind: IndicatorKind::Stoch,
    period_keys: [b",\"fastKPeriod\":", b",\"slowKPeriod\":", b",\"slowDPeriod\":"],
    number_keys: [Key::new(b",\"slowK\":"), Key::new(b",\"slowD\":")],
};
const BBANDS: Layout<1, 5> = Layout {
    kind: IndicatorKind::Bbands,
    period_keys: [TIME_PERIOD],
    number_keys: [
        Key::new(b",\"sd\":"),
        Key::new(b",\"sdDown\":"),
        Key::new(b",\"lowerBand\":"),
        Key::new(b",\"middleBand\":"),
        Key::new(b",\"upperBand\":"),
    ],
};
const WILLR: Layout<1, 1> = Layout {
    kind: IndicatorKind::Willr,
    period_keys: [TIME_PERIOD],
    number_keys: [Key::new(b",\"willr\":")],
};

/// Longest tail: the task number (53 bytes), the tag (22), three periods of up to 26
/// bytes each and a key (14).
pub(super) const TAIL_ROOM: usize = 192;

/// The most numbers a value has (bbands).
pub(super) const MAX_NUMBERS: usize = 5;

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
    fn render(&mut self, task: &Uuid, tag: &str, period_keys: &[&[u8]], periods: [i32; 3], first_key: &Key) {
        let mut text = Vec::with_capacity(TAIL_ROOM);
        text.extend_from_slice(b",\"task_number\":\"");
        text.extend_from_slice(task.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
        text.extend_from_slice(b"\",\"indicator\":\"");
        text.extend_from_slice(tag.as_bytes());
        text.push(b'"');
        for (key, &period) in period_keys.iter().zip(&periods) {
            text.extend_from_slice(key);
            // Writing to a Vec cannot fail.
            let _ = CompactFormatter.write_i32(&mut text, period);
        }
        text.extend_from_slice(&first_key.bytes[..first_key.len]);
        self.task = *task;
        self.periods = periods;
        self.len = text.len();
        self.text[..text.len()].copy_from_slice(&text);
    }
}

/// The tails of the seven indicators, each rendered when first needed.
pub(super) struct Tails([Tail; 7]);

impl Tails {
    pub const fn new() -> Self {
        Tails([Tail::NONE; 7])
    }

    /// Appends everything of `value`'s message after its head: the tail, the numbers with
    /// their keys, and the closing brace.
    #[inline(always)]
    pub fn write_rest(&mut self, message: &mut Spare, task: &Uuid, value: &IndicatorValue) {
        match *value {
            IndicatorValue::Ema { ema_time_period, ema } => {
                self.write(message, task, &EMA, [ema_time_period], [ema])
            }
            IndicatorValue::Sma { time_period, sma } => self.write(message, task, &SMA, [time_period], [sma]),
            IndicatorValue::Rsi { time_period, rsi } => self.write(message, task, &RSI, [time_period], [rsi]),
            IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd,
                macd_signal,
                macd_hist,
            } => self.write(
                message,
                task,
                &MACD,
                [fast_period, slow_period, signal_period],
                [macd, macd_signal, macd_hist],
            ),
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => self
                .write(
                    message,
                    task,
                    &STOCH,
                    [fast_k_period, slow_k_period, slow_d_period],
                    [slow_k, slow_d],
                ),
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => self
                .write(
                    message,
                    task,
                    &BBANDS,
                    [time_period],
                    [sd, sd_down, lower_band, middle_band, upper_band],
                ),
            IndicatorValue::Willr { time_period, willr } => {
                self.write(message, task, &WILLR, [time_period], [willr])
            }
        }
    }

    /// One kind's rest of a message: numbers and periods of a size known when compiled, so
    /// that each kind's copy of this is straight-line code.
    #[inline(always)]
    fn write<const PERIODS: usize, const NUMBERS: usize>(
        &mut self,
        message: &mut Spare,
        task: &Uuid,
        layout: &Layout<PERIODS, NUMBERS>,
        periods: [i32; PERIODS],
        numbers: [f64; NUMBERS],
    ) {
        let mut all_periods = [0; 3];
        all_periods[..PERIODS].copy_from_slice(&periods);
        let tail = &mut self.0[layout.kind as usize];
        if tail.len == 0 || tail.task != *task || !same_periods(&tail.periods, &all_periods) {
            tail.render(task, layout.kind.as_str(), &layout.period_keys, all_periods, &layout.number_keys[0]);
        }
        message.put_block(&tail.text, tail.len);
        message.float(numbers[0]);
        for (key, &number) in layout.number_keys.iter().zip(&numbers).skip(1) {
            message.put_block(&key.bytes, key.len);
            message.float(number);
        }
        message.put(b"}");
    }
}

/// Compares period by period. Compared as arrays, the three periods just stored one by one
/// were loaded back as one wider word, which the processor cannot forward from the
/// narrower stores: a stall of a dozen cycles on every message.
#[inline(always)]
fn same_periods(a: &[i32; 3], b: &[i32; 3]) -> bool {
    (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) == 0
}
