//! The one SIMD dispatch of the fused kernels: which code path this CPU
//! runs, and [`on_path!`], which compiles one loop body for each path and
//! calls the one chosen.
//!
//! Every path runs the same Rust code: the wider ones only let the compiler
//! vectorise it over more lanes (AVX2: 8 f32, AVX-512: 16). The code does
//! the same IEEE operations in the same order on each (the compiler brings
//! in no fused multiply-add of its own), so the paths agree bit for bit
//! (tested in kernels.rs and formula.rs).

/// The widest code path this CPU runs (checked once per call; the check is a cached flag).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Path {
    /// 16 lanes: AVX-512F (with AVX2 and FMA).
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// 8 lanes: AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// What the target was compiled for (SSE2 on x86-64).
    Portable,
}

pub(crate) fn widest_path() -> Path {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
            return Path::Avx512;
        }
        if avx2 {
            return Path::Avx2;
        }
    }
    Path::Portable
}

/// Every path this CPU runs, the portable one first: what the tests compare
/// bit for bit.
#[cfg(test)]
pub(crate) fn paths_here() -> Vec<Path> {
    let mut paths = vec![Path::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if widest_path() != Path::Portable {
            paths.push(Path::Avx2);
        }
        if widest_path() == Path::Avx512 {
            paths.push(Path::Avx512);
        }
    }
    paths
}

/// `on_path!(path, body(arg: Type, ...) -> Return)` calls `body` (an
/// `#[inline(always)]` function) with the caller's variables of those names,
/// compiled for `path`: in a function with that path's target features,
/// into which `body` is inlined. `path` must come from [`widest_path`], or
/// be a path below it.
macro_rules! on_path {
    ($path:expr, $body:path, ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?) => {{
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn avx2($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
        match $path {
            // SAFETY: the path came from `widest_path` (or from a test that
            // checked it against `widest_path`), so the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            $crate::fused::simd::Path::Avx512 => unsafe { avx512($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            $crate::fused::simd::Path::Avx2 => unsafe { avx2($($arg),*) },
            $crate::fused::simd::Path::Portable => $body($($arg),*),
        }
    }};
}
pub(crate) use on_path;

// The reductions of the fused kernels, in a fixed number of lanes on every
// path: the paths add in the same order and so agree bit for bit.

/// Lanes of the reductions: an AVX-512 register of f32.
pub(crate) const LANES: usize = 16;

/// `v` folded by `step` in [`LANES`] independent lanes (which the compiler
/// keeps in vector registers), then the lanes and the remainder by `join`.
#[inline(always)]
pub(crate) fn fold_lanes(v: &[f32], start: f32, step: impl Fn(f32, f32) -> f32, join: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lane = [start; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder().iter().fold(start, |a, &b| step(a, b));
    for c in chunks {
        for j in 0..LANES {
            lane[j] = step(lane[j], c[j]);
        }
    }
    lane.iter().fold(tail, |a, &b| join(a, b))
}

/// The sum of `v`, in [`LANES`] lanes (which the compiler keeps in vector
/// registers) added at the end.
#[inline(always)]
pub(crate) fn sum(v: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// The dot product of `a` and `b`, as [`sum`].
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + rest
}
