//! The 8x8 handwritten digits (UCI "Optical Recognition of Handwritten
//! Digits", test part: 1797 images, 10 classes), as bundled by scikit-learn
//! 1.9.1 (`sklearn/datasets/data/digits.csv.gz`, BSD-3-Clause; see
//! assets/digits-LICENSE-and-description.rst). Compiled into the binary so the
//! default experiment needs no download.

use std::io::Read;

use super::Dataset;

const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../assets/digits.csv.gz");
const PIXELS: usize = 64;
/// Pixels count the set bits of a 4x4 block: 0..=16.
const MAX_PIXEL: f32 = 16.0;

/// Pixels scaled to [0, 1].
pub fn load() -> Dataset {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .expect("the embedded digits file is valid gzip");
    let mut features = Vec::with_capacity(1797 * PIXELS);
    let mut labels = Vec::with_capacity(1797);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut values = line.split(',').map(|v| v.trim().parse::<f32>().expect("digits.csv holds numbers"));
        features.extend(values.by_ref().take(PIXELS).map(|p| p / MAX_PIXEL));
        labels.push(values.next().expect("a label ends every row") as i64);
    }
    Dataset { features, labels, n_features: PIXELS, n_classes: 10, image: Some([1, 8, 8]), vocab: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits_have_the_published_shape() {
        let d = load();
        assert_eq!(d.len(), 1797);
        assert_eq!(d.features.len(), 1797 * 64);
        let counts = d.class_counts();
        // 174-183 per class, as in scikit-learn's load_digits (its DESCR).
        assert!(counts.iter().all(|&c| (174..=183).contains(&c)), "{counts:?}");
        assert!(d.features.iter().all(|&p| (0.0..=1.0).contains(&p)));
    }
}
