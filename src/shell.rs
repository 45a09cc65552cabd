//! The two shell primitives every layer may need, with no dependency of their own:
//! quoting a value for POSIX sh, and a command line paired with its stdin. Scripts
//! themselves are built only in `remote`.

/// Single-quotes `s` for POSIX sh: `it's` -> `'it'\''s'`.
#[must_use]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A command line and the bytes to send on its stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub line: String,
    pub input: Vec<u8>,
    /// How long the host lets it run.
    pub bound: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_are_closed_escaped_and_reopened() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
