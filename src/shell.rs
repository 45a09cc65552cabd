//! The two shell primitives every layer may need, with no dependency of their own:
//! quoting a value for POSIX sh, and a command line paired with its stdin. Scripts
//! themselves are built only in `host`.

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

    #[test]
    fn quote_survives_hostile_values() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(touch /tmp/x); `id`"), "'$(touch /tmp/x); `id`'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn hostile_values_are_inert_in_a_real_shell() {
        let hostile = "a'b\"c$(echo INJECTED)`echo INJECTED`;echo INJECTED\nnext";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {}", quote(hostile)))
            .output()
            .expect("sh runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), hostile);
    }
}
