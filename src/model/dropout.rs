//! Dropout (Srivastava et al. 2014), inverted as torch.nn.Dropout: in
//! training each value is kept with probability 1 - p and scaled by
//! 1 / (1 - p), in evaluation nothing changes. The masks are drawn on the
//! host from the run's seed, at a position of the stream fixed by the step
//! and the site, so they are the same on every backend and a resumed run
//! draws what the uninterrupted one drew, with no generator state to save.

use burn::tensor::{Tensor, TensorData};
use rand::Rng;

use super::Mode;
use crate::maths::rng::{self, Stream};

/// Words of the stream each (step, site) may use: 2^40, far more than any mask.
const SITE_WORDS: u32 = 40;
/// Sites per step: 2^8.
const SITE_BITS: u32 = 8;

/// `x` with a share `p` of its values dropped in training (`site`: the
/// dropout's place in the network, input side first).
pub fn apply<const D: usize>(x: Tensor<D>, p: f64, mode: Mode, site: usize) -> Tensor<D> {
    let Mode::Train { seed, step } = mode else { return x };
    if p <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let n: usize = dims.iter().product();
    let mut stream = rng::stream(seed, Stream::Dropout);
    stream.set_word_pos(((step as u128) << (SITE_WORDS + SITE_BITS)) | ((site as u128 % 256) << SITE_WORDS));
    let scale = (1.0 / (1.0 - p)) as f32;
    let mask: Vec<f32> = (0..n).map(|_| if stream.random::<f64>() < p { 0.0 } else { scale }).collect();
    let mask = Tensor::<D>::from_data(TensorData::new(mask, dims), &x.device());
    x * mask
}
