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
