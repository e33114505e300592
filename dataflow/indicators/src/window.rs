//! A fixed-capacity ring of the most recent values, shared by the windowed indicators.

/// The last `capacity` values pushed, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ring {
    buf: Box<[f64]>,
    /// Index of the oldest value.
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring holding at most `capacity` values.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { buf: vec![0.0; capacity].into_boxed_slice(), head: 0, len: 0 }
    }

    /// True once `capacity` values have been pushed (always true for capacity 0).
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// Appends `x`; when the ring is full the oldest value is dropped and returned
    /// (with capacity 0, `x` itself is returned).
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let capacity = self.buf.len();
        if capacity == 0 {
            return Some(x);
        }
        if self.len < capacity {
            let tail = (self.head + self.len) % capacity;
            self.buf[tail] = x;
            self.len += 1;
            return None;
        }
        let oldest = std::mem::replace(&mut self.buf[self.head], x);
        self.head = (self.head + 1) % capacity;
        Some(oldest)
    }

    /// The oldest value, if any.
    pub(crate) fn oldest(&self) -> Option<f64> {
        (self.len > 0).then(|| self.buf[self.head])
    }

    /// The values, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (newer, older) = self.buf.split_at(self.head);
        older.iter().chain(newer).take(self.len).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_values_in_order() {
        let mut ring = Ring::new(3);
        assert_eq!(ring.push(1.0), None);
        assert_eq!(ring.push(2.0), None);
        assert!(!ring.is_full());
        assert_eq!(ring.push(3.0), None);
        assert!(ring.is_full());
        assert_eq!(ring.push(4.0), Some(1.0));
        assert_eq!(ring.push(5.0), Some(2.0));
        assert_eq!(ring.oldest(), Some(3.0));
        assert_eq!(ring.iter().collect::<Vec<_>>(), vec![3.0, 4.0, 5.0]);
    }

    #[test]
    fn capacity_zero_returns_what_it_gets() {
        let mut ring = Ring::new(0);
        assert!(ring.is_full());
        assert_eq!(ring.push(7.0), Some(7.0));
        assert_eq!(ring.oldest(), None);
    }
}
