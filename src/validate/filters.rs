//! Filters a template uses that wsdeploy does not have (Ansible's `to_nice_yaml`,
//! `b64encode`, …), found without an inventory: every `| name` inside `{{ }}` and `{% %}`
//! is tried against the renderer `apply` uses.

use std::collections::BTreeSet;

use serde_json::Map;

use crate::template::{Renderer, TemplateError};

/// The filters of `source` the renderer does not know, in order of name.
pub(super) fn unknown(source: &str) -> Vec<String> {
    let renderer = Renderer::new(Map::new());
    used(source)
        .into_iter()
        .filter(|name| {
            matches!(
                renderer.render(&format!("{{{{ 0 | {name} }}}}")),
                Err(TemplateError::UnknownFilter(_))
            )
        })
        .collect()
}

/// Every filter name applied in `source`'s tags (string literals skipped).
fn used(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let closer = if rest[start..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        let body_start = start + 2;
        let Some(len) = rest[body_start..].find(closer) else {
            break;
        };
        collect(&rest[body_start..body_start + len], &mut names);
        rest = &rest[body_start + len + 2..];
    }
    names
}

/// The names after each `|` of one tag's text, outside quotes.
fn collect(tag: &str, names: &mut BTreeSet<String>) {
    let mut quote: Option<char> = None;
    let mut chars = tag.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '|') => {
                let name: String = tag[i + 1..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_found_outside_strings_and_checked() {
        let source =
            "a {{ x | to_nice_yaml }} {% if y | length > 1 %}{{ \"a|b\" | quote }}{% endif %}";
        let names: Vec<String> = used(source).into_iter().collect();
        assert_eq!(names, ["length", "quote", "to_nice_yaml"]);
        assert_eq!(unknown(source), ["to_nice_yaml"]);
        assert!(unknown("{{ x | default('a') | upper }}").is_empty());
    }
}
