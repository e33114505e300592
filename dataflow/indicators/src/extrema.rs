//! Highest high and lowest low over a sliding window with monotonic deques (amortised O(1) per bar).

/// The highest of the highs and the lowest of the lows over the last `period` bars.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Extrema {
    period: u64,
    /// Number of bars seen; the index of the next bar.
    seen: u64,
    /// (bar index, high), highs strictly decreasing from front to back.
    highs: Deque,
    /// (bar index, low), lows strictly increasing from front to back.
    lows: Deque,
}

impl Extrema {
    /// Extrema over windows of `period` bars (at least 1).
    pub(crate) fn new(period: u32) -> Self {
        let period = u64::from(period.max(1));
        // A deque holds at most the window and the bar just pushed.
        let capacity = usize::try_from(period).unwrap_or(usize::MAX).saturating_add(1);
        Self { period, seen: 0, highs: Deque::new(capacity), lows: Deque::new(capacity) }
    }

    /// Adds a bar; returns `(highest, lowest)` once `period` bars have been seen.
    #[inline]
    pub(crate) fn update(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
        let index = self.seen;
        self.seen += 1;
        while self.highs.back().is_some_and(|(_, h)| h <= high) {
            self.highs.pop_back();
        }
        self.highs.push_back(index, high);
        while self.lows.back().is_some_and(|(_, l)| l >= low) {
            self.lows.pop_back();
        }
        self.lows.push_back(index, low);
        // The window is [index + 1 - period, index].
        let first = (index + 1).checked_sub(self.period)?;
        while self.highs.front().is_some_and(|(i, _)| i < first) {
            self.highs.pop_front();
        }
        while self.lows.front().is_some_and(|(i, _)| i < first) {
            self.lows.pop_front();
        }
        let highest = self.highs.front().map(|(_, h)| h)?;
        let lowest = self.lows.front().map(|(_, l)| l)?;
        Some((highest, lowest))
    }
}

/// A deque of `(bar index, price)` in a ring of a power-of-two size: a position is a
/// counter masked, not an index wrapped with a comparison at every step as `VecDeque`'s
/// are, which cost STOCH and WILLR more than their arithmetic.
#[derive(Clone, Debug)]
struct Deque {
    ring: Vec<(u64, f64)>,
    /// `ring.len() - 1`.
    mask: usize,
    /// Counters of pops from the front and pushes to the back, less pops from the back:
    /// the deque is `front..back`, masked.
    front: usize,
    back: usize,
}

impl Deque {
    /// A deque that holds up to `capacity` entries; pushing more panics.
    fn new(capacity: usize) -> Self {
        let size = capacity.max(1).next_power_of_two();
        Deque { ring: vec![(0, 0.0); size], mask: size - 1, front: 0, back: 0 }
    }

    #[inline]
    fn front(&self) -> Option<(u64, f64)> {
        (self.front != self.back).then(|| self.ring[self.front & self.mask])
    }

    #[inline]
    fn back(&self) -> Option<(u64, f64)> {
        (self.front != self.back).then(|| self.ring[self.back.wrapping_sub(1) & self.mask])
    }

    #[inline]
    fn push_back(&mut self, index: u64, price: f64) {
        assert!(self.back - self.front < self.ring.len(), "an extrema deque outgrew its window");
        self.ring[self.back & self.mask] = (index, price);
        self.back += 1;
    }

    /// Only called when not empty.
    #[inline]
    fn pop_back(&mut self) {
        self.back -= 1;
    }

    /// Only called when not empty.
    #[inline]
    fn pop_front(&mut self) {
        self.front += 1;
    }

    /// The entries from front to back.
    fn entries(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        (self.front..self.back).map(|at| self.ring[at & self.mask])
    }
}

/// Equal when they hold the same entries, wherever in their rings.
impl PartialEq for Deque {
    fn eq(&self, other: &Self) -> bool {
        self.entries().eq(other.entries())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_bars;

    #[test]
    fn deques_are_equal_by_their_entries() {
        let (mut a, mut b) = (Deque::new(4), Deque::new(4));
        a.push_back(1, 2.0);
        a.push_back(2, 3.0);
        a.pop_front();
        b.push_back(2, 3.0);
        assert_eq!(a, b);
        b.push_back(3, 1.0);
        assert_ne!(a, b);
        b.pop_back();
        assert_eq!((a.front(), a.back()), (Some((2, 3.0)), Some((2, 3.0))));
        assert_eq!(a, b);
    }

    #[test]
    fn matches_a_scan_of_the_window() {
        for period in [1_u32, 2, 5, 14] {
            let bars = random_bars(11, 400, 50.0);
            let mut extrema = Extrema::new(period);
            let p = period as usize;
            for (i, bar) in bars.iter().enumerate() {
                let got = extrema.update(bar.high, bar.low);
                if i + 1 < p {
                    assert_eq!(got, None);
                    continue;
                }
                let window = &bars[i + 1 - p..=i];
                let highest = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
                let lowest = window.iter().map(|b| b.low).fold(f64::MAX, f64::min);
                assert_eq!(got, Some((highest, lowest)), "period {period}, bar {i}");
            }
        }
    }
}
