//! Test helpers: seeded random bars and a relative-tolerance comparison.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// High, low and close of one generated bar.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hlc {
    pub(crate) high: f64,
    pub(crate) low: f64,
    pub(crate) close: f64,
}

/// A seeded random walk starting near `start`, rounded to cents, with a few flat stretches
/// (so zero ranges and zero changes are exercised too).
pub(crate) fn random_bars(seed: u64, len: usize, start: f64) -> Vec<Hlc> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut close = start;
    let mut bars = Vec::with_capacity(len);
    for i in 0..len {
        let flat = (i / 40) % 5 == 4 && i % 40 < 20;
        if !flat {
            close = (close * (1.0 + rng.random_range(-0.03..0.03))).max(0.01);
            close = (close * 100.0).round() / 100.0;
        }
        let (high, low) = if flat {
            (close, close)
        } else {
            let up: f64 = rng.random_range(0.0..0.02);
            let down: f64 = rng.random_range(0.0..0.02);
            ((close * (1.0 + up) * 100.0).round() / 100.0, (close * (1.0 - down) * 100.0).round() / 100.0)
        };
        bars.push(Hlc { high, low, close });
    }
    bars
}

/// Asserts `|a - b| <= 1e-9 * max(|a|, |b|, 1e-12)`.
pub(crate) fn assert_close(a: f64, b: f64, what: &str) {
    let scale = a.abs().max(b.abs()).max(1e-12);
    assert!((a - b).abs() <= 1e-9 * scale, "{what}: streaming {a} vs naive {b}");
}
