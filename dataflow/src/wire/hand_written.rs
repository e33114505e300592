//! The extractor sends eight messages per bar (the bar and seven indicator values),
//! so their encoding is most of a backfill's CPU time. These encoders write the
//! same bytes as the serde path, field for field, with serde_json's own number and
//! string formatters, but without its per-field dispatch and without allocating.
//! The tests below hold them to the serde output.

use super::{PREFIX, WireRecord};
use crate::records::fast_serde::date_digits;
use crate::records::{Bar, IndicatorRecord, IndicatorValue};
use chrono::NaiveDate;
use serde_json::ser::{CompactFormatter, Formatter};
use uuid::Uuid;

impl WireRecord for Bar {
    fn encode_into(&self, out: &mut Vec<u8>) {
        let mut json = Json { out };
        json.head(&self.ticker, self.timeframe.as_str(), &self.datetime);
        json.float(b",\"open\":", self.open);
        json.float(b",\"high\":", self.high);
        json.float(b",\"low\":", self.low);
        json.float(b",\"close\":", self.close);
        json.key(b",\"volume\":");
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_i64(json.out, self.volume);
        json.uuid(b",\"task_number\":", &self.task_number);
        json.out.push(b'}');
    }
}

impl WireRecord for IndicatorRecord {
    fn encode_into(&self, out: &mut Vec<u8>) {
        let mut json = Json { out };
        json.head(&self.ticker, self.timeframe.as_str(), &self.datetime);
        json.uuid(b",\"task_number\":", &self.task_number);
        json.key(b",\"indicator\":\"");
        json.key(self.value.kind().as_str().as_bytes());
        json.out.push(b'"');
        match self.value {
            IndicatorValue::Ema { ema_time_period, ema } => {
                json.int(b",\"emaTimePeriod\":", ema_time_period);
                json.float(b",\"ema\":", ema);
            }
            IndicatorValue::Sma { time_period, sma } => {
                json.int(b",\"timePeriod\":", time_period);
                json.float(b",\"sma\":", sma);
            }
            IndicatorValue::Rsi { time_period, rsi } => {
                json.int(b",\"timePeriod\":", time_period);
                json.float(b",\"rsi\":", rsi);
            }
            IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd,
                macd_signal,
                macd_hist,
            } => {
                json.int(b",\"fastPeriod\":", fast_period);
                json.int(b",\"slowPeriod\":", slow_period);
                json.int(b",\"signalPeriod\":", signal_period);
                json.float(b",\"macd\":", macd);
                json.float(b",\"macdSignal\":", macd_signal);
                json.float(b",\"macdHist\":", macd_hist);
            }
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
                json.int(b",\"fastKPeriod\":", fast_k_period);
                json.int(b",\"slowKPeriod\":", slow_k_period);
                json.int(b",\"slowDPeriod\":", slow_d_period);
                json.float(b",\"slowK\":", slow_k);
                json.float(b",\"slowD\":", slow_d);
            }
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => {
                json.int(b",\"timePeriod\":", time_period);
                json.float(b",\"sd\":", sd);
                json.float(b",\"sdDown\":", sd_down);
                json.float(b",\"lowerBand\":", lower_band);
                json.float(b",\"middleBand\":", middle_band);
                json.float(b",\"upperBand\":", upper_band);
            }
            IndicatorValue::Willr { time_period, willr } => {
                json.int(b",\"timePeriod\":", time_period);
                json.float(b",\"willr\":", willr);
            }
        }
        json.out.push(b'}');
    }
}

/// Appends JSON fragments to a message. Writing to a `Vec` cannot fail, so the
/// formatters' `io::Result`s are dropped. Inlined, so that each key's length is a constant
/// and its copy a few moves instead of a call to `memcpy` (most of a message is keys).
struct Json<'a> {
    out: &'a mut Vec<u8>,
}

impl Json<'_> {
    #[inline(always)]
    fn key(&mut self, key: &[u8]) {
        self.out.extend_from_slice(key);
    }

    /// `{"schema_version":1,"ticker":…,"timeframe":…,"datetime":…`, shared by bars and values.
    #[inline(always)]
    fn head(&mut self, ticker: &str, timeframe: &str, date: &NaiveDate) {
        self.key(PREFIX);
        self.key(b",\"ticker\":");
        if ticker.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
            self.out.push(b'"');
            self.key(ticker.as_bytes());
            self.out.push(b'"');
        } else {
            // serde_json's own escaping for the rare ticker that needs it (mapped files are free text).
            let _ =
                serde::Serializer::serialize_str(&mut serde_json::Serializer::new(&mut *self.out), ticker);
        }
        // Timeframe names are fixed ASCII words: nothing to escape.
        self.key(b",\"timeframe\":\"");
        self.key(timeframe.as_bytes());
        self.key(b"\",\"datetime\":\"");
        match date_digits(date) {
            Some(digits) => self.key(&digits),
            None => self.key(date.to_string().as_bytes()),
        }
        self.out.push(b'"');
    }

    /// A number as serde_json writes an `f64`: shortest round trip, `null` when not finite.
    #[inline(always)]
    fn float(&mut self, key: &[u8], value: f64) {
        self.key(key);
        if let Some(whole) = small_whole(value) {
            // Constants such as the bbands deviations (2.0) and the bounds of RSI, STOCH and
            // WILLR: written as serde writes them, without the shortest-digits search.
            self.int(b"", whole);
            self.key(b".0");
        } else if value.is_finite() {
            write_finite(self.out, value);
        } else {
            self.key(b"null");
        }
    }

    #[inline(always)]
    fn int(&mut self, key: &[u8], value: i32) {
        self.key(key);
        // Periods are a few digits: written here, not through a formatter's buffer and a `memcpy`.
        match value {
            0..=9 => self.out.push(b'0' + value as u8),
            10..=99 => self.key(&[b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]),
            100..=999 => self.key(&[
                b'0' + (value / 100) as u8,
                b'0' + (value / 10 % 10) as u8,
                b'0' + (value % 10) as u8,
            ]),
            _ => {
                let _ = CompactFormatter.write_i32(self.out, value);
            }
        }
    }

    #[inline(always)]
    fn uuid(&mut self, key: &[u8], value: &Uuid) {
        thread_local! {
            // A run stamps every message with the same task number: format it once.
            static LAST: std::cell::Cell<(Uuid, [u8; 36])> = const { std::cell::Cell::new((Uuid::nil(), *b"00000000-0000-0000-0000-000000000000")) };
        }
        let (last, mut text) = LAST.get();
        if last != *value {
            value.hyphenated().encode_lower(&mut text);
            LAST.set((*value, text));
        }
        self.key(key);
        self.out.push(b'"');
        self.key(&text);
        self.out.push(b'"');
    }
}

/// Room zmij needs to format any `f64`.
const FLOAT_ROOM: usize = std::mem::size_of::<zmij::Buffer>();
// What `write_finite` relies on: zmij's buffer is nothing but bytes.
const _: () = assert!(FLOAT_ROOM >= 24 && std::mem::align_of::<zmij::Buffer>() == 1);

/// Appends a finite `value` in shortest round-trip form (serde_json's, which is zmij's),
/// formatted straight into `out`'s spare capacity instead of a buffer that is then copied:
/// the copy cost as much as a quarter of the formatting itself.
#[inline(always)]
#[allow(unsafe_code, reason = "formatting into a Vec's spare capacity")]
fn write_finite(out: &mut Vec<u8>, value: f64) {
    out.reserve(FLOAT_ROOM);
    let len = {
        let spare = out.spare_capacity_mut();
        // SAFETY: `spare` has at least FLOAT_ROOM = size_of::<Buffer>() bytes (reserved above),
        // and `Buffer` is a plain array of `MaybeUninit<u8>` (alignment 1, checked at compile
        // time above), so these bytes, initialised or not, are a valid, exclusively borrowed
        // `Buffer` for as long as `spare` is borrowed.
        let buffer = unsafe { &mut *spare.as_mut_ptr().cast::<zmij::Buffer>() };
        buffer.format_finite(value).len()
    };
    // SAFETY: `format_finite` wrote exactly `len` initialised bytes at the start of the spare
    // capacity (the &str it returned starts there and is `len` long).
    unsafe { out.set_len(out.len() + len) };
}

/// `value` as an integer when it is a whole number of magnitude 1 to 999,999 (zero is left
/// to the formatter, which tells `-0.0` from `0.0`).
#[inline(always)]
fn small_whole(value: f64) -> Option<i32> {
    (value.abs() >= 1.0 && value.abs() < 1e6 && value.trunc() == value).then_some(value as i32)
}

#[cfg(test)]
mod tests {
    use super::super::encode_with_serde;
    use super::*;
    use crate::records::Timeframe;
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
        match rng.random_range(0..8) {
            // Whole numbers on both sides of the shortcut's bounds (1 and 10^6).
            0 => f64::from(rng.random_range(-1000..1000)) * [1.0, 1e3, 1e4][rng.random_range(0..3)],
            1 => rng.random::<f64>() * 1e-300,
            2 => rng.random::<f64>() * 1e300,
            3 => -0.0,
            4 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][rng.random_range(0..3)],
            5 => f64::from_bits(rng.random()),
            _ => (rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-8..8)),
        }
    }

    fn ticker(rng: &mut impl Rng) -> String {
        let pool = ["NVDA", "BRK.B", "A\"B", "Ü-ticker", "tab\there", "back\\slash", ""];
        pool[rng.random_range(0..pool.len())].to_owned()
    }

    fn date(rng: &mut impl Rng) -> NaiveDate {
        let days = rng.random_range(-5_000_000..5_000_000);
        NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default()
    }

    fn value(rng: &mut impl Rng) -> IndicatorValue {
        let mut f = || float(rng);
        let (a, b, c) = (f(), f(), f());
        let (d, e, g) = (f(), f(), f());
        let p = rng.random_range(-5..500);
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
            5 => IndicatorValue::Bbands {
                time_period: p,
                sd: a,
                sd_down: b,
                lower_band: c,
                middle_band: d,
                upper_band: e + g,
            },
            _ => IndicatorValue::Willr { time_period: p, willr: a },
        }
    }

    #[test]
    fn bars_are_written_exactly_as_serde_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..20_000 {
            let bar = Bar {
                ticker: ticker(&mut rng).into(),
                timeframe: Timeframe::Day,
                datetime: date(&mut rng),
                open: float(&mut rng),
                high: float(&mut rng),
                low: float(&mut rng),
                close: float(&mut rng),
                volume: rng.random(),
                task_number: Uuid::from_u128(rng.random()),
            };
            assert_eq!(
                String::from_utf8_lossy(&hand_bytes(&bar)),
                String::from_utf8_lossy(&serde_bytes(&bar)),
                "{bar:?}"
            );
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
