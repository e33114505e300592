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

/// The longest text [`Spare::put_short`] takes.
pub(super) const SHORT: usize = 32;

/// A message being appended to `out`. Writing past the room reserved panics (a bug, not
/// undefined behaviour); a message dropped before [`Spare::finish`] leaves `out` as it was.
pub(super) struct Spare<'a> {
    out: &'a mut Vec<u8>,
    written: usize,
}

impl<'a> Spare<'a> {
    /// Starts a message of at most `room` bytes at the end of `out`.
    #[inline(always)]
    pub fn reserve(out: &'a mut Vec<u8>, room: usize) -> Self {
        out.reserve(room);
        Spare { out, written: 0 }
    }

    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8]) {
        self.copy(bytes);
        self.written += bytes.len();
    }

    /// Keeps the first `len` bytes of `block`, copying all `N` of them: a copy of a fixed
    /// size is a few moves, one of a variable size a call to `memcpy`.
    #[inline(always)]
    pub fn put_block<const N: usize>(&mut self, block: &[u8; N], len: usize) {
        self.copy(block);
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

    /// Writes the first `len` bytes of `block` in 32-byte pieces, as many as they need: a
    /// long block of which only part is used (a cached tail) without a `memcpy` call.
    #[inline(always)]
    pub fn put_pieces<const N: usize>(&mut self, block: &[u8; N], len: usize) {
        for (at, piece) in block.chunks_exact(32).take(len.div_ceil(32)).enumerate() {
            if let Some(piece) = piece.first_chunk::<32>() {
                self.copy_at(32 * at, piece);
            }
        }
        self.written += len.min(N);
    }

    /// Copies a fixed-size `block` to the room, `offset` bytes after its written part.
    #[inline(always)]
    fn copy_at<const N: usize>(&mut self, offset: usize, block: &[u8; N]) {
        let written = self.written;
        self.written += offset;
        self.copy(block);
        self.written = written;
    }

    /// Copies `bytes` to the first unwritten bytes of the room, without counting them yet.
    #[inline(always)]
    #[allow(unsafe_code, reason = "copying into a Vec's spare capacity")]
    fn copy(&mut self, bytes: &[u8]) {
        // Checked: panics when the room reserved is too small.
        let spare = &mut self.out.spare_capacity_mut()[self.written..self.written + bytes.len()];
        // SAFETY: `spare` is exactly `bytes.len()` bytes of the Vec's own allocation, which
        // `bytes` (a shared borrow, while the Vec is borrowed mutably) cannot overlap; `u8` and
        // `MaybeUninit<u8>` have the same layout. (`write_copy_of_slice` does this from Rust 1.93.)
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), spare.as_mut_ptr().cast::<u8>(), bytes.len())
        };
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
        self.put(itoa::Buffer::new().format(value).as_bytes());
    }

    /// Formats a finite `value` with zmij (serde_json's formatter) in place, instead of into
    /// a buffer that is then copied.
    #[inline(always)]
    #[allow(unsafe_code, reason = "formatting into a Vec's spare capacity")]
    fn finite(&mut self, value: f64) {
        let spare = &mut self.out.spare_capacity_mut()[self.written..self.written + FLOAT_ROOM];
        // SAFETY: `spare` is FLOAT_ROOM = size_of::<Buffer>() bytes, and `Buffer` is a plain
        // array of `MaybeUninit<u8>` (alignment 1, checked at compile time above), so these
        // bytes, initialised or not, are a valid, exclusively borrowed `Buffer` for as long as
        // `spare` is borrowed.
        let buffer = unsafe { &mut *spare.as_mut_ptr().cast::<zmij::Buffer>() };
        self.written += buffer.format_finite(value).len();
    }

    /// Ends the message: its bytes become part of `out`.
    #[inline(always)]
    #[allow(unsafe_code, reason = "formatting into a Vec's spare capacity")]
    pub fn finish(self) {
        // SAFETY: every byte of the first `written` of the spare capacity was written by `put`,
        // `put_block` or zmij (whose returned text starts at the offset it was given), in order
        // and without gaps, and `written` never exceeds the capacity (the slices are checked).
        unsafe { self.out.set_len(self.out.len() + self.written) };
    }
}

/// `value` as an integer when it is a whole number of magnitude 1 to 999,999 (zero is left
/// to the formatter, which tells `-0.0` from `0.0`).
#[inline(always)]
fn small_whole(value: f64) -> Option<i32> {
    // A cast truncates in one instruction; `f64::trunc` is a call into libm on the baseline target.
    let whole = value as i32;
    (value.abs() >= 1.0 && value.abs() < 1e6 && f64::from(whole) == value).then_some(whole)
}
