//! Seeded augmentation of training batches, the usual CIFAR-10 recipe
//! (He et al. 2016, section 4.2; torchvision `RandomCrop(32, padding=4)` +
//! `RandomHorizontalFlip()`): pad each image by 4 pixels, crop a random
//! window of the original size, and mirror it with probability 1/2.
//! Done on the host while gathering the batch, from the run's own stream.

use rand::Rng;

use super::Dataset;

/// Padding of the random crop, in pixels.
pub const PAD: usize = 4;

/// The features of the samples at `indices`, each randomly cropped and
/// flipped. `fill[c]` is channel `c`'s value of a black pixel after
/// normalisation (what the padding shows).
pub fn batch(data: &Dataset, indices: &[i64], fill: &[f32], rng: &mut impl Rng) -> Vec<f32> {
    let [channels, height, width] = data.image.expect("augmentation is checked to need images");
    let d = data.n_features;
    let mut out = Vec::with_capacity(indices.len() * d);
    for &i in indices {
        let image = &data.features[i as usize * d..(i as usize + 1) * d];
        let dy = rng.random_range(0..=2 * PAD);
        let dx = rng.random_range(0..=2 * PAD);
        let flip = rng.random_bool(0.5);
        for c in 0..channels {
            let plane = &image[c * height * width..(c + 1) * height * width];
            for y in 0..height {
                // Row y of the crop is row y + dy - PAD of the image.
                let sy = (y + dy).checked_sub(PAD).filter(|&r| r < height);
                for x in 0..width {
                    let cx = if flip { width - 1 - x } else { x };
                    let sx = (cx + dx).checked_sub(PAD).filter(|&col| col < width);
                    out.push(match (sy, sx) {
                        (Some(r), Some(col)) => plane[r * width + col],
                        _ => fill[c],
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maths::rng::{Stream, stream};

    #[test]
    fn crops_shift_and_flips_mirror_the_image() {
        let (h, w) = (6, 6);
        let features: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
        let d =
            Dataset { features, labels: vec![0], n_features: h * w, n_classes: 1, image: Some([1, h, w]), vocab: None };
        let mut rng = stream(3, Stream::Augment);
        let mut saw_flip = false;
        let mut saw_shift = false;
        for _ in 0..50 {
            let out = batch(&d, &[0], &[-1.0], &mut rng);
            assert_eq!(out.len(), h * w);
            // Every value is either padding or a pixel of the image, and each
            // row keeps its pixels consecutive (ascending, or descending when flipped).
            let row: Vec<f32> = out[2 * w..3 * w].iter().copied().filter(|&v| v >= 0.0).collect();
            let ascending = row.windows(2).all(|p| p[1] == p[0] + 1.0);
            let descending = row.windows(2).all(|p| p[1] == p[0] - 1.0);
            assert!(ascending || descending, "{row:?}");
            saw_flip |= descending && row.len() > 1;
            saw_shift |= out[0] != 0.0;
        }
        assert!(saw_flip && saw_shift);
    }
}
