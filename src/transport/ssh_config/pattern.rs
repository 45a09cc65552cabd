//! OpenSSH host patterns: `*` and `?` wildcards, `!` negation, comma or space separated
//! lists (`Host a b !c`, `ProxyJump`'s hosts are not patterns).

/// Whether `text` matches the wildcard `pattern` (`*`: any run, `?`: one character),
/// ignoring ASCII case as OpenSSH does for host names.
#[must_use]
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let text: Vec<char> = text.to_ascii_lowercase().chars().collect();
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

/// Whether `host` matches a `Host` line's patterns: at least one plain pattern matches
/// and no negated (`!`) one does.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("web-*", "web-1"));
        assert!(wildcard("web-?", "WEB-1"));
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
    }
}
