//! A stable identity hash for run ids, config hashes and file digests.

/// FNV-1a, 64 bits (Fowler, Noll, Vo): stable across versions and platforms,
/// which is all an identity hash needs.
pub fn fnv1a(text: &str) -> String {
    fnv1a_bytes(text.as_bytes())
}

pub fn fnv1a_bytes(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a(""), "cbf29ce484222325");
        assert_eq!(fnv1a("a"), "af63dc4c8601ec8c");
    }
}
