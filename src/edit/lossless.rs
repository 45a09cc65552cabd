//! Lossless text, shared by every editor: lines that keep their line endings, the one rule for
//! the line ending of new text, final-newline handling, and splices that replace byte ranges or
//! insert whole lines while every other byte stays as it was.
//!
//! The line-ending rule: new text uses CRLF when most existing line breaks are CRLF, and LF
//! otherwise (a tie, or a file without any line break, gives LF: these files live on Linux hosts,
//! where LF is native). A line that already exists keeps its own ending, whatever the majority.
//!
//! The final-newline rule: a non-empty file without a final newline keeps none; a file with one
//! keeps it.

use std::ops::Range;

/// One line of a text: where it starts, its content and its line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Byte offset of the line's first character in the text.
    pub start: usize,
    /// The line without its line break.
    pub content: &'a str,
    /// `"\r\n"`, `"\n"`, or `""` for a last line without final newline.
    pub ending: &'a str,
}

impl Line<'_> {
    /// Byte offset just past the content (where the line break starts).
    #[must_use]
    pub fn content_end(&self) -> usize {
        self.start + self.content.len()
    }

    /// Byte offset just past the line break (the next line's start, or the end of the text).
    #[must_use]
    pub fn end(&self) -> usize {
        self.content_end() + self.ending.len()
    }
}

/// The lines of `text`, each with its own ending; an empty text has no lines.
#[must_use]
pub fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let content = piece.strip_suffix('\n').unwrap_or(piece);
        let content = content.strip_suffix('\r').unwrap_or(content);
        out.push(Line {
            start,
            content,
            ending: &piece[content.len()..],
        });
        start += piece.len();
    }
    out
}

/// The line ending for new text in `text`: `"\r\n"` when most line breaks are CRLF, else `"\n"`.
#[must_use]
pub fn line_ending(text: &str) -> &'static str {
    let crlf = text.matches("\r\n").count();
    let lf = text.bytes().filter(|&b| b == b'\n').count() - crlf;
    if crlf > lf { "\r\n" } else { "\n" }
}

/// `copied` (text taken from the file to be written again) with each of its line breaks made
/// `newline`: copied text is new text, so it follows the rule for new text.
#[must_use]
pub fn with_line_ending(copied: &str, newline: &str) -> String {
    copied.replace("\r\n", "\n").replace('\n', newline)
}

/// Whether `text` is empty or ends with a line break (so that a new line can simply be appended).
#[must_use]
pub fn ends_open(text: &str) -> bool {
    text.is_empty() || text.ends_with('\n')
}

/// `edited` with the final-newline state of `original`: when `original` is non-empty and has no
/// final newline, the line breaks at the end of `edited` are removed (an edit that dropped the last
/// line must not leave a final newline the file never had).
#[must_use]
pub fn keep_final_newline(original: &str, mut edited: String) -> String {
    if ends_open(original) {
        return edited;
    }
    let kept = edited.trim_end_matches(['\r', '\n']).len();
    let mut end = edited.len();
    // Only whole line breaks go: a `\r` that is not part of a `\r\n` is content.
    while end > kept {
        if edited[..end].ends_with("\r\n") {
            end -= 2;
        } else if edited[..end].ends_with('\n') {
            end -= 1;
        } else {
            break;
        }
    }
    edited.truncate(end);
    edited
}

/// Offset of the first byte of the line holding `offset`.
#[must_use]
pub fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just past the line break of the line holding `offset` (or the end of the text).
#[must_use]
pub fn next_line_start(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// Offset of the line break (`\r\n` or `\n`) of the line holding `offset`, or the end of the text.
#[must_use]
pub fn line_content_end(text: &str, offset: usize) -> usize {
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    if end > offset && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// A replacement of the bytes `range` of a text by `with` (an insertion when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// The bytes replaced.
    pub range: Range<usize>,
    /// What they are replaced by.
    pub with: String,
}

impl Splice {
    /// Replaces `range` by `with`.
    #[must_use]
    pub fn replace(range: Range<usize>, with: impl Into<String>) -> Self {
        Self {
            range,
            with: with.into(),
        }
    }

    /// Inserts `with` at `at`.
    #[must_use]
    pub fn insert(at: usize, with: impl Into<String>) -> Self {
        Self::replace(at..at, with)
    }
}

/// `text` with `range` replaced by `with`.
#[must_use]
pub fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    apply(text, vec![Splice::replace(range, with)])
}

/// `text` with every splice applied. The splices must not overlap; they may come in any order,
/// and insertions at the same offset come out in the order given (before a replacement starting
/// there).
#[must_use]
pub fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out =
        String::with_capacity(text.len() + splices.iter().map(|s| s.with.len()).sum::<usize>());
    let mut at = 0;
    for splice in splices {
        debug_assert!(splice.range.start >= at, "overlapping splices");
        let start = splice.range.start.max(at);
        out.push_str(&text[at..start]);
        out.push_str(&splice.with);
        at = splice.range.end.max(start);
    }
    out.push_str(&text[at..]);
    out
}

/// Inserts `block` (one or more lines joined by `newline`, without a final line break) as whole
/// lines at `at`, which is a line start or the end of `text`. At the end of a text without final
/// newline the block goes after a new line break and the text still ends without one; elsewhere
/// the block gets its own line break.
#[must_use]
pub fn insert_lines(text: &str, at: usize, block: &str, newline: &str) -> Splice {
    if at == text.len() && !ends_open(text) {
        Splice::insert(at, format!("{newline}{block}"))
    } else {
        Splice::insert(at, format!("{block}{newline}"))
    }
}

/// Inserts `block` as whole lines right after `line` (see [`insert_lines`]): after a last line
/// without final newline, the block goes after a new line break and keeps none itself.
#[must_use]
pub fn insert_lines_after(line: &Line<'_>, block: &str, newline: &str) -> Splice {
    if line.ending.is_empty() {
        Splice::insert(line.end(), format!("{newline}{block}"))
    } else {
        Splice::insert(line.end(), format!("{block}{newline}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_endings() {
        let text = "a\r\nb\n\nc";
        let got: Vec<(usize, &str, &str)> = lines(text)
            .iter()
            .map(|l| (l.start, l.content, l.ending))
            .collect();
        assert_eq!(
            got,
            [
                (0, "a", "\r\n"),
                (3, "b", "\n"),
                (5, "", "\n"),
                (6, "c", "")
            ]
        );
        assert!(lines("").is_empty());
        assert_eq!(lines(text)[1].end(), 5);
    }

    #[test]
    fn new_text_takes_the_majority_ending_and_ties_give_lf() {
        assert_eq!(line_ending("a\r\nb\r\nc\n"), "\r\n");
        assert_eq!(line_ending("a\r\nb\nc\n"), "\n");
        assert_eq!(line_ending("a\r\nb\n"), "\n");
        assert_eq!(line_ending("a\r\n"), "\r\n");
        assert_eq!(line_ending("no break"), "\n");
        assert_eq!(line_ending(""), "\n");
    }

    #[test]
    fn copied_text_takes_the_new_line_ending() {
        assert_eq!(with_line_ending(",\r\n\n  ", "\n"), ",\n\n  ");
        assert_eq!(with_line_ending(",\r\n\n  ", "\r\n"), ",\r\n\r\n  ");
        assert_eq!(with_line_ending("a\rb", "\r\n"), "a\rb");
    }

    #[test]
    fn missing_final_newline_stays_missing() {
        assert_eq!(keep_final_newline("a", "b\r\n\r\n".into()), "b");
        assert_eq!(keep_final_newline("a", "b\r\r\n".into()), "b\r");
        assert_eq!(keep_final_newline("a\n", "b\n".into()), "b\n");
        assert_eq!(keep_final_newline("", "b\n".into()), "b\n");
    }

    #[test]
    fn line_offsets_handle_crlf_and_missing_final_newline() {
        let text = "a {\r\n\tb;\r\n}";
        let b = text.find('b').unwrap();
        assert_eq!(line_start(text, b), 5);
        assert_eq!(line_content_end(text, b), b + 2);
        assert_eq!(next_line_start(text, b), text.len() - 1);
        assert_eq!(next_line_start(text, text.len() - 1), text.len());
    }

    #[test]
    fn splices_apply_in_any_order_without_touching_other_bytes() {
        let text = "0123456789";
        let out = apply(
            text,
            vec![
                Splice::replace(7..9, "x"),
                Splice::insert(0, "<"),
                Splice::insert(3, "a"),
                Splice::insert(3, "b"),
                Splice::replace(3..4, "C"),
            ],
        );
        assert_eq!(out, "<012abC456x9");
        assert_eq!(splice(text, 2..8, ""), "0189");
    }

    #[test]
    fn inserted_lines_keep_the_final_newline_state() {
        let open = "a\r\nb\r\n";
        assert_eq!(
            apply(open, vec![insert_lines(open, 3, "x\r\ny", "\r\n")]),
            "a\r\nx\r\ny\r\nb\r\n"
        );
        assert_eq!(
            apply(open, vec![insert_lines(open, open.len(), "x", "\r\n")]),
            "a\r\nb\r\nx\r\n"
        );
        let closed = "a\nb";
        assert_eq!(
            apply(closed, vec![insert_lines(closed, closed.len(), "x", "\n")]),
            "a\nb\nx"
        );
        assert_eq!(apply("", vec![insert_lines("", 0, "x", "\n")]), "x\n");
        let last = lines(closed)[1];
        assert_eq!(
            apply(closed, vec![insert_lines_after(&last, "x", "\n")]),
            "a\nb\nx"
        );
        let first = lines(closed)[0];
        assert_eq!(
            apply(closed, vec![insert_lines_after(&first, "x", "\n")]),
            "a\nx\nb"
        );
    }
}
