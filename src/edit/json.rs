//! Lossless editor for the top-level members of a JSON object (Frappe `site_config.json` and
//! `common_site_config.json`).
//!
//! The document is validated with `serde_json` (which reports line and column of a syntax error),
//! then a small scanner locates the byte span of each top-level member so that an edit replaces
//! only the value of one member or inserts one member before the closing brace. Everything else,
//! key order, indentation (tabs or spaces), separators, line endings and the text after the closing
//! brace, stays byte-identical.

use std::ops::Range;

use serde_json::Value;

use crate::edit::lossless::{line_ending, splice, with_line_ending};

/// What is wrong with a JSON document or with the edit asked of it. Lines and columns start at 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The text is not valid JSON.
    #[error("{line}:{column}: {}", invalid_json(message))]
    Invalid {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the parser found.
        message: String,
    },
    /// The top-level value is not an object.
    #[error(
        "the top level of the JSON document is {found}, but a site config must be an object `{{ ... }}`"
    )]
    NotAnObject {
        /// Kind of value found, e.g. "an array".
        found: &'static str,
    },
    /// The same top-level key twice.
    #[error(
        "key `{key}` appears twice at the top level, on line {first_line} and on line {second_line}; only the last one counts when Frappe reads it: delete one of them"
    )]
    DuplicateKey {
        /// The key.
        key: String,
        /// Line of the first occurrence.
        first_line: usize,
        /// Line of the second occurrence.
        second_line: usize,
    },
    /// The scanner disagreed with the validating parser (a bug, never expected).
    #[error(
        "could not locate the members of the JSON object near byte {offset}; please report this with the file"
    )]
    Layout {
        /// Byte offset where scanning stopped.
        offset: usize,
    },
}

/// Sets each top-level `(key, value)` of `pairs`, in order, and returns the new text.
///
/// An existing member whose value is equal (as JSON values) is left untouched; a different value
/// replaces only the value's text. A new member is appended after the last member with the file's
/// indentation and key/value separator, and a comma is added after the previous member. An empty
/// object `{}` receives its first member on its own line indented by one space, the layout Frappe
/// writes (`json.dumps(config, indent=1)`).
///
/// # Errors
///
/// The text is not valid JSON (with line and column), its top level is not an object, or it has
/// the same top-level key twice.
pub fn set_keys(text: &str, pairs: &[(String, Value)]) -> Result<String, JsonError> {
    let mut current = text.to_owned();
    for (key, value) in pairs {
        current = set_one(&current, key, value)?;
    }
    Ok(current)
}

/// Reads the top-level member `key`, `Ok(None)` when absent.
///
/// # Errors
///
/// As [`set_keys`]: invalid JSON, a top level that is not an object, a duplicate top-level key.
pub fn get(text: &str, key: &str) -> Result<Option<Value>, JsonError> {
    let (object, _) = parse(text)?;
    Ok(object.get(key).cloned())
}

fn set_one(text: &str, key: &str, value: &Value) -> Result<String, JsonError> {
    let (object, layout) = parse(text)?;
    if let Some(existing) = object.get(key) {
        if existing == value {
            return Ok(text.to_owned());
        }
        let Some(member) = layout.members.iter().find(|m| m.key == key) else {
            return Err(JsonError::Layout {
                offset: layout.open,
            });
        };
        let indent = member_indent(text, member);
        let rendered = render(value, indent, line_ending(text));
        return Ok(splice(text, member.value.clone(), &rendered));
    }
    Ok(insert_member(text, &layout, key, value))
}

/// What is wrong with a document that is not JSON (`message`: what the parser found).
#[must_use]
pub fn invalid_json(message: &str) -> String {
    format!("invalid JSON: {message}; fix the syntax first (Frappe cannot read this file either)")
}

/// Validates the document and locates its top-level members.
fn parse(text: &str) -> Result<(serde_json::Map<String, Value>, Layout), JsonError> {
    let document: Value = serde_json::from_str(text).map_err(|error| {
        let full = error.to_string();
        // serde_json appends ` at line L column C` to its message; the place is kept apart.
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        JsonError::Invalid {
            line: error.line(),
            column: error.column(),
            message,
        }
    })?;
    let object = match document {
        Value::Object(object) => object,
        Value::Array(_) => return Err(JsonError::NotAnObject { found: "an array" }),
        Value::String(_) => return Err(JsonError::NotAnObject { found: "a string" }),
        Value::Number(_) => return Err(JsonError::NotAnObject { found: "a number" }),
        Value::Bool(_) => return Err(JsonError::NotAnObject { found: "a boolean" }),
        Value::Null => return Err(JsonError::NotAnObject { found: "null" }),
    };
    let layout = Scanner {
        bytes: text.as_bytes(),
    }
    .top_level_object()?;
    for (index, member) in layout.members.iter().enumerate() {
        if let Some(earlier) = layout.members[..index].iter().find(|m| m.key == member.key) {
            return Err(JsonError::DuplicateKey {
                key: member.key.clone(),
                first_line: line_of(text, earlier.key_start),
                second_line: line_of(text, member.key_start),
            });
        }
    }
    Ok((object, layout))
}

/// One top-level member: where its key starts, the whitespace before it and its value's span.
struct Member {
    key: String,
    /// Byte offset of the key's opening quote.
    key_start: usize,
    /// Whitespace between the previous `{` or `,` and the key.
    lead: Range<usize>,
    /// Between the key's closing quote and the value (`": "`, `":"`, ...).
    separator: Range<usize>,
    value: Range<usize>,
}

struct Layout {
    /// Offset of the top-level `{`.
    open: usize,
    /// Offset of the top-level `}`.
    close: usize,
    members: Vec<Member>,
}

struct Scanner<'a> {
    bytes: &'a [u8],
}

impl Scanner<'_> {
    fn skip_whitespace(&self, mut at: usize) -> usize {
        while matches!(self.bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at += 1;
        }
        at
    }

    fn expect(&self, at: usize, byte: u8) -> Result<(), JsonError> {
        if self.bytes.get(at) == Some(&byte) {
            Ok(())
        } else {
            Err(JsonError::Layout { offset: at })
        }
    }

    /// End (exclusive) of the string starting at `at` (its opening quote).
    fn string_end(&self, at: usize) -> Result<usize, JsonError> {
        self.expect(at, b'"')?;
        let mut position = at + 1;
        while let Some(&byte) = self.bytes.get(position) {
            match byte {
                b'\\' => position += 2,
                b'"' => return Ok(position + 1),
                _ => position += 1,
            }
        }
        Err(JsonError::Layout { offset: at })
    }

    /// End (exclusive) of the value starting at `at`.
    fn value_end(&self, at: usize) -> Result<usize, JsonError> {
        match self.bytes.get(at) {
            Some(b'"') => self.string_end(at),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut position = at;
                while let Some(&byte) = self.bytes.get(position) {
                    match byte {
                        b'"' => {
                            position = self.string_end(position)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return Ok(position + 1);
                            }
                        }
                        _ => {}
                    }
                    position += 1;
                }
                Err(JsonError::Layout { offset: at })
            }
            Some(_) => {
                let mut position = at;
                while let Some(&byte) = self.bytes.get(position) {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    position += 1;
                }
                Ok(position)
            }
            None => Err(JsonError::Layout { offset: at }),
        }
    }

    fn top_level_object(&self) -> Result<Layout, JsonError> {
        let open = self.skip_whitespace(0);
        self.expect(open, b'{')?;
        let mut members = Vec::new();
        let mut lead_start = open + 1;
        loop {
            let at = self.skip_whitespace(lead_start);
            if members.is_empty() && self.bytes.get(at) == Some(&b'}') {
                return Ok(Layout {
                    open,
                    close: at,
                    members,
                });
            }
            let key_end = self.string_end(at)?;
            let key: String = serde_json::from_slice(&self.bytes[at..key_end])
                .map_err(|_| JsonError::Layout { offset: at })?;
            let colon = self.skip_whitespace(key_end);
            self.expect(colon, b':')?;
            let value_start = self.skip_whitespace(colon + 1);
            let value_end = self.value_end(value_start)?;
            members.push(Member {
                key,
                key_start: at,
                lead: lead_start..at,
                separator: key_end..value_start,
                value: value_start..value_end,
            });
            let next = self.skip_whitespace(value_end);
            match self.bytes.get(next) {
                Some(b',') => lead_start = next + 1,
                Some(b'}') => {
                    return Ok(Layout {
                        open,
                        close: next,
                        members,
                    });
                }
                _ => return Err(JsonError::Layout { offset: next }),
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The indentation of a member written on its own line, `None` for a one-line object.
fn member_indent<'t>(text: &'t str, member: &Member) -> Option<&'t str> {
    let lead = &text[member.lead.clone()];
    lead.rfind('\n').map(|newline| &lead[newline + 1..])
}

/// The value as text: compact for one-line objects, otherwise pretty-printed with `indent` as the
/// indentation unit, nested one level below the member.
fn render(value: &Value, indent: Option<&str>, newline: &str) -> String {
    let Some(indent) = indent else {
        return value.to_string();
    };
    let Ok(pretty) = serde_json::to_string_pretty(value) else {
        return value.to_string();
    };
    // serde_json indents by two spaces per level; a line never starts inside a string.
    let mut out = String::new();
    for (index, line) in pretty.lines().enumerate() {
        if index > 0 {
            out.push_str(newline);
            out.push_str(indent);
        }
        let body = line.trim_start_matches(' ');
        let depth = (line.len() - body.len()) / 2;
        out.push_str(&indent.repeat(depth));
        out.push_str(body);
    }
    out
}

fn insert_member(text: &str, layout: &Layout, key: &str, value: &Value) -> String {
    let newline = line_ending(text);
    let key_text = Value::String(key.to_owned()).to_string();
    let Some(last) = layout.members.last() else {
        const FRAPPE_INDENT: &str = " ";
        let member = format!(
            "{newline}{FRAPPE_INDENT}{key_text}: {}{newline}",
            render(value, Some(FRAPPE_INDENT), newline)
        );
        return splice(text, layout.open + 1..layout.close, &member);
    };
    let lead = with_line_ending(&text[last.lead.clone()], newline);
    let separator = &text[last.separator.clone()];
    let separator = if separator.contains('\n') {
        ": "
    } else {
        separator
    };
    let indent = member_indent(text, last);
    let lead = if indent.is_none() && lead.is_empty() && layout.members.len() == 1 {
        " "
    } else {
        &lead
    };
    let member = format!(
        ",{lead}{key_text}{separator}{}",
        render(value, indent, newline)
    );
    splice(text, last.value.end..last.value.end, &member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(text: &str, key: &str, value: Value) -> String {
        set_keys(text, &[(key.to_owned(), value)]).unwrap()
    }

    #[test]
    fn replaces_only_the_value_span() {
        let text = "{\n    \"a\": 1,\n    \"b\":   \"x\" ,\n    \"c\": true\n}\n";
        assert_eq!(
            set(text, "b", json!("y")),
            "{\n    \"a\": 1,\n    \"b\":   \"y\" ,\n    \"c\": true\n}\n"
        );
    }

    #[test]
    fn equal_value_leaves_text_unchanged() {
        let text = "{\"a\" :  { \"x\" : [1, 2] }}";
        assert_eq!(set(text, "a", json!({"x": [1, 2]})), text);
    }

    #[test]
    fn inserts_at_end_with_detected_spaces() {
        let text = "{\n    \"a\": 1,\n    \"b\": 2\n}\n";
        assert_eq!(
            set(text, "c", json!(3)),
            "{\n    \"a\": 1,\n    \"b\": 2,\n    \"c\": 3\n}\n"
        );
    }

    #[test]
    fn inserts_at_end_with_detected_tabs_and_nested_pretty_value() {
        let text = "{\n\t\"a\": 1\n}";
        assert_eq!(
            set(text, "w", json!({"sync": {"timeout": 300}, "l": []})),
            "{\n\t\"a\": 1,\n\t\"w\": {\n\t\t\"sync\": {\n\t\t\t\"timeout\": 300\n\t\t},\n\t\t\"l\": []\n\t}\n}"
        );
    }

    #[test]
    fn keeps_separator_style() {
        let text = "{\n  \"a\":1\n}\n";
        assert_eq!(set(text, "b", json!(2)), "{\n  \"a\":1,\n  \"b\":2\n}\n");
        let spaced = "{\n  \"a\" : 1\n}\n";
        assert_eq!(
            set(spaced, "b", json!(2)),
            "{\n  \"a\" : 1,\n  \"b\" : 2\n}\n"
        );
    }

    #[test]
    fn one_line_objects_stay_one_line() {
        assert_eq!(set("{\"a\": 1}", "b", json!(2)), "{\"a\": 1, \"b\": 2}");
        assert_eq!(
            set("{\"a\":1,\"b\":2}", "c", json!([1])),
            "{\"a\":1,\"b\":2,\"c\":[1]}"
        );
    }

    #[test]
    fn empty_object_gets_frappe_layout() {
        assert_eq!(set("{}", "a", json!(1)), "{\n \"a\": 1\n}");
        assert_eq!(set("{}\n", "a", json!(1)), "{\n \"a\": 1\n}\n");
        assert_eq!(
            set(" { \r\n } \r\n", "a", json!(1)),
            " {\r\n \"a\": 1\r\n} \r\n"
        );
    }

    #[test]
    fn crlf_is_kept() {
        let text = "{\r\n  \"a\": 1\r\n}\r\n";
        assert_eq!(
            set(text, "b", json!({"x": 1})),
            "{\r\n  \"a\": 1,\r\n  \"b\": {\r\n    \"x\": 1\r\n  }\r\n}\r\n"
        );
    }

    /// Changed by the shared line-ending rule: one CRLF used to make every new line CRLF; new
    /// lines now take the majority ending, as every editor does.
    #[test]
    fn new_lines_take_the_majority_ending_not_any_crlf() {
        let text = "{\n  \"a\": 1\r\n}\n";
        assert_eq!(
            set(text, "b", json!({"x": 1})),
            "{\n  \"a\": 1,\n  \"b\": {\n    \"x\": 1\n  }\r\n}\n"
        );
        // The line break before the new member, copied from the previous member, follows too.
        let text = "{\n  \"a\": 1,\r\n  \"b\": 2\n}\n";
        assert_eq!(
            set(text, "c", json!(3)),
            "{\n  \"a\": 1,\r\n  \"b\": 2,\n  \"c\": 3\n}\n"
        );
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let err = get("{\n  \"a\": 1,\n  \"b\" 2\n}\n", "a").unwrap_err();
        assert_eq!(
            err,
            JsonError::Invalid {
                line: 3,
                column: 7,
                message: "expected `:`".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "3:7: invalid JSON: expected `:`; fix the syntax first (Frappe cannot read this file either)"
        );
    }

    #[test]
    fn trailing_comma_is_invalid() {
        assert!(matches!(
            set_keys("{\"a\": 1,}", &[("b".into(), json!(1))]),
            Err(JsonError::Invalid { line: 1, .. })
        ));
    }

    #[test]
    fn non_object_top_level_is_an_error() {
        let err = get("[1, 2]", "a").unwrap_err();
        assert_eq!(err, JsonError::NotAnObject { found: "an array" });
        assert_eq!(
            err.to_string(),
            "the top level of the JSON document is an array, but a site config must be an object `{ ... }`"
        );
    }

    #[test]
    fn duplicate_top_level_key_is_an_error() {
        let text = "{\n \"a\": 1,\n \"b\": {\"a\": 2},\n \"a\": 3\n}";
        assert_eq!(
            get(text, "a").unwrap_err(),
            JsonError::DuplicateKey {
                key: "a".into(),
                first_line: 2,
                second_line: 4
            }
        );
    }

    #[test]
    fn get_reads_members() {
        let text = "{\"a\": {\"b\": [1, \"}\"]}, \"c\": null}";
        assert_eq!(get(text, "a").unwrap(), Some(json!({"b": [1, "}"]})));
        assert_eq!(get(text, "c").unwrap(), Some(Value::Null));
        assert_eq!(get(text, "d").unwrap(), None);
    }

    #[test]
    fn escaped_keys_and_strings_are_scanned() {
        let text = "{\n \"q\\\"k\": \"v\\\\\\\"}\",\n \"n\": -1.5e3\n}";
        assert_eq!(
            set(text, "n", json!(2)),
            "{\n \"q\\\"k\": \"v\\\\\\\"}\",\n \"n\": 2\n}"
        );
        assert_eq!(
            set(text, "q\"k", json!("w")),
            "{\n \"q\\\"k\": \"w\",\n \"n\": -1.5e3\n}"
        );
    }

    #[test]
    fn twice_is_once_and_order_is_kept() {
        let text = "{\n  \"z\": 1,\n  \"a\": 2\n}\n";
        let request = vec![
            ("socketio_port".to_owned(), json!(9000)),
            ("a".into(), json!(5)),
        ];
        let once = set_keys(text, &request).unwrap();
        assert_eq!(set_keys(&once, &request).unwrap(), once);
        assert_eq!(
            once,
            "{\n  \"z\": 1,\n  \"a\": 5,\n  \"socketio_port\": 9000\n}\n"
        );
    }
}
