//! Weighted quantile summaries of one input column, and the streaming sketch that builds them.
//!
//! A summary is a sorted list of distinct values, each with the smallest and largest rank it
//! can have and its own weight (all rows weigh 1 here). The sketch is XGBoost's weighted
//! quantile sketch as its `hist` method runs it: values arrive in row order into a buffer of
//! `2·limit` entries; a full buffer becomes an exact summary that is pruned to `limit` entries
//! and merged into a stack of levels (each level holds at most `limit` entries; merging two
//! keeps the rank bounds valid). Pruning keeps the entries whose ranks are spread most evenly.
//! The rank arithmetic is `f32`, as in XGBoost, so the resulting cut points are XGBoost's
//! exactly for the same rows in the same order.

/// One summary entry: `value` with rank bounds `rmin..=rmax` and its weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RankedValue {
    /// Weight of all values strictly below `value`.
    pub rmin: f32,
    /// Weight of all values up to and including `value`.
    pub rmax: f32,
    /// Weight of `value` itself.
    pub weight: f32,
    /// The value.
    pub value: f32,
}

impl RankedValue {
    /// Smallest rank a value just above this one can have.
    fn rmin_next(&self) -> f32 {
        self.rmin + self.weight
    }
    /// Largest rank a value just below this one can have.
    fn rmax_prev(&self) -> f32 {
        self.rmax - self.weight
    }
}

/// The exact summary of `sorted` (ascending, no NaN), every row weighing 1.
#[cfg(test)]
pub(crate) fn exact_summary(sorted: &[f32]) -> Vec<RankedValue> {
    let mut out = Vec::new();
    let mut below = 0.0_f32;
    let mut i = 0;
    while i < sorted.len() {
        let value = sorted[i];
        let run = sorted[i..].iter().take_while(|&&v| v == value).count();
        // Ranks are f32 sums, as in XGBoost; exact for counts below 2^24.
        let weight = run as f32;
        out.push(RankedValue { rmin: below, rmax: below + weight, weight, value });
        below += weight;
        i += run;
    }
    out
}

/// Keeps at most `max_size` entries: the first, the last, and between them the entries whose
/// mid-rank is closest to `max_size − 2` evenly spaced target ranks.
pub(crate) fn prune(src: &[RankedValue], max_size: usize) -> Vec<RankedValue> {
    if src.len() <= max_size {
        return src.to_vec();
    }
    let last = src.len() - 1;
    let begin = src[0].rmax;
    let range = src[last].rmin - src[0].rmax;
    let steps = max_size - 1;
    let mut out = Vec::with_capacity(max_size);
    out.push(src[0]);
    let (mut i, mut last_taken) = (1, 0);
    for k in 1..steps {
        // Twice the target rank, compared with rmin + rmax (twice the mid-rank): no halving.
        let target2 = 2.0 * ((k as f32 * range) / steps as f32 + begin);
        while i < last && target2 >= src[i + 1].rmax + src[i + 1].rmin {
            i += 1;
        }
        if i == last {
            break;
        }
        let pick = if target2 < src[i].rmin_next() + src[i + 1].rmax_prev() { i } else { i + 1 };
        if pick != last_taken {
            out.push(src[pick]);
            last_taken = pick;
        }
    }
    if last_taken != last {
        out.push(src[last]);
    }
    out
}

/// Merges two summaries of disjoint row sets into a summary of their union: a value's rank
/// bounds are its bounds in its own summary plus the bounds of the values around it in the other.
pub(crate) fn combine(a: &[RankedValue], b: &[RankedValue]) -> Vec<RankedValue> {
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() { b.to_vec() } else { a.to_vec() };
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    // Smallest rank a value just above the last one taken from a (b) can have.
    let (mut a_rmin_next, mut b_rmin_next) = (0.0_f32, 0.0_f32);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x.value == y.value {
            out.push(RankedValue {
                rmin: x.rmin + y.rmin,
                rmax: x.rmax + y.rmax,
                weight: x.weight + y.weight,
                value: x.value,
            });
            a_rmin_next = x.rmin_next();
            b_rmin_next = y.rmin_next();
            i += 1;
            j += 1;
        } else if x.value < y.value {
            out.push(RankedValue { rmin: x.rmin + b_rmin_next, rmax: x.rmax + y.rmax_prev(), ..x });
            a_rmin_next = x.rmin_next();
            i += 1;
        } else {
            out.push(RankedValue { rmin: y.rmin + a_rmin_next, rmax: y.rmax + x.rmax_prev(), ..y });
            b_rmin_next = y.rmin_next();
            j += 1;
        }
    }
    let b_total = b[b.len() - 1].rmax;
    out.extend(a[i..].iter().map(|x| RankedValue {
        rmin: x.rmin + b_rmin_next,
        rmax: x.rmax + b_total,
        ..*x
    }));
    let a_total = a[a.len() - 1].rmax;
    out.extend(b[j..].iter().map(|y| RankedValue {
        rmin: y.rmin + a_rmin_next,
        rmax: y.rmax + a_total,
        ..*y
    }));
    restore_rank_order(&mut out);
    out
}

/// Re-establishes what `f32` rounding in [`combine`] can break: rank bounds never decrease
/// along the summary, and `rmax >= rmin + weight`.
fn restore_rank_order(summary: &mut [RankedValue]) {
    let (mut prev_rmin, mut prev_rmax) = (0.0_f32, 0.0_f32);
    for entry in summary {
        if entry.rmin < prev_rmin {
            entry.rmin = prev_rmin;
        } else {
            prev_rmin = entry.rmin;
        }
        entry.rmax = entry.rmax.max(prev_rmax).max(entry.rmin_next());
        prev_rmax = entry.rmax;
    }
}

/// The exact summary of a buffer of `(value, weight)` entries (sorted here).
fn buffer_summary(buffer: &mut [(f32, f32)]) -> Vec<RankedValue> {
    buffer.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<RankedValue> = Vec::new();
    let mut below = 0.0_f32;
    for &(value, weight) in buffer.iter() {
        match out.last_mut() {
            Some(last) if last.value == value => {
                last.weight += weight;
                last.rmax += weight;
            }
            _ => out.push(RankedValue { rmin: below, rmax: below + weight, weight, value }),
        }
        below += weight;
    }
    out
}

/// The streaming sketch of one column.
pub(crate) struct Sketch {
    /// Entries kept per level.
    limit: usize,
    /// Incoming values; consecutive repeats share an entry.
    buffer: Vec<(f32, f32)>,
    /// `levels[l]` summarises up to `2^l` buffers' worth of rows; empty when unused.
    levels: Vec<Vec<RankedValue>>,
}

impl Sketch {
    /// A sketch for a column of `n` values at accuracy `eps`.
    pub(crate) fn new(n: usize, eps: f64) -> Self {
        let limit = sketch_limit(n, eps);
        Sketch { limit, buffer: Vec::with_capacity(2 * limit), levels: Vec::new() }
    }

    /// Adds one present value (weight 1).
    pub(crate) fn push(&mut self, value: f32) {
        if let Some(last) = self.buffer.last_mut() {
            if last.0 == value {
                last.1 += 1.0;
                return;
            }
            if self.buffer.len() == 2 * self.limit {
                let summary = buffer_summary(&mut self.buffer);
                self.buffer.clear();
                self.push_summary(summary);
            }
        }
        self.buffer.push((value, 1.0));
    }

    /// Carries a full buffer's summary up the levels, merging while a merge still fits a level.
    fn push_summary(&mut self, mut carried: Vec<RankedValue>) {
        let mut level = 1;
        loop {
            if self.levels.len() <= level {
                self.levels.resize(level + 1, Vec::new());
            }
            if self.levels[level].is_empty() {
                self.levels[level] = prune(&carried, self.limit);
                return;
            }
            carried = combine(&prune(&carried, self.limit), &self.levels[level]);
            if carried.len() <= self.limit {
                self.levels[level] = carried;
                return;
            }
            self.levels[level].clear();
            level += 1;
        }
    }

    /// The summary of everything pushed, at most `limit` entries.
    pub(crate) fn summary(mut self) -> Vec<RankedValue> {
        let last = buffer_summary(&mut self.buffer);
        if self.levels.is_empty() {
            return prune(&last, self.limit);
        }
        let mut merged = prune(&last, self.limit);
        for level in self.levels.iter().skip(1).filter(|level| !level.is_empty()) {
            merged =
                if merged.is_empty() { level.clone() } else { prune(&combine(&merged, level), self.limit) };
        }
        merged
    }
}

/// Summary size XGBoost's sketch works with for a column of `n` values at accuracy `eps`: the
/// smallest number of levels whose buffers can hold `n`, and the entries kept per level.
pub(crate) fn sketch_limit(n: usize, eps: f64) -> usize {
    let mut levels = 1_u32;
    loop {
        let limit = ((f64::from(levels) / eps).ceil() as usize + 1).min(n);
        if (1_usize << levels).saturating_mul(limit) >= n {
            return limit;
        }
        levels += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_summary_merges_repeated_values() {
        let summary = exact_summary(&[1.0, 1.0, 2.0, 5.0, 5.0, 5.0]);
        let values: Vec<_> = summary.iter().map(|e| (e.value, e.rmin, e.rmax, e.weight)).collect();
        assert_eq!(values, vec![(1.0, 0.0, 2.0, 2.0), (2.0, 2.0, 3.0, 1.0), (5.0, 3.0, 6.0, 3.0)]);
    }

    #[test]
    fn pruning_keeps_both_ends_and_spreads_ranks_evenly() {
        let sorted: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let pruned = prune(&exact_summary(&sorted), 11);
        let values: Vec<f32> = pruned.iter().map(|e| e.value).collect();
        assert_eq!(values.first(), Some(&0.0));
        assert_eq!(values.last(), Some(&999.0));
        assert_eq!(values.len(), 11);
        for (k, value) in values.iter().enumerate().skip(1).take(9) {
            assert!((value - k as f32 * 99.8).abs() <= 1.0, "{k}: {value}");
        }
        // Small enough summaries pass through unchanged.
        assert_eq!(prune(&exact_summary(&[3.0, 4.0]), 5).len(), 2);
    }

    #[test]
    fn a_sketch_of_a_small_column_is_exact() {
        let values: Vec<f32> = (0..300).map(|i| ((i * 37) % 100) as f32).collect();
        let mut sketch = Sketch::new(values.len(), 1.0 / 2048.0);
        values.iter().for_each(|&v| sketch.push(v));
        let mut sorted = values.clone();
        sorted.sort_unstable_by(f32::total_cmp);
        assert_eq!(sketch.summary(), exact_summary(&sorted));
    }

    #[test]
    fn a_sketch_of_a_large_column_keeps_ranks_within_eps() {
        let n = 200_000;
        let values: Vec<f32> = (0..n).map(|i| ((i as f64) * 0.618_033_988_7).fract() as f32).collect();
        let eps = 1.0 / 512.0;
        let mut sketch = Sketch::new(n, eps);
        values.iter().for_each(|&v| sketch.push(v));
        let summary = sketch.summary();
        assert!(summary.len() <= sketch_limit(n, eps));
        let mut sorted = values.clone();
        sorted.sort_unstable_by(f32::total_cmp);
        for entry in &summary {
            let true_rank = sorted.partition_point(|&v| v < entry.value) as f32;
            assert!(entry.rmin <= true_rank + 1.0 && true_rank <= entry.rmax, "{entry:?} vs {true_rank}");
            assert!(entry.rmax - entry.rmin - entry.weight <= 2.0 * eps as f32 * n as f32, "{entry:?}");
        }
        assert_eq!(summary.first().map(|e| e.value), sorted.first().copied());
        assert_eq!(summary.last().map(|e| e.value), sorted.last().copied());
    }

    #[test]
    fn sketch_limit_matches_the_level_rule() {
        let eps = 1.0 / 2048.0;
        assert_eq!(sketch_limit(50, eps), 50);
        assert_eq!(sketch_limit(4_000, eps), 2049);
        assert_eq!(sketch_limit(250_000, eps), 10_241);
    }
}
