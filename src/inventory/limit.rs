//! Host patterns, with Ansible's semantics, for a plan's `hosts:` and for `--limit`.
//!
//! A pattern is a list of terms separated by `,` or `:`: `all` or `*`, a host or group name,
//! a glob (`web*`, `db-?`), or a regular expression after `~` (anchored at the start, as
//! Python's `re.match`). A term may carry a subscript, `web[0]`, `web[-1]`, `web[1:3]`
//! (inclusive, counted in inventory order). `&term` intersects and `!term` excludes; as in
//! Ansible, plain terms are united first, then intersections apply, then exclusions, and a
//! pattern made only of `&`/`!` terms starts from `all`. A name term selects the hosts of the
//! group of that name, or else the host of that name; globs and regular expressions select
//! both matching groups' hosts and matching hosts. Results come in inventory order, each host
//! once.

use regex::Regex;

use super::error::InventoryError;
use super::model::{Host, Inventory};

/// How a term combines with the terms before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    Union,
    Intersect,
    Exclude,
}

#[derive(Debug, Clone)]
enum Matcher {
    Everything,
    Name(String),
    Wildcard(Regex),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subscript {
    Index(i64),
    Range(Option<usize>, Option<usize>),
}

#[derive(Debug, Clone)]
struct Term {
    text: String,
    combine: Combine,
    matcher: Matcher,
    subscript: Option<Subscript>,
}

impl Inventory {
    /// The hosts a plan targets: those matching `target` (the plan's `hosts:`), narrowed by
    /// `--limit` when given. A target term that matches nothing is ignored, as in Ansible;
    /// a `--limit` term that matches nothing is an error, so a typo never widens or empties a
    /// run silently.
    pub fn select(&self, target: &str, limit: Option<&str>) -> Result<Vec<&Host>, InventoryError> {
        let mut selected = self.pattern_mask(target, None)?;
        if let Some(limit) = limit {
            let limited = self.pattern_mask(limit, Some(limit))?;
            for (keep, allowed) in selected.iter_mut().zip(limited) {
                *keep &= allowed;
            }
        }
        Ok(self.hosts_of(&selected))
    }

    /// The hosts matching one pattern, in inventory order.
    pub fn matching(&self, pattern: &str) -> Result<Vec<&Host>, InventoryError> {
        let mask = self.pattern_mask(pattern, None)?;
        Ok(self.hosts_of(&mask))
    }

    /// The terms of `pattern` that match no host. Ansible warns about such terms in a
    /// play's `hosts:` ("Could not match supplied host pattern, ignoring") and goes on.
    pub fn unmatched_terms(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        Ok(parse_pattern(pattern)?
            .into_iter()
            .filter(|term| !self.term_mask(term).contains(&true))
            .map(|term| term.text)
            .collect())
    }

    fn hosts_of(&self, mask: &[bool]) -> Vec<&Host> {
        self.hosts
            .iter()
            .zip(mask)
            .filter_map(|(host, keep)| keep.then_some(host))
            .collect()
    }

    /// `strict_limit` is the whole `--limit` text when evaluating a limit.
    fn pattern_mask(
        &self,
        pattern: &str,
        strict_limit: Option<&str>,
    ) -> Result<Vec<bool>, InventoryError> {
        let terms = parse_pattern(pattern)?;
        let mut masks = Vec::with_capacity(terms.len());
        for term in &terms {
            let mask = self.term_mask(term);
            if let Some(limit) = strict_limit
                && !mask.contains(&true)
            {
                return Err(self.limit_error(limit, &term.text));
            }
            masks.push((term.combine, mask));
        }
        let has_union = masks.iter().any(|(combine, _)| *combine == Combine::Union);
        let mut result = vec![!has_union; self.hosts.len()];
        for (_, mask) in masks
            .iter()
            .filter(|(combine, _)| *combine == Combine::Union)
        {
            for (slot, matched) in result.iter_mut().zip(mask) {
                *slot |= matched;
            }
        }
        for (_, mask) in masks
            .iter()
            .filter(|(combine, _)| *combine == Combine::Intersect)
        {
            for (slot, matched) in result.iter_mut().zip(mask) {
                *slot &= matched;
            }
        }
        for (_, mask) in masks
            .iter()
            .filter(|(combine, _)| *combine == Combine::Exclude)
        {
            for (slot, matched) in result.iter_mut().zip(mask) {
                *slot &= !matched;
            }
        }
        if let Some(limit) = strict_limit
            && !result.contains(&true)
        {
            return Err(self.limit_error(limit, limit));
        }
        Ok(result)
    }

    fn limit_error(&self, limit: &str, term: &str) -> InventoryError {
        InventoryError::LimitMatchedNothing {
            limit: limit.to_owned(),
            term: term.to_owned(),
            groups: self.group_names_sorted(),
        }
    }

    fn term_mask(&self, term: &Term) -> Vec<bool> {
        let mut mask = match &term.matcher {
            Matcher::Everything => vec![true; self.hosts.len()],
            Matcher::Name(name) => {
                let is_group = self.group(name).is_some();
                let may_be_host = !is_group || name.contains('.');
                self.hosts
                    .iter()
                    .map(|host| {
                        (is_group && host.in_group(name)) || (may_be_host && host.name == *name)
                    })
                    .collect()
            }
            Matcher::Wildcard(regex) => {
                let groups: Vec<&str> = self
                    .groups
                    .iter()
                    .map(|group| group.name.as_str())
                    .filter(|name| regex.is_match(name))
                    .collect();
                self.hosts
                    .iter()
                    .map(|host| {
                        regex.is_match(&host.name)
                            || groups.iter().any(|group| host.in_group(group))
                    })
                    .collect()
            }
        };
        if let Some(subscript) = term.subscript {
            apply_subscript(&mut mask, subscript);
        }
        mask
    }
}

/// Keeps only the selected positions among the matched hosts.
fn apply_subscript(mask: &mut [bool], subscript: Subscript) {
    let matched: Vec<usize> = mask
        .iter()
        .enumerate()
        .filter_map(|(index, hit)| hit.then_some(index))
        .collect();
    let count = matched.len();
    let keep: Vec<usize> = match subscript {
        Subscript::Index(index) => {
            let position = if index < 0 {
                usize::try_from(index.unsigned_abs())
                    .ok()
                    .and_then(|back| count.checked_sub(back))
            } else {
                usize::try_from(index).ok()
            };
            position
                .and_then(|position| matched.get(position).copied())
                .into_iter()
                .collect()
        }
        Subscript::Range(start, end) => {
            let start = start.unwrap_or(0);
            let end = end.map_or(count, |end| end.saturating_add(1).min(count));
            matched
                .get(start..end)
                .map(<[usize]>::to_vec)
                .unwrap_or_default()
        }
    };
    for slot in mask.iter_mut() {
        *slot = false;
    }
    for index in keep {
        mask[index] = true;
    }
}

/// Splits a pattern into terms: on `,`, and on `:` outside `[...]` unless the piece is a
/// regular expression (`~...`) or an IPv6 address.
fn split_pattern(pattern: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for piece in pattern.split(',') {
        let bare = piece.trim().trim_start_matches(['&', '!']);
        if bare.starts_with('~') || looks_like_ipv6(bare) {
            terms.push(piece.trim().to_owned());
            continue;
        }
        let mut depth = 0_i32;
        let mut current = String::new();
        for character in piece.chars() {
            match character {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            if character == ':' && depth == 0 {
                terms.push(std::mem::take(&mut current).trim().to_owned());
            } else {
                current.push(character);
            }
        }
        terms.push(current.trim().to_owned());
    }
    terms.retain(|term| !term.is_empty());
    terms
}

fn looks_like_ipv6(text: &str) -> bool {
    text.matches(':').count() >= 2
        && text
            .chars()
            .all(|character| character.is_ascii_hexdigit() || character == ':' || character == '.')
}

fn parse_pattern(pattern: &str) -> Result<Vec<Term>, InventoryError> {
    let terms = split_pattern(pattern);
    if terms.is_empty() {
        return Err(InventoryError::Pattern {
            pattern: pattern.to_owned(),
            problem: "the pattern is empty; use `all` for every host".to_owned(),
        });
    }
    terms.iter().map(|text| parse_term(pattern, text)).collect()
}

fn parse_term(pattern: &str, text: &str) -> Result<Term, InventoryError> {
    let (combine, rest) = if let Some(rest) = text.strip_prefix('&') {
        (Combine::Intersect, rest)
    } else if let Some(rest) = text.strip_prefix('!') {
        (Combine::Exclude, rest)
    } else {
        (Combine::Union, text)
    };
    let invalid = |problem: String| InventoryError::Pattern {
        pattern: pattern.to_owned(),
        problem,
    };
    if rest.is_empty() {
        return Err(invalid(format!("`{text}` names nothing after `&` or `!`")));
    }
    let (body, subscript) = split_subscript(rest);
    let matcher = if body == "all" || body == "*" {
        Matcher::Everything
    } else if let Some(expression) = body.strip_prefix('~') {
        let regex = Regex::new(&format!("^(?:{expression})")).map_err(|error| {
            invalid(format!(
                "`{text}` is not a valid regular expression: {error}"
            ))
        })?;
        Matcher::Wildcard(regex)
    } else if body.contains(['*', '?', '[']) {
        Matcher::Wildcard(glob_regex(body).map_err(|error| invalid(format!("`{text}`: {error}")))?)
    } else {
        Matcher::Name(body.to_owned())
    };
    Ok(Term {
        text: text.to_owned(),
        combine,
        matcher,
        subscript,
    })
}

/// `name[3]`, `name[-1]`, `name[1:3]`, `name[:2]`, `name[2:]`.
fn split_subscript(text: &str) -> (&str, Option<Subscript>) {
    let Some(inner_end) = text.strip_suffix(']') else {
        return (text, None);
    };
    let Some(open) = inner_end.rfind('[') else {
        return (text, None);
    };
    let (body, inside) = (&inner_end[..open], &inner_end[open + 1..]);
    if body.is_empty() || body.starts_with('~') {
        return (text, None);
    }
    if let Ok(index) = inside.trim().parse::<i64>() {
        return (body, Some(Subscript::Index(index)));
    }
    if let Some((start, end)) = inside.split_once(':') {
        let bound = |part: &str| -> Result<Option<usize>, ()> {
            let part = part.trim();
            if part.is_empty() {
                Ok(None)
            } else {
                part.parse().map(Some).map_err(|_| ())
            }
        };
        if let (Ok(start), Ok(end)) = (bound(start), bound(end)) {
            return (body, Some(Subscript::Range(start, end)));
        }
    }
    (text, None)
}

/// Translates a shell glob (`*`, `?`, `[abc]`, `[!abc]`) into an anchored regular expression.
fn glob_regex(glob: &str) -> Result<Regex, regex::Error> {
    let mut expression = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '*' => expression.push_str(".*"),
            '?' => expression.push('.'),
            '[' => {
                let mut class = String::new();
                let mut closed = false;
                if chars.peek() == Some(&'!') {
                    chars.next();
                    class.push('^');
                }
                for inner in chars.by_ref() {
                    if inner == ']' {
                        closed = true;
                        break;
                    }
                    if inner == '\\' || inner == '[' {
                        class.push('\\');
                    }
                    class.push(inner);
                }
                if closed && !class.is_empty() && class != "^" {
                    expression.push('[');
                    expression.push_str(&class);
                    expression.push(']');
                } else {
                    expression.push_str(&regex::escape("["));
                    expression.push_str(&regex::escape(class.trim_start_matches('^')));
                    if closed {
                        expression.push_str(&regex::escape("]"));
                    }
                }
            }
            other => expression.push_str(&regex::escape(&other.to_string())),
        }
    }
    expression.push('$');
    Regex::new(&expression)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_commas_and_colons() {
        assert_eq!(split_pattern("a:b,c"), ["a", "b", "c"]);
        assert_eq!(split_pattern("web:&prod:!web3"), ["web", "&prod", "!web3"]);
        assert_eq!(split_pattern("web[1:2]"), ["web[1:2]"]);
        assert_eq!(split_pattern("~web:\\d+, db"), ["~web:\\d+", "db"]);
        assert_eq!(split_pattern("2001:db8::1"), ["2001:db8::1"]);
    }

    #[test]
    fn subscripts() {
        assert_eq!(
            split_subscript("web[0]"),
            ("web", Some(Subscript::Index(0)))
        );
        assert_eq!(
            split_subscript("web[-1]"),
            ("web", Some(Subscript::Index(-1)))
        );
        assert_eq!(
            split_subscript("web[1:]"),
            ("web", Some(Subscript::Range(Some(1), None)))
        );
        assert_eq!(split_subscript("web[ab]"), ("web[ab]", None));
    }

    #[test]
    fn globs() {
        let regex = glob_regex("web-?[0-9]*").unwrap();
        assert!(regex.is_match("web-a1.example.com"));
        assert!(!regex.is_match("web-ab"));
        assert!(glob_regex("db[!x]").unwrap().is_match("dby"));
        assert!(glob_regex("a.b").unwrap().is_match("a.b"));
        assert!(!glob_regex("a.b").unwrap().is_match("axb"));
    }
}
