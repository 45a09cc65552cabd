//! Plain-text helpers on byte offsets: line/column positions and indentation (line boundaries and line
//! endings are [`crate::edit::lossless`]'s).

use crate::edit::lossless::{line_content_end, line_start};

/// A 1-based line and character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// The line and column of byte `offset` in `text` (offsets past the end clamp to the end).
pub fn position(text: &str, offset: usize) -> Position {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before[line_start(text, offset)..].chars().count() + 1;
    Position { line, column }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The spaces and tabs at the start of the line holding `offset`.
pub fn line_indent(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let rest = &text[start..];
    let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..width]
}

/// True when only spaces and tabs stand between the line start and `offset`.
pub fn starts_its_line(text: &str, offset: usize) -> bool {
    text[line_start(text, offset)..offset]
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
}

/// True when the line holding `offset` is empty or only spaces/tabs.
pub fn is_blank_line(text: &str, offset: usize) -> bool {
    let start = line_start(text, offset);
    let end = line_content_end(text, start);
    text[start..end].trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\ncé d";
        assert_eq!(position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(position(text, 3), Position { line: 2, column: 1 });
        let d = text.find('d').unwrap();
        assert_eq!(position(text, d), Position { line: 2, column: 4 });
    }

    #[test]
    fn indentation_helpers_handle_crlf_and_missing_final_newline() {
        let text = "a {\r\n\tb;\r\n}";
        let b = text.find('b').unwrap();
        assert_eq!(line_indent(text, b), "\t");
        assert!(starts_its_line(text, b));
        assert!(!is_blank_line(text, b));
    }
}
