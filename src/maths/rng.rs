//! Seeded random streams. Every random choice of a run (data generation, the
//! split, the weights, the batch order) draws from its own ChaCha8 stream of
//! the run's seed, so changing one (say, the batch size) leaves the others
//! as they were, and the same seed gives the same numbers on every backend.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is used for; the discriminant is ChaCha's stream number.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    DataGeneration = 1,
    Split = 2,
    Init = 3,
    Shuffle = 4,
    Augment = 5,
    /// The order a `[search]` walks its space in (its own `seed`).
    Search = 6,
    /// Dropout masks: one stretch of the stream per step and site (model::dropout).
    Dropout = 7,
    /// A language model's generated text (train::record::samples). (8 is
    /// the random search's, tuning::draw.)
    Generate = 9,
}

pub fn stream(seed: u64, which: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(which as u64);
    rng
}

/// A standard normal sample (Box-Muller transform).
pub fn normal(rng: &mut impl Rng) -> f64 {
    // 1 - u keeps the logarithm's argument in (0, 1].
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, Stream::Split).random();
        let b: u64 = stream(7, Stream::Split).random();
        let c: u64 = stream(7, Stream::Init).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn normal_samples_have_unit_variance() {
        let mut rng = stream(1, Stream::DataGeneration);
        let xs: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}
