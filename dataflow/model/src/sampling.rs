//! Seeded row and input sampling (`subsample`, `colsample_bytree`): the same seed, the same draws.

/// SplitMix64: tiny, fast, and good enough to draw samples; the whole state is one `u64`.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// The generator for tree `tree` of a model seeded with `seed`: each tree gets its own
    /// stream, so a tree's draws do not depend on how many numbers earlier trees used.
    pub(crate) fn for_tree(seed: u64, tree: usize) -> Self {
        let mut mixer = Rng(seed ^ (tree as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        mixer.next_u64();
        mixer
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`); the bias of a plain modulo is below 2^-40 for the sizes here.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The rows a tree trains on: each row kept with probability `subsample` (all when it is 1).
pub(crate) fn sample_rows(rng: &mut Rng, n_rows: usize, subsample: f32) -> Vec<u32> {
    if subsample >= 1.0 {
        return (0..n_rows as u32).collect();
    }
    let keep = f64::from(subsample);
    (0..n_rows as u32).filter(|_| rng.next_f64() < keep).collect()
}

/// The inputs a tree may split on, ascending: `max(1, ⌊colsample · n⌋)` of them (XGBoost's
/// count), drawn without replacement.
pub(crate) fn sample_features(rng: &mut Rng, n_features: usize, colsample: f32) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n_features).collect();
    if colsample >= 1.0 {
        return all;
    }
    let count = ((colsample * n_features as f32) as usize).clamp(1.min(n_features), n_features);
    // A partial Fisher–Yates shuffle: the first `count` places end up a uniform sample.
    for i in 0..count {
        let j = i + rng.below(n_features - i);
        all.swap(i, j);
    }
    all.truncate(count);
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_sample() {
        let a = sample_rows(&mut Rng::for_tree(7, 3), 1000, 0.5);
        let b = sample_rows(&mut Rng::for_tree(7, 3), 1000, 0.5);
        let c = sample_rows(&mut Rng::for_tree(7, 4), 1000, 0.5);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!((400..600).contains(&a.len()), "{}", a.len());
        assert_eq!(sample_rows(&mut Rng::for_tree(7, 3), 10, 1.0).len(), 10);
    }

    #[test]
    fn feature_samples_have_xgboosts_size() {
        let features = sample_features(&mut Rng::for_tree(1, 0), 11, 0.5);
        assert_eq!(features.len(), 5);
        assert!(features.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_features(&mut Rng::for_tree(1, 0), 11, 0.01).len(), 1);
        assert_eq!(sample_features(&mut Rng::for_tree(1, 0), 11, 1.0).len(), 11);
    }
}
