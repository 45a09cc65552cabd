//! The shell primitives every layer may need, with no dependency of their own: quoting a
//! value for POSIX sh, a command line paired with its stdin, and the `timeout` bound the
//! host puts on it. Scripts themselves are built only in `host`.

use std::time::Duration;

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

/// After its bound, a command's process group gets TERM, and KILL this much later.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// Exit statuses of `timeout` when it stopped the command: TERM worked, KILL needed.
pub const EXIT_TIMED_OUT: [i32; 2] = [124, 137];

/// Whole seconds of `bound`, rounded up, at least one.
#[must_use]
pub fn bound_secs(bound: Duration) -> u64 {
    (bound.as_secs() + u64::from(bound.subsec_nanos() > 0)).max(1)
}

/// `inner` run under coreutils `timeout`: in its own process group, which gets TERM
/// after `bound` and KILL [`KILL_GRACE`] later, so nothing it started outlives it. Inside
/// sudo, so the signals come from the user the command runs as. Not `--foreground`:
/// that would signal the command alone and leave its children running; stdin is a pipe
/// or `/dev/null`, never a terminal, so a background process group cannot stop on it.
#[must_use]
pub fn bounded(inner: &str, bound: Duration) -> String {
    format!(
        "timeout -k {} {} {inner}",
        KILL_GRACE.as_secs(),
        bound_secs(bound)
    )
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
