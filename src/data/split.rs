//! The seeded train/validation/test split.

use rand::seq::SliceRandom;

use super::Dataset;
use crate::maths::rng::{self, Stream};

pub struct Splits {
    pub train: Dataset,
    pub validation: Dataset,
    pub test: Dataset,
}

/// Shuffles the indices with the seed's split stream, then cuts off the test
/// and validation shares (rounded down, at least one sample each when the
/// share is non-zero).
pub fn split(data: &Dataset, test_share: f64, validation_share: f64, seed: u64) -> Splits {
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng::stream(seed, Stream::Split));
    let (_, n_validation, n_test) = split_sizes(n, test_share, validation_share);
    let (test, rest) = order.split_at(n_test);
    let (validation, train) = rest.split_at(n_validation);
    Splits { train: data.subset(train), validation: data.subset(validation), test: data.subset(test) }
}

/// (train, validation, test) sizes of a split of `n` samples.
pub fn split_sizes(n: usize, test_share: f64, validation_share: f64) -> (usize, usize, usize) {
    let count = |share: f64| if share > 0.0 { ((n as f64 * share) as usize).max(1) } else { 0 };
    let (test, validation) = (count(test_share), count(validation_share));
    (n.saturating_sub(test + validation), validation, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::data::numbered;

    #[test]
    fn parts_are_disjoint_and_cover_everything() {
        let s = split(&numbered(100), 0.2, 0.1, 5);
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (70, 10, 20));
        let mut all: Vec<f32> = [&s.train, &s.validation, &s.test].iter().flat_map(|d| d.features.clone()).collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, (0..100).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn the_split_depends_on_the_seed_only() {
        let a = split(&numbered(50), 0.2, 0.2, 1);
        let b = split(&numbered(50), 0.2, 0.2, 1);
        let c = split(&numbered(50), 0.2, 0.2, 2);
        assert_eq!(a.test, b.test);
        assert_ne!(a.test, c.test);
    }
}
