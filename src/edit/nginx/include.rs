//! `include` patterns: making them absolute and matching them the way nginx does (POSIX `glob(3)`).
//!
//! `*` and `?` never match `/`; a name starting with `.` is matched only by a pattern segment starting with a
//! literal `.` (so `sites-enabled/*` does not pick up `sites-enabled/.default.swp`); `[abc]`, `[a-z]` and
//! `[!abc]` match one character; a backslash makes the next character literal.

/// True when the pattern holds glob characters (nginx then expands it; otherwise it names one file).
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The absolute form of an include pattern: relative patterns are taken from the configuration prefix
/// (the directory of the main nginx.conf, e.g. `/etc/nginx`).
pub fn absolute_pattern(pattern: &str, conf_prefix: &str) -> String {
    if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("{}/{}", conf_prefix.trim_end_matches('/'), pattern)
    }
}

/// The directory part of a path (`/etc/nginx` for `/etc/nginx/nginx.conf`).
pub fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(index) => &path[..index],
        None => ".",
    }
}

/// True when `path` is matched by the nginx include glob `pattern`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern_segments: Vec<&str> = pattern.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    pattern_segments.len() == path_segments.len()
        && pattern_segments
            .iter()
            .zip(&path_segments)
            .all(|(pattern, name)| segment_match(pattern, name))
}

fn segment_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    let Some((&first, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match first {
        '*' => (0..=name.len()).any(|skip| match_from(rest, &name[skip..])),
        '?' => !name.is_empty() && match_from(rest, &name[1..]),
        '[' => {
            let Some((&c, name_rest)) = name.split_first() else {
                return false;
            };
            match class_match(rest, c) {
                Some((matched, after)) => matched && match_from(after, name_rest),
                // An unclosed `[` is a literal character.
                None => c == '[' && match_from(rest, name_rest),
            }
        }
        '\\' if !rest.is_empty() => {
            name.first() == Some(&rest[0]) && match_from(&rest[1..], &name[1..])
        }
        literal => name.first() == Some(&literal) && match_from(rest, &name[1..]),
    }
}

/// Matches `c` against a bracket class whose body starts at `class` (just after `[`).
/// Returns whether it matched and the pattern after `]`, or `None` when the class is not closed.
fn class_match(class: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut i) = match class.first() {
        Some('!' | '^') => (true, 1),
        _ => (false, 0),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        let &current = class.get(i)?;
        if current == ']' && !first {
            return Some((matched != negated, &class[i + 1..]));
        }
        first = false;
        if class.get(i + 1) == Some(&'-') && class.get(i + 2).is_some_and(|&end| end != ']') {
            let end = class[i + 2];
            if current <= c && c <= end {
                matched = true;
            }
            i += 3;
        } else {
            if c == current {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_within_one_directory_and_skips_dot_files() {
        assert!(glob_match(
            "/etc/nginx/sites-enabled/*",
            "/etc/nginx/sites-enabled/default"
        ));
        assert!(!glob_match(
            "/etc/nginx/sites-enabled/*",
            "/etc/nginx/sites-enabled/a/b"
        ));
        assert!(!glob_match(
            "/etc/nginx/sites-enabled/*",
            "/etc/nginx/sites-enabled/.default.swp"
        ));
        assert!(glob_match(
            "/etc/nginx/sites-enabled/.*",
            "/etc/nginx/sites-enabled/.x"
        ));
        assert!(glob_match(
            "/etc/nginx/conf.d/*.conf",
            "/etc/nginx/conf.d/site.conf"
        ));
        assert!(!glob_match(
            "/etc/nginx/conf.d/*.conf",
            "/etc/nginx/conf.d/site.conf.backup-2025-01-01"
        ));
        assert!(glob_match(
            "/etc/nginx/conf.d/*.conf*",
            "/etc/nginx/conf.d/site.conf.backup-2025-01-01"
        ));
    }

    #[test]
    fn question_mark_classes_and_escapes() {
        assert!(glob_match("/a/site?.conf", "/a/site1.conf"));
        assert!(!glob_match("/a/site?.conf", "/a/site.conf"));
        assert!(glob_match("/a/[a-c]x", "/a/bx"));
        assert!(!glob_match("/a/[!a-c]x", "/a/bx"));
        assert!(glob_match("/a/[]]x", "/a/]x"));
        assert!(glob_match("/a/\\*", "/a/*"));
        assert!(!glob_match("/a/\\*", "/a/b"));
        assert!(glob_match("/a/[x", "/a/[x"));
    }

    #[test]
    fn relative_patterns_are_taken_from_the_prefix() {
        assert_eq!(
            absolute_pattern("mime.types", "/etc/nginx"),
            "/etc/nginx/mime.types"
        );
        assert_eq!(absolute_pattern("/x/*.conf", "/etc/nginx"), "/x/*.conf");
        assert_eq!(parent_dir("/etc/nginx/nginx.conf"), "/etc/nginx");
        assert!(is_glob("conf.d/*.conf"));
        assert!(!is_glob("mime.types"));
    }
}
