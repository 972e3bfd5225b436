//! The classic 2-D sets that no linear model separates, generated from the
//! seed. Coordinates are roughly in [-1, 1].

use rand::Rng;

use super::Dataset;
use crate::maths::rng::{self, Stream};

/// Two interleaved spirals (Lang & Witbrock 1988), one per class.
pub fn spirals(n: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = rng::stream(seed, Stream::DataGeneration);
    generate(
        n,
        |i, rng| {
            let class = i % 2;
            // sqrt spreads the points evenly along the arm; 1.75 turns per arm.
            let t = rng.random::<f64>().sqrt() * 3.5 * std::f64::consts::PI;
            let sign = if class == 0 { 1.0 } else { -1.0 };
            let scale = 1.0 / (3.5 * std::f64::consts::PI);
            let x = sign * t * t.cos() * scale + noise * rng::normal(rng);
            let y = sign * t * t.sin() * scale + noise * rng::normal(rng);
            ([x, y], class)
        },
        &mut rng,
    )
}

/// XOR / checkerboard: class 1 where x and y have different signs.
pub fn xor(n: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = rng::stream(seed, Stream::DataGeneration);
    generate(
        n,
        |_, rng| {
            let x: f64 = rng.random_range(-1.0..1.0);
            let y: f64 = rng.random_range(-1.0..1.0);
            let class = usize::from((x > 0.0) != (y > 0.0));
            ([x + noise * rng::normal(rng), y + noise * rng::normal(rng)], class)
        },
        &mut rng,
    )
}

/// Two concentric circles, radii 1 (class 0) and 0.5 (class 1), as
/// scikit-learn's `make_circles(factor=0.5)`.
pub fn circles(n: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = rng::stream(seed, Stream::DataGeneration);
    generate(
        n,
        |i, rng| {
            let class = i % 2;
            let radius = if class == 0 { 1.0 } else { 0.5 };
            let angle = rng.random::<f64>() * std::f64::consts::TAU;
            let x = radius * angle.cos() + noise * rng::normal(rng);
            let y = radius * angle.sin() + noise * rng::normal(rng);
            ([x, y], class)
        },
        &mut rng,
    )
}

fn generate<R: Rng>(n: usize, mut point: impl FnMut(usize, &mut R) -> ([f64; 2], usize), rng: &mut R) -> Dataset {
    let mut features = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let ([x, y], class) = point(i, rng);
        features.extend([x as f32, y as f32]);
        labels.push(class as i64);
    }
    Dataset { features, labels, n_features: 2, n_classes: 2, image: None, vocab: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_balanced_and_reproducible() {
        for make in [spirals, xor, circles] {
            let a = make(400, 0.1, 3);
            assert_eq!(a, make(400, 0.1, 3));
            assert_ne!(a, make(400, 0.1, 4));
            let counts = a.class_counts();
            assert!(counts.iter().all(|&c| c > 150), "{counts:?}");
        }
    }

    #[test]
    fn without_noise_circles_lie_on_their_radius() {
        let d = circles(100, 0.0, 0);
        for (p, &label) in d.features.chunks(2).zip(&d.labels) {
            let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
            let want = if label == 0 { 1.0 } else { 0.5 };
            assert!((r - want).abs() < 1e-5);
        }
    }

    #[test]
    fn without_noise_xor_labels_follow_the_quadrant() {
        let d = xor(200, 0.0, 0);
        for (p, &label) in d.features.chunks(2).zip(&d.labels) {
            assert_eq!(label == 1, (p[0] > 0.0) != (p[1] > 0.0));
        }
    }
}
