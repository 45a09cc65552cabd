//! Content digests: sha256 as lowercase hex, the one spelling every layer compares
//! (journal manifests, compare-and-swap writes, reviews, the host's dump-cache keys). A
//! leaf: it uses no other module of the crate.

/// sha256 of bytes as lowercase hex.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_published_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
