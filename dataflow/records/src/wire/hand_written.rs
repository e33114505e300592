//! The extractor sends eight messages per bar (the bar and seven indicator values),
//! so their encoding is most of a backfill's CPU time. These encoders write the
//! same bytes as the serde path, field for field, with serde_json's own number and
//! string formatters, but without its per-field dispatch and without allocating.
//! The tests below hold them to the serde output.

use super::head::{HEAD_ROOM, Head};
use super::indicator_tail::{MAX_NUMBERS, TAIL_ROOM, Tails};
use super::spare::{FLOAT_ROOM, Spare};
use super::{WireRecord, encode_with_serde};
use crate::{Bar, IndicatorRecord, IndicatorRow, IndicatorValue, Timeframe};
use chrono::NaiveDate;
use std::cell::RefCell;
use uuid::Uuid;

/// The longest number with its key (`,"middleBand":` and a float).
const NUMBER_ROOM: usize = 16 + FLOAT_ROOM;
/// Room a bar's message reserves: head, four prices, the volume (30 bytes with its key)
/// and the task number (54).
const BAR_ROOM: usize = HEAD_ROOM + 4 * NUMBER_ROOM + 32 + 56;
/// Room an indicator value's message reserves: head, tail, up to five numbers, `}`.
const INDICATOR_ROOM: usize = HEAD_ROOM + TAIL_ROOM + MAX_NUMBERS * NUMBER_ROOM + 1;
/// The most any message written here reserves.
pub(super) const MAX_ROOM: usize = if BAR_ROOM > INDICATOR_ROOM { BAR_ROOM } else { INDICATOR_ROOM };

impl WireRecord for Bar {
    fn encode_into(&self, out: &mut Vec<u8>) {
        BarMessages::new(&self.ticker, self.timeframe).encode(self, out);
    }
}

/// The end of a bar's message, `,"task_number":"…"}`: its length, and the fixed size it
/// is padded to.
const CLOSING_LEN: usize = 16 + 36 + 2;
const CLOSING_ROOM: usize = 64;

/// Writes the messages of bars of one ticker and timeframe (a run of a ticker's bars) with
/// the text they share rendered once: the head, and the task number that ends them.
pub struct BarMessages<'a> {
    ticker: &'a str,
    timeframe: Timeframe,
    head: Option<Head>,
    /// The closing text and the task it was rendered for.
    closing: Option<(Uuid, [u8; CLOSING_ROOM])>,
}

impl<'a> BarMessages<'a> {
    /// Renders the head of the messages of `ticker`'s `timeframe` bars.
    pub fn new(ticker: &'a str, timeframe: Timeframe) -> Self {
        BarMessages { ticker, timeframe, head: Head::new(ticker, timeframe), closing: None }
    }

    /// True when these are the messages of `ticker`'s `timeframe` bars.
    pub fn is_for(&self, ticker: &str, timeframe: Timeframe) -> bool {
        self.ticker == ticker && self.timeframe == timeframe
    }

    /// Appends the message of `bar`, one of the bars these messages are for, to `out`.
    #[inline]
    pub fn encode(&mut self, bar: &Bar, out: &mut Vec<u8>) {
        debug_assert!(self.is_for(&bar.ticker, bar.timeframe), "a bar of another series");
        let mut message = Spare::reserve(out, BAR_ROOM);
        if !self.head.as_mut().is_some_and(|head| head.write(&mut message, bar.datetime)) {
            return encode_with_serde(bar, out);
        }
        message.put(b",\"open\":");
        message.price(bar.open);
        message.put(b",\"high\":");
        message.price(bar.high);
        message.put(b",\"low\":");
        message.price(bar.low);
        message.put(b",\"close\":");
        message.price(bar.close);
        message.put(b",\"volume\":");
        message.int(bar.volume);
        let closing = match &self.closing {
            Some((task, text)) if *task == bar.task_number => text,
            _ => &self.closing.insert((bar.task_number, closing_text(&bar.task_number))).1,
        };
        message.put_block(closing, CLOSING_LEN);
        message.finish();
    }
}

/// `,"task_number":"…"}` for `task`, padded.
fn closing_text(task: &Uuid) -> [u8; CLOSING_ROOM] {
    let (mut text, mut uuid) = ([0; CLOSING_ROOM], Uuid::encode_buffer());
    let pieces: [&[u8]; 3] =
        [b",\"task_number\":\"", task.hyphenated().encode_lower(&mut uuid).as_bytes(), b"\"}"];
    let mut at = 0;
    for piece in pieces {
        text[at..at + piece.len()].copy_from_slice(piece);
        at += piece.len();
    }
    text
}

impl WireRecord for IndicatorRecord {
    fn encode_into(&self, out: &mut Vec<u8>) {
        self.row().encode_into(out);
    }
}

impl WireRecord for IndicatorRow<'_> {
    fn encode_into(&self, out: &mut Vec<u8>) {
        thread_local! {
            // Rendered once per thread, not once per message.
            static TAILS: RefCell<Tails> = const { RefCell::new(Tails::new()) };
        }
        TAILS.with_borrow_mut(|tails| {
            let mut head = Head::new(self.ticker, self.timeframe);
            encode_value(&mut head, tails, self, out);
        });
    }
}

/// Appends `row`'s message to `out`, its head from `head` (`None` for what only serde
/// writes right) and its tail from `tails`.
#[inline(always)]
fn encode_value(head: &mut Option<Head>, tails: &mut Tails, row: &IndicatorRow, out: &mut Vec<u8>) {
    let mut message = Spare::reserve(out, INDICATOR_ROOM);
    if !head.as_mut().is_some_and(|head| head.write(&mut message, row.datetime)) {
        return encode_with_serde(row, out);
    }
    tails.write_rest(&mut message, &row.task_number, row.value);
    message.finish();
}

/// Writes the messages of indicator values of one ticker and timeframe (the values of
/// one bar, say) with their shared head rendered once: what [`IndicatorRow::encode_into`]
/// writes for each, with less work per message.
pub struct IndicatorMessages<'a> {
    ticker: &'a str,
    timeframe: Timeframe,
    head: Option<Head>,
    tails: Tails,
}

impl<'a> IndicatorMessages<'a> {
    /// Renders the head of the messages of `ticker`'s `timeframe` values.
    pub fn new(ticker: &'a str, timeframe: Timeframe) -> Self {
        IndicatorMessages { ticker, timeframe, head: Head::new(ticker, timeframe), tails: Tails::new() }
    }

    /// True when these are the messages of `ticker`'s `timeframe` values.
    pub fn is_for(&self, ticker: &str, timeframe: Timeframe) -> bool {
        self.ticker == ticker && self.timeframe == timeframe
    }

    /// Appends the message of one value to `out`.
    #[inline]
    pub fn encode(
        &mut self,
        datetime: NaiveDate,
        task_number: &Uuid,
        value: &IndicatorValue,
        out: &mut Vec<u8>,
    ) {
        let (ticker, timeframe, task_number) = (self.ticker, self.timeframe, *task_number);
        let row = IndicatorRow { ticker, timeframe, datetime, task_number, value };
        encode_value(&mut self.head, &mut self.tails, &row, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IndicatorValue;
    use crate::Timeframe;
    use chrono::NaiveDate;
    use rand::{Rng, SeedableRng};

    fn serde_bytes<T: serde::Serialize>(record: &T) -> Vec<u8> {
        let mut out = Vec::new();
        encode_with_serde(record, &mut out);
        out
    }

    fn hand_bytes<T: WireRecord>(record: &T) -> Vec<u8> {
        let mut out = b"earlier message".to_vec();
        record.encode_into(&mut out);
        out.split_off(b"earlier message".len())
    }

    /// Floats of every kind the formatter treats differently: integers, tiny and huge
    /// magnitudes, negative zero, long mantissas, and the non-finite ones serde writes as null.
    fn float(rng: &mut impl Rng) -> f64 {
        match rng.random_range(0..9) {
            // Whole numbers on both sides of the shortcut's bounds (1 and 10^6).
            0 => f64::from(rng.random_range(-1000..1000)) * [1.0, 1e3, 1e4][rng.random_range(0..3)],
            1 => rng.random::<f64>() * 1e-300,
            2 => rng.random::<f64>() * 1e300,
            3 => -0.0,
            4 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][rng.random_range(0..3)],
            5 => f64::from_bits(rng.random()),
            // A price as files have it: six decimals.
            6 => format!("{}.{:06}", rng.random_range(0..2_000_000), rng.random_range(0..1_000_000))
                .parse()
                .unwrap_or_default(),
            _ => (rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-8..8)),
        }
    }

    fn ticker(rng: &mut impl Rng) -> String {
        let pool = [
            "NVDA",
            "NVDB",
            "BRK.B",
            "A\"B",
            "Ü-ticker",
            "tab\there",
            "back\\slash",
            "",
            // Every length class of `Spare::put_short`, at both of its ends.
            "F",
            "GE",
            "IBM",
            "ABCDEFG",
            "ABCDEFGH",
            "FIFTEEN-BYTES-X",
            "SIXTEEN-BYTES-XY",
            "SEVENTEEN-BYTES-X",
            "A-TICKER-OF-THIRTY-TWO-BYTES-XYZ",
            "A-TICKER-OF-THIRTY-THREE-BYTES-XY",
        ];
        pool[rng.random_range(0..pool.len())].to_owned()
    }

    /// A few days again and again (so that a message often shares its head with the one
    /// before), or any day.
    fn date(rng: &mut impl Rng) -> NaiveDate {
        let days = match rng.random_range(0..4) {
            0 => rng.random_range(-5_000_000..5_000_000),
            _ => 730_000 + rng.random_range(0..3),
        };
        NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default()
    }

    fn value(rng: &mut impl Rng) -> IndicatorValue {
        let mut f = || float(rng);
        let (a, b, c) = (f(), f(), f());
        let (d, e, g) = (f(), f(), f());
        // Often the same periods (as in a run, where a message's cached text is reused), or any.
        let p =
            if rng.random_bool(0.5) { [14, 20][rng.random_range(0..2)] } else { rng.random_range(-5..500) };
        match rng.random_range(0..7) {
            0 => IndicatorValue::Ema { ema_time_period: p, ema: a },
            1 => IndicatorValue::Sma { time_period: p, sma: a },
            2 => IndicatorValue::Rsi { time_period: p, rsi: a },
            3 => IndicatorValue::Macd {
                fast_period: p,
                slow_period: p + 1,
                signal_period: i32::MAX,
                macd: a,
                macd_signal: b,
                macd_hist: c,
            },
            4 => IndicatorValue::Stoch {
                fast_k_period: p,
                slow_k_period: i32::MIN,
                slow_d_period: 3,
                slow_k: a,
                slow_d: b,
            },
            5 => {
                // Often the usual band widths, written in the cached text with the period.
                let (sd, sd_down) = if rng.random_bool(0.5) { (2.0, 1.5) } else { (a, b) };
                IndicatorValue::Bbands {
                    time_period: p,
                    sd,
                    sd_down,
                    lower_band: c,
                    middle_band: d,
                    upper_band: e + g,
                }
            }
            _ => IndicatorValue::Willr { time_period: p, willr: a },
        }
    }

    fn bar(rng: &mut impl Rng, ticker: &str, task_number: Uuid) -> Bar {
        Bar {
            ticker: ticker.into(),
            timeframe: Timeframe::Day,
            datetime: date(rng),
            open: float(rng),
            high: float(rng),
            low: float(rng),
            close: float(rng),
            volume: rng.random(),
            task_number,
        }
    }

    #[test]
    fn bars_are_written_exactly_as_serde_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..20_000 {
            let (ticker, task) = (ticker(&mut rng), Uuid::from_u128(rng.random()));
            let bar = bar(&mut rng, &ticker, task);
            assert_eq!(
                String::from_utf8_lossy(&hand_bytes(&bar)),
                String::from_utf8_lossy(&serde_bytes(&bar)),
                "{bar:?}"
            );
        }
    }

    #[test]
    fn a_run_of_one_tickers_bars_shares_its_text_and_is_written_as_serde_writes_it() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let tasks = [Uuid::from_u128(rng.random()), Uuid::from_u128(rng.random())];
        for _ in 0..200 {
            let ticker = ticker(&mut rng);
            let mut messages = BarMessages::new(&ticker, Timeframe::Day);
            let mut out = Vec::new();
            for _ in 0..rng.random_range(1..40) {
                // Mostly the run's own task number (the cached closing text), sometimes another.
                let task = tasks[usize::from(rng.random_bool(0.2))];
                let bar = bar(&mut rng, &ticker, task);
                out.clear();
                messages.encode(&bar, &mut out);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&serde_bytes(&bar)),
                    "{bar:?}"
                );
            }
        }
    }

    #[test]
    fn indicator_values_are_written_exactly_as_serde_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        for _ in 0..50_000 {
            let record = IndicatorRecord {
                ticker: ticker(&mut rng).into(),
                timeframe: Timeframe::Day,
                datetime: date(&mut rng),
                // The same run's number over and over (the cached text), or a new one.
                task_number: Uuid::from_u128(if rng.random() { 7 } else { rng.random() }),
                value: value(&mut rng),
            };
            assert_eq!(
                String::from_utf8_lossy(&hand_bytes(&record)),
                String::from_utf8_lossy(&serde_bytes(&record)),
                "{record:?}"
            );
        }
    }

    #[test]
    fn messages_sharing_a_rendered_head_are_written_exactly_as_serde_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for _ in 0..5_000 {
            let ticker = ticker(&mut rng);
            let mut messages = IndicatorMessages::new(&ticker, Timeframe::Day);
            let mut last_sma = 0.0;
            for _ in 0..rng.random_range(1..40) {
                let mut value = value(&mut rng);
                match &mut value {
                    IndicatorValue::Sma { sma, .. } => last_sma = *sma,
                    // Often the SMA's number, as bbands' middle band mostly is (its text is kept).
                    IndicatorValue::Bbands { middle_band, .. } if rng.random_bool(0.5) => {
                        *middle_band = last_sma
                    }
                    _ => {}
                }
                let record = IndicatorRecord {
                    ticker: ticker.as_str().into(),
                    timeframe: Timeframe::Day,
                    datetime: date(&mut rng),
                    task_number: Uuid::from_u128(if rng.random() { 7 } else { rng.random() }),
                    value,
                };
                let mut out = b"earlier bytes stay".to_vec();
                messages.encode(record.datetime, &record.task_number, &record.value, &mut out);
                let mut expected = b"earlier bytes stay".to_vec();
                expected.extend_from_slice(&serde_bytes(&record));
                assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected), "{record:?}");
            }
        }
    }

    #[test]
    fn whole_numbers_and_periods_at_the_shortcuts_bounds_are_written_as_serde_writes_them() {
        let edges = [0, 1, 9, 10, 99, 100, 999, 1000, 999_999, 1_000_000, 1_000_001, i32::MAX];
        for edge in edges.into_iter().flat_map(|e| [e, -e, e.saturating_sub(1), e.saturating_add(1)]) {
            for number in [f64::from(edge), f64::from(edge) + 0.5, f64::from(edge) - 1e-9] {
                let record = IndicatorRecord {
                    ticker: "NVDA".into(),
                    timeframe: Timeframe::Day,
                    datetime: NaiveDate::default(),
                    task_number: Uuid::nil(),
                    value: IndicatorValue::Bbands {
                        time_period: edge,
                        sd: number,
                        sd_down: -number,
                        lower_band: number,
                        middle_band: number,
                        upper_band: number,
                    },
                };
                assert_eq!(
                    String::from_utf8_lossy(&hand_bytes(&record)),
                    String::from_utf8_lossy(&serde_bytes(&record)),
                    "{record:?}"
                );
            }
        }
    }
}
