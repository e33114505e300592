//! After its head (ticker, timeframe, date), an indicator value's message goes on with
//! text that is the same for every value of one run and indicator: the task number, the
//! `indicator` tag, the settings (periods, and the band widths of bbands) and the key of
//! the first number. A run sends millions of such messages, so that text is rendered once
//! per indicator and copied from then on; then come the value's numbers, each kind's
//! written by code of its own.

use super::spare::{FLOAT_ROOM, Spare};
use crate::{IndicatorKind, IndicatorValue};
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

/// What one kind of value writes besides its numbers: the keys of its settings and of its
/// numbers, in wire order.
struct Layout<const SETTINGS: usize, const NUMBERS: usize> {
    kind: IndicatorKind,
    setting_keys: [&'static [u8]; SETTINGS],
    number_keys: [Key; NUMBERS],
}

/// A setting of an indicator: the same for all its values of one run, so written in its tail.
#[derive(Clone, Copy)]
enum Setting {
    Period(i32),
    /// A band width (bbands' `sd`, `sdDown`): a number written as serde writes an `f64`.
    Width(f64),
}

impl Setting {
    /// Tells settings apart: equal bits, equal text.
    #[inline(always)]
    fn bits(self) -> u64 {
        match self {
            Setting::Period(period) => i64::from(period) as u64,
            Setting::Width(width) => width.to_bits(),
        }
    }

    fn write(self, text: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = match self {
            Setting::Period(period) => CompactFormatter.write_i32(text, period),
            Setting::Width(width) if width.is_finite() => CompactFormatter.write_f64(text, width),
            // What serde_json writes for a number that is not finite.
            Setting::Width(_) => CompactFormatter.write_null(text),
        };
    }
}

const TIME_PERIOD: &[u8] = b",\"timePeriod\":";
const EMA: Layout<1, 1> = Layout {
    kind: IndicatorKind::Ema,
    setting_keys: [b",\"emaTimePeriod\":"],
    number_keys: [Key::new(b",\"ema\":")],
};
const SMA: Layout<1, 1> =
    Layout { kind: IndicatorKind::Sma, setting_keys: [TIME_PERIOD], number_keys: [Key::new(b",\"sma\":")] };
const RSI: Layout<1, 1> =
    Layout { kind: IndicatorKind::Rsi, setting_keys: [TIME_PERIOD], number_keys: [Key::new(b",\"rsi\":")] };
const MACD: Layout<3, 3> = Layout {
    kind: IndicatorKind::Macd,
    setting_keys: [b",\"fastPeriod\":", b",\"slowPeriod\":", b",\"signalPeriod\":"],
    number_keys: [Key::new(b",\"macd\":"), Key::new(b",\"macdSignal\":"), Key::new(b",\"macdHist\":")],
};
const STOCH: Layout<3, 2> = Layout {
    kind: IndicatorKind::Stoch,
    setting_keys: [b",\"fastKPeriod\":", b",\"slowKPeriod\":", b",\"slowDPeriod\":"],
    number_keys: [Key::new(b",\"slowK\":"), Key::new(b",\"slowD\":")],
};
const BBANDS: Layout<3, 3> = Layout {
    kind: IndicatorKind::Bbands,
    setting_keys: [TIME_PERIOD, b",\"sd\":", b",\"sdDown\":"],
    number_keys: [Key::new(b",\"lowerBand\":"), Key::new(b",\"middleBand\":"), Key::new(b",\"upperBand\":")],
};
const WILLR: Layout<1, 1> = Layout {
    kind: IndicatorKind::Willr,
    setting_keys: [TIME_PERIOD],
    number_keys: [Key::new(b",\"willr\":")],
};

/// Longest tail: the task number (53 bytes), the tag (22), three settings of up to 43
/// bytes each (a key and a float) and a key (14).
pub(super) const TAIL_ROOM: usize = 224;

/// The most numbers a value has after its tail (macd, bbands).
pub(super) const MAX_NUMBERS: usize = 3;

/// The rendered tail of one indicator and what it was rendered for.
#[derive(Clone, Copy)]
struct Tail {
    task: Uuid,
    settings: [u64; 3],
    len: usize,
    text: [u8; TAIL_ROOM],
}

impl Tail {
    /// Matches nothing: its length is zero and every real tail is longer.
    const NONE: Tail = Tail { task: Uuid::nil(), settings: [0; 3], len: 0, text: [0; TAIL_ROOM] };

    // Once per run and indicator: kept out of the copying path.
    #[cold]
    #[inline(never)]
    fn render(&mut self, task: &Uuid, tag: &str, keys: &[&[u8]], settings: &[Setting], first_key: &Key) {
        let mut text = Vec::with_capacity(TAIL_ROOM);
        text.extend_from_slice(b",\"task_number\":\"");
        text.extend_from_slice(task.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
        text.extend_from_slice(b"\",\"indicator\":\"");
        text.extend_from_slice(tag.as_bytes());
        text.push(b'"');
        for (key, setting) in keys.iter().zip(settings) {
            text.extend_from_slice(key);
            setting.write(&mut text);
        }
        text.extend_from_slice(&first_key.bytes[..first_key.len]);
        self.task = *task;
        self.settings = bits_of(settings);
        self.len = text.len();
        self.text[..text.len()].copy_from_slice(&text);
    }
}

/// The tails of the seven indicators, each rendered when first needed, and the text of
/// the last SMA written.
pub(super) struct Tails {
    tails: [Tail; 7],
    sma: KeptNumber,
}

impl Tails {
    pub const fn new() -> Self {
        Tails { tails: [Tail::NONE; 7], sma: KeptNumber { bits: None, text: Vec::new() } }
    }

    /// Appends everything of `value`'s message after its head: the tail, the numbers with
    /// their keys, and the closing brace.
    #[inline(always)]
    pub fn write_rest(&mut self, message: &mut Spare, task: &Uuid, value: &IndicatorValue) {
        use Setting::{Period, Width};
        match *value {
            IndicatorValue::Ema { ema_time_period, ema } => {
                self.write(message, task, &EMA, [Period(ema_time_period)], [ema])
            }
            IndicatorValue::Sma { time_period, sma } => {
                self.write(message, task, &SMA, [Period(time_period)], [sma])
            }
            IndicatorValue::Rsi { time_period, rsi } => {
                self.write(message, task, &RSI, [Period(time_period)], [rsi])
            }
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
                [Period(fast_period), Period(slow_period), Period(signal_period)],
                [macd, macd_signal, macd_hist],
            ),
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => self
                .write(
                    message,
                    task,
                    &STOCH,
                    [Period(fast_k_period), Period(slow_k_period), Period(slow_d_period)],
                    [slow_k, slow_d],
                ),
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => self
                .write(
                    message,
                    task,
                    &BBANDS,
                    [Period(time_period), Width(sd), Width(sd_down)],
                    [lower_band, middle_band, upper_band],
                ),
            IndicatorValue::Willr { time_period, willr } => {
                self.write(message, task, &WILLR, [Period(time_period)], [willr])
            }
        }
    }

    /// One kind's rest of a message: settings and numbers of a size known when compiled,
    /// so that each kind's copy of this is straight-line code.
    #[inline(always)]
    fn write<const SETTINGS: usize, const NUMBERS: usize>(
        &mut self,
        message: &mut Spare,
        task: &Uuid,
        layout: &Layout<SETTINGS, NUMBERS>,
        settings: [Setting; SETTINGS],
        numbers: [f64; NUMBERS],
    ) {
        let tail = &mut self.tails[layout.kind as usize];
        if tail.len == 0 || tail.task != *task || !same_settings(&tail.settings, &bits_of(&settings)) {
            tail.render(task, layout.kind.as_str(), &layout.setting_keys, &settings, &layout.number_keys[0]);
        }
        message.put_block(&tail.text, tail.len);
        self.number(message, layout.kind, 0, numbers[0]);
        // At most three numbers, spelled out: as a loop, the iterator was not unrolled.
        const _: () = assert!(MAX_NUMBERS == 3);
        for index in [1, 2] {
            if let (Some(key), Some(&number)) = (layout.number_keys.get(index), numbers.get(index)) {
                message.put_block(&key.bytes, key.len);
                self.number(message, layout.kind, index, number);
            }
        }
        message.put(b"}");
    }

    /// Number `index` of a `kind` value (both known when compiled, so this is one of its arms).
    #[inline(always)]
    fn number(&mut self, message: &mut Spare, kind: IndicatorKind, index: usize, number: f64) {
        match (kind, index) {
            // Bbands' middle band is the SMA of the same closes, and with the same period
            // (the default) the same double, which a bar's SMA message wrote just before.
            (IndicatorKind::Sma, 0) => self.sma.write(message, number),
            (IndicatorKind::Bbands, 1) => self.sma.write_again(message, number),
            _ => message.float(number),
        }
    }
}

/// A number's text as [`Spare::float`] writes it, kept to be written again.
struct KeptNumber {
    /// The bits of the number `text` is of, if any.
    bits: Option<u64>,
    text: Vec<u8>,
}

impl KeptNumber {
    /// Writes `number` and keeps its text.
    #[inline(always)]
    fn write(&mut self, message: &mut Spare, number: f64) {
        self.text.clear();
        let mut kept = Spare::reserve(&mut self.text, FLOAT_ROOM);
        kept.float(number);
        kept.finish();
        self.bits = Some(number.to_bits());
        message.put_short(&self.text);
    }

    /// Writes `number`: the text kept when it is of the same number, else formatted anew.
    #[inline(always)]
    fn write_again(&self, message: &mut Spare, number: f64) {
        if self.bits == Some(number.to_bits()) {
            message.put_short(&self.text);
        } else {
            message.float(number);
        }
    }
}

/// Up to three settings as bits, the rest zero.
#[inline(always)]
fn bits_of(settings: &[Setting]) -> [u64; 3] {
    let mut bits = [0; 3];
    for (bits, setting) in bits.iter_mut().zip(settings) {
        *bits = setting.bits();
    }
    bits
}

/// Compares setting by setting. Compared as arrays, the settings just stored one by one
/// were loaded back as one wider word, which the processor cannot forward from the
/// narrower stores: a stall of a dozen cycles on every message.
#[inline(always)]
fn same_settings(a: &[u64; 3], b: &[u64; 3]) -> bool {
    (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) == 0
}
