//! The `ensure:` text of `nginx:` steps, parsed offline with the editor's own parser: a
//! missing `;` or an unclosed `{` is found before any connection, at its line and column
//! in the plan file (where the snippet is written: a literal block `|`, or a one-line
//! string). Template expressions stand in as words of their own length, so columns
//! stay true; `{% %}` tags and `{# #}` comments are blanked.

use crate::edit::nginx::{self, ParseError};
use crate::location::Location;

/// A problem of one snippet: where in the plan file (line, column; `None` when the
/// snippet's place cannot be told, e.g. a folded block) and what.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SnippetProblem {
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// Checks the `ensure:` snippet of the step written at `step_line` (1-based) of
/// `plan_text`, the text of the plan file `file`.
pub(super) fn check(
    file: &str,
    plan_text: &str,
    step_line: usize,
    snippet: &str,
) -> Option<SnippetProblem> {
    if snippet.trim().is_empty() {
        return Some(SnippetProblem {
            at: None,
            message: "`nginx.ensure` is empty: give at least one directive or block".to_owned(),
        });
    }
    let text = blank_templates(snippet);
    let error = match nginx::parse(&text) {
        Err(error) => error,
        Ok(config) => missing_semicolon(&config, config.directives())?,
    };
    let at = place(plan_text, step_line, error.line, error.column);
    // A second place (where a directive whose `;` is missing starts) is said as the
    // first: in the plan file when the snippet's place is known there.
    let second = |line, column| match place(plan_text, step_line, line, column) {
        Some((l, c)) if at.is_some() => {
            let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            Location::at(file, wide(l), wide(c)).to_string()
        }
        _ => format!("line {line}, column {column} of the snippet"),
    };
    let mut message = format!(
        "`nginx.ensure`: nginx syntax: {}",
        error.message_with(second)
    );
    if at.is_none() {
        message.push_str(&format!(
            " (line {}, column {} of the snippet)",
            error.line, error.column
        ));
    }
    Some(SnippetProblem { at, message })
}

/// Directive names that are never an argument at the start of a line: one found there
/// continues the directive above it, whose `;` is missing (nginx would then say
/// `invalid number of arguments`, or read both as one).
const LINE_STARTING_DIRECTIVES: &[&str] = &[
    "access_log",
    "add_header",
    "alias",
    "allow",
    "auth_basic",
    "chunked_transfer_encoding",
    "client_max_body_size",
    "default_type",
    "deny",
    "error_log",
    "error_page",
    "expires",
    "fastcgi_pass",
    "grpc_pass",
    "gzip",
    "include",
    "index",
    "keepalive_timeout",
    "limit_req",
    "listen",
    "location",
    "proxy_buffering",
    "proxy_buffers",
    "proxy_buffer_size",
    "proxy_cache",
    "proxy_connect_timeout",
    "proxy_cookie_path",
    "proxy_http_version",
    "proxy_ignore_client_abort",
    "proxy_next_upstream",
    "proxy_pass",
    "proxy_read_timeout",
    "proxy_redirect",
    "proxy_request_buffering",
    "proxy_send_timeout",
    "proxy_set_header",
    "proxy_ssl_server_name",
    "resolver",
    "return",
    "rewrite",
    "root",
    "send_timeout",
    "server_name",
    "ssl_certificate",
    "ssl_certificate_key",
    "sub_filter",
    "try_files",
    "uwsgi_pass",
];

/// A directive whose arguments run on into a line that starts with another directive's
/// name: the `;` at the end of the line before is missing.
fn missing_semicolon<'a>(
    config: &nginx::Config,
    directives: impl Iterator<Item = &'a nginx::Directive>,
) -> Option<ParseError> {
    for d in directives {
        let mut previous = &d.name;
        for arg in &d.args {
            let gap = &config.source()[previous.span.end..arg.span.start];
            if gap.contains('\n') && LINE_STARTING_DIRECTIVES.contains(&arg.value.as_str()) {
                let at = config.position(previous.span.end);
                return Some(ParseError::new(
                    at.line,
                    at.column,
                    format!(
                        "missing \";\" at the end of \"{}\": \"{}\" on the next line is a directive of its own, but nginx reads it as one more argument",
                        d.name(),
                        arg.value,
                    ),
                ));
            }
            previous = arg;
        }
        if let Some(error) = missing_semicolon(config, d.directives()) {
            return Some(error);
        }
    }
    None
}

/// The template parts of `text` replaced, character for character: `{{ … }}` by `x`
/// (a word, as the value will be), `{% … %}` and `{# … #}` by spaces. Newlines stay.
fn blank_templates(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let closer = match (chars[i], chars.get(i + 1)) {
            ('{', Some('{')) => Some(('}', 'x')),
            ('{', Some('%')) => Some(('%', ' ')),
            ('{', Some('#')) => Some(('#', ' ')),
            _ => None,
        };
        let end = closer.and_then(|(c, _)| {
            (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == c && chars[j + 1] == '}')
        });
        match (closer, end) {
            (Some((_, fill)), Some(end)) => {
                for &c in &chars[i..end + 2] {
                    out.push(if c == '\n' { '\n' } else { fill });
                }
                i = end + 2;
            }
            _ => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Where snippet position `line`:`column` is in the plan file.
fn place(plan_text: &str, step_line: usize, line: usize, column: usize) -> Option<(usize, usize)> {
    let lines: Vec<&str> = plan_text.lines().collect();
    let (key_line, value_col) = lines
        .iter()
        .enumerate()
        .skip(step_line.saturating_sub(1))
        .find_map(|(i, line)| ensure_value(line).map(|col| (i, col)))?;
    let rest: String = lines[key_line].chars().skip(value_col).collect();
    let rest = rest.trim_end();
    if rest.starts_with('|') {
        // A literal block: snippet line k is the k-th line after the key, at the block's
        // indentation (that of its first non-blank line).
        let indent = lines[key_line + 1..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.chars().take_while(|c| *c == ' ').count())?;
        return Some((key_line + 1 + line, indent + column));
    }
    if line != 1 || rest.starts_with('>') || rest.contains('\\') {
        return None;
    }
    let quoted = rest.starts_with('"') || rest.starts_with('\'');
    Some((key_line + 1, value_col + usize::from(quoted) + column))
}

/// The character column (0-based) where the value of an `ensure:` key on `line` starts.
fn ensure_value(line: &str) -> Option<usize> {
    let chars: Vec<char> = line.chars().collect();
    let key: Vec<char> = "ensure:".chars().collect();
    (0..chars.len()).find_map(|i| {
        let is_key = chars[i..].starts_with(&key)
            && (i == 0 || matches!(chars[i - 1], ' ' | '{' | ',' | '\t'));
        is_key.then(|| {
            let after = i + key.len();
            after + chars[after..].iter().take_while(|c| **c == ' ').count()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_expressions_keep_their_width() {
        assert_eq!(
            blank_templates("proxy_pass http://h:{{ port }};{% if a %}\n{# c #}x"),
            "proxy_pass http://h:xxxxxxxxxx;          \n       x"
        );
        assert_eq!(blank_templates("a {{ open"), "a {{ open");
    }

    #[test]
    fn a_missing_semicolon_in_a_literal_block_is_placed_in_the_plan_file() {
        let plan = "steps:\n  - id: site\n    nginx:\n      file: /x\n      ensure: |\n        location /ws {\n            proxy_pass http://b:{{ port }}\n            proxy_http_version 1.1;\n        }\n";
        let snippet =
            "location /ws {\n    proxy_pass http://b:{{ port }}\n    proxy_http_version 1.1;\n}\n";
        let p = check("plans/site.yml", plan, 2, snippet).expect("a problem");
        // After `http://b:{{ port }}`, the end of plan line 7.
        assert_eq!(p.at, Some((7, 43)), "{p:?}");
        assert!(
            p.message.contains("missing \";\" at the end of \"proxy_pass\": \"proxy_http_version\" on the next line"),
            "{p:?}"
        );
    }

    #[test]
    fn a_one_line_snippet_is_placed_after_its_quote() {
        let plan = "  - nginx: {file: /x, ensure: \"location / { return 204 }\"}\n";
        let snippet = "location / { return 204 }";
        let p = check("plans/site.yml", plan, 1, snippet).expect("a problem");
        let e = nginx::parse(snippet).expect_err("bad");
        let quote = plan.find('"').expect("quote");
        assert_eq!(p.at, Some((1, quote + 1 + e.column)), "{p:?} {e:?}");
        // The directive whose `;` is missing, `return` (snippet column 14), in the plan.
        let directive = format!("plans/site.yml:1:{}", quote + 1 + 14);
        assert!(
            p.message.contains(&format!(
                "the directive \"return\" at {directive} is not terminated"
            )),
            "{p:?}"
        );
    }

    #[test]
    fn valid_snippets_pass_and_empty_ones_do_not() {
        assert_eq!(
            check(
                "plans/site.yml",
                "",
                1,
                "location /ws {\n  proxy_pass {{ u }};\n}\n"
            ),
            None
        );
        assert!(check("plans/site.yml", "", 1, "  \n").is_some());
    }
}
