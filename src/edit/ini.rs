//! Lossless editor for INI files in Python `configparser` dialect (Odoo's `odoo.conf`).
//!
//! The file is read with the same rules as `configparser.ConfigParser` with its defaults
//! (`strict=True`, `empty_lines_in_values=True`, delimiters `=` and `:`, full-line comments
//! starting with `#` or `;`, no inline comments, case-insensitive keys, case-sensitive section
//! names, indented continuation lines). Editing splices new text into the original: every line
//! that is not the edited option stays byte-identical, including comments, blank lines, CRLF line
//! endings and a missing final newline.
//!
//! A file that `configparser` would reject (duplicate key or section, option before any section
//! header, unparsable line) is refused with an [`IniError`] naming the line numbers.
//!
//! Reading a key of a section that does not exist gives `Ok(None)`: the key is simply not set, and
//! [`set_keys`] can add the section.

use crate::edit::lossless::{self, Line, insert_lines, insert_lines_after};

/// What is wrong with an INI file or with the edit asked of it. Line numbers start at 1;
/// the line a one-line error is on is [`IniError::line`], not part of its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    /// The file starts with a UTF-8 byte order mark, which configparser reads as part of the
    /// first line.
    #[error(
        "the file starts with a UTF-8 byte order mark (BOM); configparser (and so Odoo) then rejects its first line: save the file as UTF-8 without BOM"
    )]
    ByteOrderMark,
    /// An option line before the first `[section]` header.
    #[error(
        "`{text}` comes before any [section] header; configparser (and so Odoo) rejects such a file: add a section header such as `[options]` above it"
    )]
    MissingSectionHeader {
        /// Line of the offending option.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// A line that is none of header, option, comment, blank or continuation.
    #[error(
        "`{text}` is not a `[section]` header, a `key = value` option, a `;`/`#` comment or an indented continuation line; configparser rejects it: fix the line or comment it out"
    )]
    Unparsable {
        /// Line of the offending text.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// An option line whose key is empty (`= value`).
    #[error(
        "`{text}` has no key before its `=`/`:`; configparser rejects it: add the key name or comment the line out"
    )]
    EmptyKey {
        /// Line of the offending option.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// The same key twice in one section.
    #[error(
        "section [{section}] sets `{key}` twice, on line {first_line} and on line {second_line} (keys are case-insensitive); configparser rejects duplicate keys: delete one of the two lines"
    )]
    DuplicateKey {
        /// Section holding both keys.
        section: String,
        /// The key, lower-cased as configparser compares it.
        key: String,
        /// Line of the first definition.
        first_line: usize,
        /// Line of the second definition.
        second_line: usize,
    },
    /// The same section header twice.
    #[error(
        "section [{section}] appears twice, on line {first_line} and on line {second_line}; configparser rejects duplicate sections: merge them into one"
    )]
    DuplicateSection {
        /// The section name.
        section: String,
        /// Line of the first header.
        first_line: usize,
        /// Line of the second header.
        second_line: usize,
    },
    /// A key that cannot be written as an option line.
    #[error("cannot write key `{key}`: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it cannot be written.
        reason: &'static str,
    },
    /// A section name that cannot be written as a header.
    #[error("cannot write section `[{section}]`: {reason}")]
    InvalidSection {
        /// The section name as given.
        section: String,
        /// Why it cannot be written.
        reason: &'static str,
    },
    /// A value that configparser would not read back unchanged.
    #[error(
        "cannot write the value of `{key}` so that configparser reads it back unchanged: {reason}"
    )]
    UnrepresentableValue {
        /// Key the value belongs to.
        key: String,
        /// Why it cannot be written.
        reason: &'static str,
    },
}

impl IniError {
    /// The line of an error about one line (its text names the lines of the others).
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::MissingSectionHeader { line, .. }
            | Self::Unparsable { line, .. }
            | Self::EmptyKey { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Sets each `(key, value)` of `pairs` in `section`, in order, and returns the new text.
///
/// An existing key (compared case-insensitively) keeps its spelling, indentation and separator;
/// only its value is replaced, all continuation lines included. A key whose value is already
/// equal leaves the text untouched. A missing key is added after the last option of the section
/// with the section's most common separator (`key = value`, `key=value`, `key: value`, ...);
/// commented-out lines such as `;websocket_url = ...` stay as they are. A missing section is
/// appended at the end of the file. A value containing `\n` is written as continuation lines.
///
/// # Errors
///
/// The file is not valid for configparser (see [`IniError`]), or a key, value or section name
/// cannot be written so that configparser reads it back as given.
pub fn set_keys(text: &str, section: &str, pairs: &[(String, String)]) -> Result<String, IniError> {
    validate_section_name(section)?;
    for (key, value) in pairs {
        validate_key(key)?;
        validate_value(key, value)?;
    }
    let mut current = text.to_owned();
    for (key, value) in pairs {
        current = set_one(&current, section, key, value)?;
    }
    Ok(current)
}

/// Reads `key` of `section` as configparser would (`interpolation=None`): continuation lines are
/// joined with `\n`, surrounding whitespace is stripped, and a key missing from the section falls
/// back to the `[DEFAULT]` section.
///
/// Returns `Ok(None)` when the section or the key does not exist; an error only when the file
/// itself is not valid for configparser.
///
/// # Errors
///
/// The file is not valid for configparser: duplicate key or section, option before any section
/// header, or a line that is neither option, header, comment nor continuation.
pub fn get(text: &str, section: &str, key: &str) -> Result<Option<String>, IniError> {
    let document = Document::parse(text)?;
    let wanted = key.trim().to_lowercase();
    let Some(found) = document.section(section) else {
        return Ok(None);
    };
    if let Some(option) = found.option(&wanted) {
        return Ok(Some(document.value_of(option)));
    }
    if section != DEFAULT_SECTION
        && let Some(option) = document
            .section(DEFAULT_SECTION)
            .and_then(|d| d.option(&wanted))
    {
        return Ok(Some(document.value_of(option)));
    }
    Ok(None)
}

/// Whether `section` exists (section names are case-sensitive, as in configparser).
///
/// # Errors
///
/// The file is not valid for configparser.
pub fn has_section(text: &str, section: &str) -> Result<bool, IniError> {
    Ok(Document::parse(text)?.section(section).is_some())
}

const DEFAULT_SECTION: &str = "DEFAULT";
const CONTINUATION_INDENT: &str = "    ";

fn set_one(text: &str, section: &str, key: &str, value: &str) -> Result<String, IniError> {
    let document = Document::parse(text)?;
    let wanted = key.to_lowercase();
    let Some(found) = document.section(section) else {
        return Ok(document.append_section(section, key, value));
    };
    if let Some(option) = found.option(&wanted) {
        if document.value_of(option) == value {
            return Ok(text.to_owned());
        }
        return Ok(document.replace_value(option, value));
    }
    Ok(document.insert_option(found, key, value))
}

fn validate_section_name(section: &str) -> Result<(), IniError> {
    let reason = if section.is_empty() {
        Some("the name is empty")
    } else if section.contains(['\n', '\r']) {
        Some("the name contains a line break")
    } else if section.contains(']') {
        Some("the name contains `]`")
    } else if section.trim() != section {
        Some("the name starts or ends with whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(IniError::InvalidSection {
            section: section.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn validate_key(key: &str) -> Result<(), IniError> {
    let reason = if key.is_empty() {
        Some("the key is empty")
    } else if key.trim() != key {
        Some("the key starts or ends with whitespace")
    } else if key.contains(['\n', '\r']) {
        Some("the key contains a line break")
    } else if key.contains(['=', ':']) {
        Some("the key contains `=` or `:`, which configparser reads as the separator")
    } else if key.starts_with(['#', ';']) {
        Some("the key starts with `#` or `;`, which makes the line a comment")
    } else if key.starts_with('[') {
        Some("the key starts with `[`, which makes the line a section header")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(IniError::InvalidKey {
            key: key.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn validate_value(key: &str, value: &str) -> Result<(), IniError> {
    let reason = if value.contains('\r') {
        Some("it contains a carriage return")
    } else if value.trim() != value {
        Some("it starts or ends with whitespace, which configparser strips")
    } else if value.lines().skip(1).any(|l| l.trim() != l) {
        Some("a continuation line starts or ends with whitespace, which configparser strips")
    } else if value.lines().skip(1).any(|l| l.starts_with(['#', ';'])) {
        Some("a continuation line starts with `#` or `;`, which configparser reads as a comment")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(IniError::UnrepresentableValue {
            key: key.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The whitespace at the start of a line.
fn indent<'a>(line: &Line<'a>) -> &'a str {
    let trimmed = line.content.trim_start();
    &line.content[..line.content.len() - trimmed.len()]
}

/// How an option line separates key and value, e.g. `" "`, `'='`, `" "` for `key = value`.
#[derive(Clone, PartialEq, Eq)]
struct Separator {
    before: String,
    delimiter: char,
    after: String,
}

impl Separator {
    fn render(&self) -> String {
        format!("{}{}{}", self.before, self.delimiter, self.after)
    }

    fn conventional() -> Self {
        Self {
            before: " ".to_owned(),
            delimiter: '=',
            after: " ".to_owned(),
        }
    }
}

/// An option: its first line and the last line of its value.
struct OptionEntry {
    /// Lower-cased key, as configparser compares keys.
    key: String,
    /// Index of the `key = value` line.
    line: usize,
    /// Index of the last continuation line, or `line` for a one-line value.
    last_line: usize,
    /// Byte offset of the value within the option line's content.
    value_offset: usize,
    separator: Separator,
    /// Whether the value on the option line is non-empty.
    has_inline_value: bool,
}

struct Section {
    name: String,
    header_line: usize,
    options: Vec<OptionEntry>,
}

impl Section {
    fn option(&self, lower_key: &str) -> Option<&OptionEntry> {
        self.options.iter().find(|o| o.key == lower_key)
    }

    /// The most common separator among options with a value, earliest on a tie.
    fn dominant_separator(&self) -> Option<Separator> {
        let mut counts: Vec<(Separator, usize)> = Vec::new();
        for option in self.options.iter().filter(|o| o.has_inline_value) {
            match counts.iter_mut().find(|(s, _)| *s == option.separator) {
                Some((_, count)) => *count += 1,
                None => counts.push((option.separator.clone(), 1)),
            }
        }
        let mut best: Option<(Separator, usize)> = None;
        for (separator, count) in counts {
            if best.as_ref().is_none_or(|(_, c)| count > *c) {
                best = Some((separator, count));
            }
        }
        best.map(|(separator, _)| separator)
    }
}

enum LineKind {
    Blank,
    Comment,
    Other,
}

fn classify(content: &str) -> LineKind {
    let stripped = content.trim();
    if stripped.starts_with(['#', ';']) {
        LineKind::Comment
    } else if stripped.is_empty() {
        LineKind::Blank
    } else {
        LineKind::Other
    }
}

/// Section header name as configparser's `\[(?P<header>.+)\]` matches the stripped line.
fn header_name(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

struct Document<'a> {
    text: &'a str,
    lines: Vec<Line<'a>>,
    sections: Vec<Section>,
}

impl<'a> Document<'a> {
    fn parse(text: &'a str) -> Result<Self, IniError> {
        if text.starts_with('\u{feff}') {
            return Err(IniError::ByteOrderMark);
        }
        let lines = lossless::lines(text);
        let mut sections: Vec<Section> = Vec::new();
        let mut in_option = false;
        let mut indent_level = usize::MAX;
        for (index, line) in lines.iter().enumerate() {
            if !matches!(classify(line.content), LineKind::Other) {
                continue;
            }
            let indent = indent(line).chars().count();
            if in_option && indent > indent_level {
                if let Some(option) = sections.last_mut().and_then(|s| s.options.last_mut()) {
                    option.last_line = index;
                }
                continue;
            }
            indent_level = indent;
            let stripped = line.content.trim();
            if let Some(name) = header_name(stripped) {
                if let Some(earlier) = sections.iter().find(|s| s.name == name) {
                    return Err(IniError::DuplicateSection {
                        section: name.to_owned(),
                        first_line: earlier.header_line + 1,
                        second_line: index + 1,
                    });
                }
                sections.push(Section {
                    name: name.to_owned(),
                    header_line: index,
                    options: Vec::new(),
                });
                in_option = false;
                continue;
            }
            let Some(section) = sections.last_mut() else {
                return Err(IniError::MissingSectionHeader {
                    line: index + 1,
                    text: line.content.to_owned(),
                });
            };
            let option = parse_option(line.content, index)?;
            if let Some(earlier) = section.option(&option.key) {
                return Err(IniError::DuplicateKey {
                    section: section.name.clone(),
                    key: option.key,
                    first_line: earlier.line + 1,
                    second_line: index + 1,
                });
            }
            section.options.push(option);
            in_option = true;
        }
        Ok(Self {
            text,
            lines,
            sections,
        })
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The value as configparser returns it.
    fn value_of(&self, option: &OptionEntry) -> String {
        let first = &self.lines[option.line].content[option.value_offset..];
        let mut parts = vec![first.trim()];
        for line in &self.lines[option.line + 1..=option.last_line] {
            match classify(line.content) {
                LineKind::Comment => {}
                LineKind::Blank => parts.push(""),
                LineKind::Other => parts.push(line.content.trim()),
            }
        }
        parts.join("\n").trim_end().to_owned()
    }

    /// The line ending of new text.
    fn newline(&self) -> &'static str {
        lossless::line_ending(self.text)
    }

    fn replace_value(&self, option: &OptionEntry, value: &str) -> String {
        let line = &self.lines[option.line];
        let newline = self.newline();
        let mut replacement = String::new();
        let needs_space = !option.has_inline_value
            && option.separator.after.is_empty()
            && (option.separator.delimiter == ':' || !option.separator.before.is_empty());
        if needs_space && !value.is_empty() {
            replacement.push(' ');
        }
        let continuation_indent = self.lines[option.line + 1..=option.last_line]
            .iter()
            .find(|l| matches!(classify(l.content), LineKind::Other))
            .map_or_else(
                || format!("{}{CONTINUATION_INDENT}", indent(line)),
                |l| indent(l).to_owned(),
            );
        replacement.push_str(&render_value(value, newline, &continuation_indent));
        let start = line.start + option.value_offset;
        let end = self.lines[option.last_line].content_end();
        lossless::splice(self.text, start..end, &replacement)
    }

    fn insert_option(&self, section: &Section, key: &str, value: &str) -> String {
        let (after_line, indent) = match section.options.last() {
            Some(last) => (last.last_line, indent(&self.lines[last.line]).to_owned()),
            None => (section.header_line, String::new()),
        };
        let separator = section
            .dominant_separator()
            .or_else(|| self.sections.iter().find_map(Section::dominant_separator))
            .unwrap_or_else(Separator::conventional);
        let anchor = &self.lines[after_line];
        let newline = self.newline();
        let continuation_indent = format!("{indent}{CONTINUATION_INDENT}");
        let option_text = format!(
            "{indent}{key}{}{}",
            separator.render(),
            render_value(value, newline, &continuation_indent)
        );
        lossless::apply(
            self.text,
            vec![insert_lines_after(anchor, &option_text, newline)],
        )
    }

    fn append_section(&self, section: &str, key: &str, value: &str) -> String {
        let newline = self.newline();
        let mut block = String::new();
        if self
            .lines
            .last()
            .is_some_and(|last| !matches!(classify(last.content), LineKind::Blank))
        {
            block.push_str(newline);
        }
        let separator = self
            .sections
            .iter()
            .find_map(Section::dominant_separator)
            .unwrap_or_else(Separator::conventional);
        block.push_str(&format!(
            "[{section}]{newline}{key}{}{}",
            separator.render(),
            render_value(value, newline, CONTINUATION_INDENT)
        ));
        lossless::apply(
            self.text,
            vec![insert_lines(self.text, self.text.len(), &block, newline)],
        )
    }
}

/// The value as written after the separator: continuation lines indented, blank lines empty.
fn render_value(value: &str, newline: &str, continuation_indent: &str) -> String {
    let mut out = String::new();
    for (index, part) in value.split('\n').enumerate() {
        if index > 0 {
            out.push_str(newline);
            if !part.is_empty() {
                out.push_str(continuation_indent);
            }
        }
        out.push_str(part);
    }
    out
}

/// Parses `key <sep> value` the way configparser's option regex does on the stripped line.
fn parse_option(content: &str, index: usize) -> Result<OptionEntry, IniError> {
    let Some(delimiter_at) = content.find(['=', ':']) else {
        return Err(IniError::Unparsable {
            line: index + 1,
            text: content.to_owned(),
        });
    };
    let head = &content[..delimiter_at];
    let key_raw = head.trim();
    if key_raw.is_empty() {
        return Err(IniError::EmptyKey {
            line: index + 1,
            text: content.to_owned(),
        });
    }
    let before = &head[head.trim_end().len()..];
    let delimiter = if content.as_bytes()[delimiter_at] == b'=' {
        '='
    } else {
        ':'
    };
    let tail = &content[delimiter_at + 1..];
    let value = tail.trim_start();
    let after = &tail[..tail.len() - value.len()];
    Ok(OptionEntry {
        key: key_raw.to_lowercase(),
        line: index,
        last_line: index,
        value_offset: delimiter_at + 1 + after.len(),
        separator: Separator {
            before: before.to_owned(),
            delimiter,
            after: after.to_owned(),
        },
        has_inline_value: !value.trim().is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn set(text: &str, key: &str, value: &str) -> String {
        set_keys(text, "options", &pairs(&[(key, value)])).unwrap()
    }

    #[test]
    fn replaces_in_place_keeping_each_separator_style() {
        let text = "[options]\n  a = 1\n  b=2\n  c: 3\n  d  =  4\n";
        let out = set_keys(
            text,
            "options",
            &pairs(&[("a", "x"), ("b", "y"), ("c", "z"), ("d", "w")]),
        )
        .unwrap();
        assert_eq!(out, "[options]\n  a = x\n  b=y\n  c: z\n  d  =  w\n");
    }

    #[test]
    fn keeps_comments_blank_lines_and_order() {
        let text = "; head\n[options]\n# c1\na = 1\n\n; c2\nb = 2\n";
        assert_eq!(
            set(text, "b", "3"),
            "; head\n[options]\n# c1\na = 1\n\n; c2\nb = 3\n"
        );
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let text = "[options]\r\na = 1\r\nb = 2\r\n";
        assert_eq!(set(text, "a", "9"), "[options]\r\na = 9\r\nb = 2\r\n");
        assert_eq!(
            set(text, "c", "3"),
            "[options]\r\na = 1\r\nb = 2\r\nc = 3\r\n"
        );
    }

    #[test]
    fn keeps_missing_final_newline() {
        let text = "[options]\na = 1";
        assert_eq!(set(text, "a", "2"), "[options]\na = 2");
        assert_eq!(set(text, "b", "2"), "[options]\na = 1\nb = 2");
    }

    #[test]
    fn adds_after_last_key_of_section_not_after_next_sections_comments() {
        let text = "[options]\na = 1\nb = 2\n\n; about the next section\n[other]\nx = 1\n";
        assert_eq!(
            set(text, "c", "3"),
            "[options]\na = 1\nb = 2\nc = 3\n\n; about the next section\n[other]\nx = 1\n"
        );
    }

    #[test]
    fn adds_with_dominant_separator_of_the_section() {
        let text = "[options]\na=1\nb=2\nc = 3\n";
        assert_eq!(set(text, "d", "4"), "[options]\na=1\nb=2\nc = 3\nd=4\n");
        let colon = "[options]\na: 1\n";
        assert_eq!(set(colon, "b", "2"), "[options]\na: 1\nb: 2\n");
    }

    #[test]
    fn adds_to_empty_section_right_after_header() {
        let text = "[options]\n\n[other]\nx=1\n";
        assert_eq!(set(text, "a", "1"), "[options]\na=1\n\n[other]\nx=1\n");
        let bare = "[options]\n";
        assert_eq!(set(bare, "a", "1"), "[options]\na = 1\n");
    }

    #[test]
    fn commented_out_key_is_kept_and_real_key_added() {
        let text = "[options]\na = 1\n; websocket_url = ws://old\n;websocket_url=ws://old2\n";
        let out = set(text, "websocket_url", "ws://new");
        assert_eq!(
            out,
            "[options]\na = 1\nwebsocket_url = ws://new\n; websocket_url = ws://old\n;websocket_url=ws://old2\n"
        );
        assert_eq!(
            get(&out, "options", "websocket_url").unwrap().as_deref(),
            Some("ws://new")
        );
    }

    #[test]
    fn multi_line_value_is_one_value() {
        let text = "[options]\naddons_path = /a,\n    /b,\n\n    /c\nx = 1\n";
        assert_eq!(
            get(text, "options", "addons_path").unwrap().as_deref(),
            Some("/a,\n/b,\n\n/c")
        );
        assert_eq!(
            set(text, "addons_path", "/z"),
            "[options]\naddons_path = /z\nx = 1\n"
        );
        assert_eq!(
            set(text, "addons_path", "/p,\n/q"),
            "[options]\naddons_path = /p,\n    /q\nx = 1\n"
        );
        assert_eq!(set(text, "addons_path", "/a,\n/b,\n\n/c"), text);
    }

    #[test]
    fn new_key_goes_after_continuation_lines() {
        let text = "[options]\naddons_path = /a,\n    /b\n\n# trailing\n";
        assert_eq!(
            set(text, "proxy_mode", "True"),
            "[options]\naddons_path = /a,\n    /b\nproxy_mode = True\n\n# trailing\n"
        );
    }

    #[test]
    fn single_to_multi_line_uses_option_indent_plus_four() {
        let text = "[options]\na = 1\n";
        assert_eq!(set(text, "a", "x\ny"), "[options]\na = x\n    y\n");
    }

    #[test]
    fn duplicate_key_is_an_error_naming_both_lines() {
        let text = "[options]\ndb_host = a\n; note\nDB_HOST = b\n";
        let err = get(text, "options", "db_host").unwrap_err();
        assert_eq!(
            err,
            IniError::DuplicateKey {
                section: "options".into(),
                key: "db_host".into(),
                first_line: 2,
                second_line: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "section [options] sets `db_host` twice, on line 2 and on line 4 (keys are case-insensitive); configparser rejects duplicate keys: delete one of the two lines"
        );
        assert!(set_keys(text, "options", &pairs(&[("x", "1")])).is_err());
    }

    #[test]
    fn duplicate_section_is_an_error() {
        let text = "[options]\na = 1\n[options]\nb = 2\n";
        assert_eq!(
            get(text, "options", "a").unwrap_err(),
            IniError::DuplicateSection {
                section: "options".into(),
                first_line: 1,
                second_line: 3
            }
        );
    }

    #[test]
    fn missing_section_is_appended_respecting_newline_style() {
        assert_eq!(
            set("[other]\nx = 1\n", "a", "1"),
            "[other]\nx = 1\n\n[options]\na = 1\n"
        );
        assert_eq!(
            set("[other]\r\nx=1\r\n", "a", "1"),
            "[other]\r\nx=1\r\n\r\n[options]\r\na=1\r\n"
        );
        assert_eq!(set("", "a", "1"), "[options]\na = 1\n");
        let two = set_keys("", "options", &pairs(&[("a", "1"), ("b", "2")])).unwrap();
        assert_eq!(two, "[options]\na = 1\nb = 2\n");
    }

    /// Changed by the shared line-ending rule: a new line used to copy the ending of the line it
    /// follows; it now takes the file's majority ending, as every editor does.
    #[test]
    fn new_option_takes_the_majority_ending_not_the_previous_lines() {
        let text = "[options]\r\na = 1\r\nb = 2\n";
        assert_eq!(
            set(text, "c", "3"),
            "[options]\r\na = 1\r\nb = 2\nc = 3\r\n"
        );
        assert_eq!(
            set(text, "b", "x\ny"),
            "[options]\r\na = 1\r\nb = x\r\n    y\n"
        );
    }

    /// Changed by the shared final-newline rule: appending a section to a file without final
    /// newline used to add one; the file now keeps none, as when an option is added.
    #[test]
    fn missing_section_appended_to_a_file_without_final_newline_keeps_none() {
        assert_eq!(
            set("[other]\nx = 1", "a", "1"),
            "[other]\nx = 1\n\n[options]\na = 1"
        );
    }

    #[test]
    fn keys_are_case_insensitive_and_keep_their_spelling() {
        let text = "[options]\nProxy_Mode = False\n";
        assert_eq!(
            set(text, "proxy_mode", "True"),
            "[options]\nProxy_Mode = True\n"
        );
        assert_eq!(
            get(text, "options", "PROXY_MODE").unwrap().as_deref(),
            Some("False")
        );
    }

    #[test]
    fn section_names_are_case_sensitive() {
        let text = "[Options]\na = 1\n";
        assert_eq!(get(text, "options", "a").unwrap(), None);
    }

    #[test]
    fn same_value_returns_identical_text() {
        let text = "[options]\r\na   =   1   \r\n; x\r\nb=2";
        assert_eq!(set(text, "a", "1"), text);
        assert_eq!(set(text, "b", "2"), text);
    }

    #[test]
    fn empty_value_gets_space_matching_its_style() {
        let text = "[options]\ndbfilter =\nlogfile=\npidfile:\n";
        let out = set_keys(
            text,
            "options",
            &pairs(&[("dbfilter", "x"), ("logfile", "y"), ("pidfile", "z")]),
        )
        .unwrap();
        assert_eq!(out, "[options]\ndbfilter = x\nlogfile=y\npidfile: z\n");
        assert_eq!(
            get(text, "options", "dbfilter").unwrap().as_deref(),
            Some("")
        );
    }

    #[test]
    fn empty_value_line_does_not_vote_for_separator() {
        let text = "[options]\ndbfilter =\na=1\n";
        assert_eq!(set(text, "b", "2"), "[options]\ndbfilter =\na=1\nb=2\n");
    }

    #[test]
    fn reading_without_options_section_is_none() {
        assert_eq!(get("[other]\nx = 1\n", "options", "x").unwrap(), None);
        assert_eq!(get("", "options", "x").unwrap(), None);
    }

    #[test]
    fn option_before_any_header_is_an_error() {
        let err = get("admin_passwd = admin\n", "options", "admin_passwd").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`admin_passwd = admin` comes before any [section] header; configparser (and so Odoo) rejects such a file: add a section header such as `[options]` above it"
        );
    }

    #[test]
    fn byte_order_mark_is_an_error() {
        assert_eq!(
            get("\u{feff}[options]\na = 1\n", "options", "a").unwrap_err(),
            IniError::ByteOrderMark
        );
    }

    #[test]
    fn unparsable_and_empty_key_lines_are_errors() {
        assert_eq!(
            get("[options]\njust words\n", "options", "a").unwrap_err(),
            IniError::Unparsable {
                line: 2,
                text: "just words".into()
            }
        );
        assert_eq!(
            get("[options]\n = 1\n", "options", "a").unwrap_err(),
            IniError::EmptyKey {
                line: 2,
                text: " = 1".into()
            }
        );
    }

    #[test]
    fn value_with_inline_semicolon_is_part_of_value() {
        let text = "[options]\na = 1 ; not a comment\n";
        assert_eq!(
            get(text, "options", "a").unwrap().as_deref(),
            Some("1 ; not a comment")
        );
    }

    #[test]
    fn first_delimiter_splits_key_and_value() {
        let text = "[options]\nwebsocket_url = ws://h:8072/websocket\n";
        assert_eq!(
            get(text, "options", "websocket_url").unwrap().as_deref(),
            Some("ws://h:8072/websocket")
        );
    }

    #[test]
    fn default_section_is_a_fallback_for_get() {
        let text = "[DEFAULT]\na = 1\n[options]\nb = 2\n";
        assert_eq!(get(text, "options", "a").unwrap().as_deref(), Some("1"));
    }

    #[test]
    fn indented_line_after_blank_continues_value_like_configparser() {
        let text = "[options]\na = 1\n\n  b = 2\n";
        assert_eq!(
            get(text, "options", "a").unwrap().as_deref(),
            Some("1\n\nb = 2")
        );
        assert_eq!(get(text, "options", "b").unwrap(), None);
    }

    #[test]
    fn comment_inside_multi_line_value_is_skipped_when_reading() {
        let text = "[options]\na = x\n# note\n    y\n";
        assert_eq!(get(text, "options", "a").unwrap().as_deref(), Some("x\ny"));
    }

    #[test]
    fn rejects_unwritable_keys_values_and_sections() {
        for key in ["", " a", "a=b", "a:b", ";a", "#a", "[a", "a\nb"] {
            assert!(
                matches!(
                    set_keys("", "options", &pairs(&[(key, "1")])),
                    Err(IniError::InvalidKey { .. })
                ),
                "{key:?}"
            );
        }
        for value in [" a", "a ", "a\n b", "a\n#b", "a\r"] {
            assert!(
                matches!(
                    set_keys("", "options", &pairs(&[("k", value)])),
                    Err(IniError::UnrepresentableValue { .. })
                ),
                "{value:?}"
            );
        }
        for section in ["", "a]", " a", "a\nb"] {
            assert!(matches!(
                set_keys("", section, &pairs(&[("k", "1")])),
                Err(IniError::InvalidSection { .. })
            ));
        }
    }

    #[test]
    fn setting_twice_is_setting_once() {
        let text = "[options]\r\n; websocket_url = x\r\na=1";
        let request = pairs(&[
            ("proxy_mode", "True"),
            ("websocket_url", "ws://e/websocket"),
        ]);
        let once = set_keys(text, "options", &request).unwrap();
        let twice = set_keys(&once, "options", &request).unwrap();
        assert_eq!(once, twice);
        assert_eq!(
            once,
            "[options]\r\n; websocket_url = x\r\na=1\r\nproxy_mode=True\r\nwebsocket_url=ws://e/websocket"
        );
    }

    #[test]
    fn later_pair_for_same_key_wins() {
        let out = set_keys("[options]\n", "options", &pairs(&[("a", "1"), ("A", "2")])).unwrap();
        assert_eq!(out, "[options]\na = 2\n");
    }
}
