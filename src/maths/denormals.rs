//! Subnormal ("denormal") floats flushed to zero on the threads that train.
//!
//! Why: a saturating activation (GELU, tanh, sigmoid) drives some gradients
//! below f32's smallest normal number (1.2e-38), and x86 cores take a
//! microcode assist, around a hundred cycles, for every arithmetic operation
//! on such a number. Measured on these 2 cores (`actbench bench --workloads
//! w3`, GELU MLP): 33,000-37,000 samples/s with subnormals kept, 58,000-74,000
//! flushed; the matrix multiplies, not the activation, were slowed.
//! TensorFlow sets the same two bits on its CPU threads by default
//! (tensorflow/core/platform/denormal.h, `ScopedFlushDenormal`); PyTorch
//! offers it as `torch.set_flush_denormal(True)`.
//!
//! The setting is per thread (the MXCSR register on x86-64, FPCR on aarch64),
//! so `train::run` applies it at the start of every run to its own thread and
//! to every thread of the rayon pool it runs in (the pool Burn's flex backend
//! and `gemm` use: the global one, or a `--jobs` worker's). The config key
//! `training.flush_denormals = false` keeps IEEE behaviour.

/// Sets (or clears) the mode on the calling thread and on every thread of
/// the current rayon pool.
pub fn set_for_current_pool(flush: bool) {
    set_this_thread(flush);
    rayon::broadcast(|_| set_this_thread(flush));
}

/// Whether this thread flushes subnormal results to zero (what `set_this_thread` last set).
pub fn this_thread() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr only reads this thread's SSE control register.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
        csr & (1 << 15) != 0
    }
    #[cfg(target_arch = "aarch64")]
    {
        let fpcr: u64;
        // SAFETY: reads this thread's floating-point control register.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nostack)) };
        fpcr & (1 << 24) != 0
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    false
}

/// Sets or clears flush-to-zero (results) and denormals-are-zero (inputs) on this thread.
pub fn set_this_thread(flush: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        // MXCSR bit 15: flush to zero; bit 6: denormals are zero (Intel SDM vol. 1, 10.2.3).
        const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr read and write this thread's SSE control
        // register; only the two denormal bits change.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            csr = if flush { csr | FTZ_DAZ } else { csr & !FTZ_DAZ };
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // FPCR bit 24: flush to zero (Arm ARM, FPCR.FZ).
        const FZ: u64 = 1 << 24;
        let mut fpcr: u64;
        // SAFETY: reads and writes this thread's floating-point control register.
        unsafe {
            std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nostack));
            fpcr = if flush { fpcr | FZ } else { fpcr & !FZ };
            std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nostack));
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = flush;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `black_box` keeps the compiler from folding the product at build time.
    fn smallest_normal_halved() -> f32 {
        std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.5f32)
    }

    #[test]
    fn flushing_turns_subnormal_results_to_zero_and_back() {
        // A fresh thread, so the test harness's own threads keep IEEE behaviour.
        std::thread::spawn(|| {
            assert!(smallest_normal_halved() > 0.0, "IEEE default keeps subnormals");
            set_this_thread(true);
            if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                assert_eq!(smallest_normal_halved(), 0.0);
            }
            set_this_thread(false);
            assert!(smallest_normal_halved() > 0.0);
        })
        .join()
        .unwrap();
    }
}
