//! OpenSSH patterns: `*` and `?` wildcards, `!` negation; a `Host` line's space-separated
//! patterns (`Host a b !c`) and the comma-separated lists of `Match` criteria
//! (`match_pattern_list`). `ProxyJump`'s hosts are not patterns.

/// Whether `text` matches the wildcard `pattern` (`*`: any run, `?`: one character),
/// case-sensitively as OpenSSH's `match_pattern`.
#[must_use]
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some('?') => {
                p += 1;
                t += 1;
            }
            Some(c) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Whether `host` (as given, case-sensitively, as `ssh` does) matches a `Host` line's
/// patterns: at least one plain pattern matches and no negated (`!`) one does.
#[must_use]
pub fn host_matches(patterns: &[String], host: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard(negated, host) {
                return false;
            }
        } else if wildcard(pattern, host) {
            matched = true;
        }
    }
    matched
}

/// OpenSSH's `match_pattern_list` == 1: `text` matches one of the comma-separated
/// patterns and no negated one; `lower` lower-cases the patterns (host names).
#[must_use]
pub fn pattern_list(list: &str, text: &str, lower: bool) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        let pattern = if lower {
            pattern.to_ascii_lowercase()
        } else {
            pattern.to_owned()
        };
        match pattern.strip_prefix('!') {
            Some(negated) if wildcard(negated, text) => return false,
            Some(_) => {}
            None if wildcard(&pattern, text) => matched = true,
            None => {}
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("web-*", "web-1"));
        assert!(!wildcard("web-?", "WEB-1"));
        assert!(!wildcard("web-?", "web-10"));
        assert!(wildcard("*.example.com", "a.b.example.com"));
        assert!(!wildcard("*.example.com", "example.com"));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(!wildcard("a*b*c", "aXXbYY"));
        assert!(wildcard("10.0.?.*", "10.0.1.25"));
    }

    #[test]
    fn negation_wins() {
        let patterns: Vec<String> = ["*.corp", "!bastion.corp"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert!(host_matches(&patterns, "db.corp"));
        assert!(!host_matches(&patterns, "bastion.corp"));
        assert!(!host_matches(&patterns, "db.example"));
        // Only negations never match.
        assert!(!host_matches(&["!x".to_owned()], "y"));
        assert!(pattern_list("172.16.0.*,172.16.10.*", "172.16.10.10", true));
        assert!(!pattern_list("*,!bastion", "bastion", true));
        assert!(pattern_list("A*", "ab", true));
        assert!(!pattern_list("A*", "ab", false));
    }
}
