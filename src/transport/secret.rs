//! A secret string (a login or `become` password): shared, wiped from memory when the
//! last copy is dropped, and never printed (`Debug` shows `***`).

use std::sync::Arc;

use zeroize::Zeroizing;

/// A password held in memory only as long as needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<Zeroizing<String>>);

impl Secret {
    /// Wraps `text`.
    #[must_use]
    pub fn new(text: String) -> Secret {
        Secret(Arc::new(Zeroizing::new(text)))
    }

    /// The secret itself; keep what you build from it in `Zeroizing` too.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
