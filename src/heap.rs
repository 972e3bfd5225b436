//! The C allocator's settings for training: keep freed memory for reuse
//! instead of handing it back to the kernel after every step.
//!
//! Why: a training step frees and allocates the same buffers again (Burn's
//! ops and actbench's fused ops each return a fresh tensor; the nanoGPT
//! recipe's attention weights are 786 KB a layer). glibc's malloc serves
//! blocks above `M_MMAP_THRESHOLD` with their own `mmap`, and returns the
//! top of the heap to the kernel once more than `M_TRIM_THRESHOLD` of it is
//! free; either way the next step touches fresh pages, a page fault and a
//! zeroed page per 4 KB. glibc raises both thresholds by itself as it sees
//! large blocks freed (mallopt(3), "dynamic mmap threshold"), but not far
//! enough for w10: with them fixed high here, w10 trains at 250 windows/s
//! instead of 190-210 (2026-12-06, `actbench bench --workloads w10`, two
//! rounds each, docs/src/performance.md). The process keeps its peak heap
//! until it exits; peak RSS, what the benchmarks report, is unchanged.

/// Blocks up to this size come from the heap, not their own `mmap`: glibc's
/// largest allowed value on 64-bit systems (`DEFAULT_MMAP_THRESHOLD_MAX`,
/// 4 MiB x sizeof(long)). Larger blocks (datasets) are still mapped.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Free memory at the top of the heap is returned to the kernel only past this.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Set the allocator up for training; a no-op where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes two of malloc's tunables; it is called at
    // start-up, and a value it refuses leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
