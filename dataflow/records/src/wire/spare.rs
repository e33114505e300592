//! Writing one message straight into a `Vec`'s spare capacity: room reserved once, each
//! piece then a copy without a capacity check, and the length set once at the end. A
//! message is a few dozen small pieces, and checking and growing the `Vec` for each one
//! cost about as much as the copies themselves.

use super::short_decimal::short_decimal;

/// Room zmij needs to format any `f64`: the most one [`Spare::float`] writes (`null` and
/// whole numbers are shorter).
pub(super) const FLOAT_ROOM: usize = std::mem::size_of::<zmij::Buffer>();
// What `float` relies on: zmij's buffer is nothing but bytes.
const _: () = assert!(FLOAT_ROOM >= 24 && std::mem::align_of::<zmij::Buffer>() == 1);

/// The most bytes the compiler copies with moves instead of a `memcpy` call (eight 16-byte
/// moves on the baseline target).
const INLINE_COPY: usize = 128;

/// The longest text [`Spare::put_short`] takes.
pub(super) const SHORT: usize = 32;

/// A message being appended to `out`. Writing past the room reserved panics (a bug, not
/// undefined behaviour); a message dropped before [`Spare::finish`] leaves `out` as it was.
pub(super) struct Spare<'a> {
    out: &'a mut Vec<u8>,
    /// The start of `out`'s spare capacity and its length, taken once: `out` is borrowed for
    /// the whole message and never grows meanwhile, so they stay valid, and each piece then
    /// costs one comparison instead of finding the spare capacity and checking a range again.
    start: *mut u8,
    room: usize,
    written: usize,
}

impl<'a> Spare<'a> {
    /// Starts a message of at most `room` bytes at the end of `out`.
    #[inline(always)]
    #[allow(unsafe_code, reason = "a pointer to a Vec's spare capacity")]
    pub fn reserve(out: &'a mut Vec<u8>, room: usize) -> Self {
        out.reserve(room);
        // SAFETY: `len` is at most the capacity, so the result points into (or just past) the
        // Vec's allocation. `as_mut_ptr` makes no reference that later uses would invalidate.
        let start = unsafe { out.as_mut_ptr().add(out.len()) };
        let room = out.capacity() - out.len();
        Spare { out, start, room, written: 0 }
    }

    /// Where `len` more bytes go, `offset` bytes after the written part, after checking that
    /// they fit: panics when the room reserved is too small.
    #[inline(always)]
    #[allow(unsafe_code, reason = "a pointer into a Vec's spare capacity")]
    fn next_at(&mut self, offset: usize, len: usize) -> *mut u8 {
        // `written <= room` always holds (each piece is counted only after this check passed
        // for it), so the subtraction cannot wrap; `offset` and `len` are mostly constants,
        // and the check one comparison.
        assert!(offset + len <= self.room - self.written, "a message outgrew the room it reserved");
        // SAFETY: `written + offset + len <= room`, so the pointer stays inside the spare capacity.
        unsafe { self.start.add(self.written + offset) }
    }

    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8]) {
        self.copy(bytes);
        self.written += bytes.len();
    }

    /// Keeps the first `len` bytes of `block`, copying all `N` of them, or only the first
    /// [`INLINE_COPY`] when `len` is no more: a copy of a fixed size is a few moves, one of
    /// a variable size (or of more than `INLINE_COPY` bytes) a call to `memcpy`.
    #[inline(always)]
    pub fn put_block<const N: usize>(&mut self, block: &[u8; N], len: usize) {
        match block.split_first_chunk::<INLINE_COPY>() {
            Some((first, rest)) if N > INLINE_COPY => {
                self.copy(first);
                if len > INLINE_COPY {
                    self.copy_at(INLINE_COPY, rest);
                }
            }
            _ => self.copy(block),
        }
        self.written += len.min(N);
    }

    /// Writes `bytes` with at most two fixed-size copies, overlapping where the text is
    /// shorter than both, when they are at most [`SHORT`]: tickers, which a `memcpy` call
    /// cost more to copy than the call's own work.
    #[inline(always)]
    pub fn put_short(&mut self, bytes: &[u8]) {
        match bytes.len() {
            16..=SHORT => self.put_ends::<16>(bytes),
            8..16 => self.put_ends::<8>(bytes),
            4..8 => self.put_ends::<4>(bytes),
            0..4 => {
                for (at, &byte) in bytes.iter().enumerate() {
                    self.copy_at(at, &[byte]);
                }
            }
            _ => self.copy(bytes),
        }
        self.written += bytes.len();
    }

    /// Copies the first and the last `N` bytes of `bytes` (`N` to `2N` of them), not
    /// counting them yet.
    #[inline(always)]
    fn put_ends<const N: usize>(&mut self, bytes: &[u8]) {
        if let (Some(first), Some(last)) = (bytes.first_chunk::<N>(), bytes.last_chunk::<N>()) {
            self.copy_at(0, first);
            self.copy_at(bytes.len() - N, last);
        }
    }

    /// Copies `bytes` (of a size known when compiled, so without a `memcpy` call) to the
    /// room, `offset` bytes after its written part, without counting them.
    #[inline(always)]
    #[allow(unsafe_code, reason = "copying into a Vec's spare capacity")]
    fn copy_at(&mut self, offset: usize, bytes: &[u8]) {
        let to = self.next_at(offset, bytes.len());
        // SAFETY: `to` has room for `bytes.len()` bytes of the Vec's own allocation, which
        // `bytes` (a shared borrow, while the Vec is borrowed mutably) cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), to, bytes.len()) };
    }

    /// Copies `bytes` to the first unwritten bytes of the room, without counting them yet.
    #[inline(always)]
    fn copy(&mut self, bytes: &[u8]) {
        self.copy_at(0, bytes);
    }

    /// A number as serde_json writes an `f64`: shortest round trip, `null` when not finite.
    #[inline(always)]
    pub fn float(&mut self, value: f64) {
        if let Some(whole) = small_whole(value) {
            // Constants such as the bbands deviations (2.0) and the bounds of RSI, STOCH and
            // WILLR: written as serde writes them, without the shortest-digits search.
            self.int(whole.into());
            self.put(b".0");
        } else if value.is_finite() {
            self.finite(value);
        } else {
            self.put(b"null");
        }
    }

    /// A price: as [`Spare::float`] writes it, digit by digit when it is a short decimal.
    #[inline(always)]
    pub fn price(&mut self, value: f64) {
        match short_decimal(value) {
            Some((text, len)) => self.put_block(&text, len),
            None => self.float(value),
        }
    }

    /// A whole number as serde_json writes it.
    #[inline(always)]
    pub fn int(&mut self, value: i64) {
        // At most 20 bytes: copied without a `memcpy` call.
        self.put_short(itoa::Buffer::new().format(value).as_bytes());
    }

    /// Formats a finite `value` with zmij (serde_json's formatter) in place, instead of into
    /// a buffer that is then copied.
    #[inline(always)]
    #[allow(unsafe_code, reason = "formatting into a Vec's spare capacity")]
    fn finite(&mut self, value: f64) {
        let to = self.next_at(0, FLOAT_ROOM);
        // SAFETY: `to` has room for FLOAT_ROOM = size_of::<Buffer>() bytes of the Vec's
        // allocation, borrowed by nothing else, and `Buffer` is a plain array of
        // `MaybeUninit<u8>` (alignment 1, checked at compile time above), so these bytes,
        // initialised or not, are a valid `Buffer` for as long as `self` is borrowed.
        let buffer = unsafe { &mut *to.cast::<zmij::Buffer>() };
        self.written += buffer.format_finite(value).len();
    }

    /// Ends the message: its bytes become part of `out`.
    #[inline(always)]
    #[allow(unsafe_code, reason = "formatting into a Vec's spare capacity")]
    pub fn finish(self) {
        // SAFETY: every byte of the first `written` of the spare capacity was written by `put`,
        // `put_block` or zmij (whose returned text starts at the offset it was given), in order
        // and without gaps, and `written` never exceeds the room (checked by `next`).
        assert!(self.written <= self.room, "a message outgrew the room it reserved");
        unsafe { self.out.set_len(self.out.len() + self.written) };
    }
}

/// `value` as an integer when it is a whole number of magnitude 1 to 999,999 (zero is left
/// to the formatter, which tells `-0.0` from `0.0`).
#[inline(always)]
fn small_whole(value: f64) -> Option<i32> {
    // Below 2^52, adding 2^52 leaves no bits for a fraction, so adding and taking it away
    // again rounds to a whole number: four instructions, where `f64::trunc` is a call into
    // libm on the baseline target and a saturating cast a dozen.
    const NO_FRACTION: f64 = 4_503_599_627_370_496.0;
    let magnitude = value.abs();
    let whole = (1.0..1e6).contains(&magnitude) & ((magnitude + NO_FRACTION) - NO_FRACTION == magnitude);
    // The cast only for whole numbers, which are rare.
    if whole { Some(value as i32) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_appended_and_counted_once_finished() {
        let mut out = b"before|".to_vec();
        let mut message = Spare::reserve(&mut out, 512);
        message.put(b"{\"a\":");
        message.float(1.5);
        message.put_short(b"IBM");
        message.put_block(&[b'x'; 64], 3);
        // Longer than one inline copy: the part past it is copied only when used.
        let long: [u8; 192] = std::array::from_fn(|at| b"0123456789"[at % 10]);
        message.put_block(&long, 2);
        message.put_block(&long, 131);
        message.finish();
        let mut expected = b"before|{\"a\":1.5IBMxxx01".to_vec();
        expected.extend_from_slice(&long[..131]);
        assert_eq!(out, expected);
        let mut dropped = Spare::reserve(&mut out, 64);
        dropped.put(b"never finished");
        assert_eq!(out, expected);
    }

    #[test]
    fn small_whole_numbers_are_told_from_every_other_double() {
        let mut values =
            vec![0.0, -0.0, 1.0, -1.0, 0.999_999_999, 1.5, 2.5, -2.5, 999_999.0, 999_999.5, 1e6, -1e6];
        values.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 4_503_599_627_370_497.0, 5e-324]);
        for n in -1_000_100..1_000_100 {
            let n = f64::from(n);
            values.extend([n, n + 0.5, n + 1e-9, n - 1e-9, n * 1.000_000_1]);
        }
        for value in values {
            let expected =
                (value.abs() >= 1.0 && value.abs() < 1e6 && value.trunc() == value).then_some(value as i32);
            assert_eq!(small_whole(value), expected, "{value:e}");
        }
    }

    #[test]
    #[should_panic(expected = "outgrew the room")]
    fn writing_past_the_room_reserved_panics() {
        let mut out = Vec::with_capacity(4);
        let mut message = Spare::reserve(&mut out, 4);
        // However much room the allocator gave, writing one byte at a time runs past it.
        for _ in 0..=usize::MAX {
            message.put(b"x");
        }
        message.finish();
    }
}
