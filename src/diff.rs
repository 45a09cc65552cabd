//! Unified diffs of file contents, optionally with ANSI colours, and line statistics.
//!
//! Lines are split on `\n` only (as `diff` and `patch` do) and compared with their line ending,
//! so a change from LF to CRLF is a change. When old and new text differ in the line endings they
//! use, a carriage return at the end of a shown line is rendered as `^M` so that such a change is
//! visible (not for a new file, which has no old endings). A last line without final newline is followed by `\ No newline at end of file`.
//! Without colour and without line-ending changes the output is accepted by `patch -p1`.

use std::fmt::Write as _;

use similar::{Algorithm, DiffOp, DiffTag, capture_diff_slices, group_diff_ops};

const CONTEXT_LINES: usize = 3;
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";
const NO_NEWLINE: &str = "\\ No newline at end of file";

/// Lines added and removed between two texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStat {
    /// Lines present only in the new text.
    pub added: usize,
    /// Lines present only in the old text.
    pub removed: usize,
}

/// Unified diff (3 lines of context) from `old` to `new` with `--- a/path` / `+++ b/path`
/// headers; empty when the texts are equal. With `color`, removed lines are red, added lines
/// green, hunk headers cyan and file headers bold.
#[must_use]
pub fn unified(path: &str, old: &str, new: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let relative = path.trim_start_matches('/');
    render(
        &format!("a/{relative}"),
        &format!("b/{relative}"),
        old,
        new,
        color,
    )
}

/// Unified diff that creates `path` with content `new` (`--- /dev/null`).
#[must_use]
pub fn new_file(path: &str, new: &str, color: bool) -> String {
    let relative = path.trim_start_matches('/');
    render("/dev/null", &format!("b/{relative}"), "", new, color)
}

/// Colours a diff made without colours (by [`unified`] or [`new_file`]) as they would:
/// for diffs that were changed in between (masked).
#[must_use]
pub fn colorize(plain: &str) -> String {
    let mut out = String::with_capacity(plain.len() + 64);
    let mut header = true;
    for line in plain.lines() {
        let colour = if header && (line.starts_with("--- ") || line.starts_with("+++ ")) {
            BOLD
        } else {
            header = false;
            match line.as_bytes().first() {
                Some(b'@') if line.starts_with("@@") => CYAN,
                Some(b'-') => RED,
                Some(b'+') => GREEN,
                _ => "",
            }
        };
        if colour.is_empty() {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "{colour}{line}{RESET}");
        }
    }
    out
}

/// Counts of added and removed lines from `old` to `new`.
#[must_use]
pub fn stat(old: &str, new: &str) -> DiffStat {
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let mut stat = DiffStat::default();
    for op in capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines) {
        if op.tag() != DiffTag::Equal {
            stat.removed += op.old_range().len();
            stat.added += op.new_range().len();
        }
    }
    stat
}

fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Which line endings a text uses: (has LF-only lines, has CRLF lines).
fn endings(lines: &[&str]) -> (bool, bool) {
    let crlf = lines.iter().any(|l| l.ends_with("\r\n"));
    let lf = lines
        .iter()
        .any(|l| l.ends_with('\n') && !l.ends_with("\r\n"));
    (lf, crlf)
}

struct Style {
    color: bool,
    show_carriage_returns: bool,
}

impl Style {
    /// Writes `text` and a newline, wrapped in `colour` when colours are on and `colour` is set.
    fn paint(&self, out: &mut String, colour: &str, text: &str) {
        if self.color && !colour.is_empty() {
            let _ = writeln!(out, "{colour}{text}{RESET}");
        } else {
            let _ = writeln!(out, "{text}");
        }
    }

    /// One diff line: `sign` then the line without its ending, then the no-newline marker.
    fn line(&self, out: &mut String, sign: char, line: &str, colour: &str) {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let body = match body.strip_suffix('\r') {
            Some(without) if self.show_carriage_returns => format!("{without}^M"),
            _ => body.to_owned(),
        };
        self.paint(out, colour, &format!("{sign}{body}"));
        if !line.ends_with('\n') {
            let _ = writeln!(out, "{NO_NEWLINE}");
        }
    }
}

fn render(old_name: &str, new_name: &str, old: &str, new: &str, color: bool) -> String {
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let style = Style {
        color,
        show_carriage_returns: !old.is_empty() && endings(&old_lines) != endings(&new_lines),
    };
    let mut out = String::new();
    style.paint(&mut out, BOLD, &format!("--- {old_name}"));
    style.paint(&mut out, BOLD, &format!("+++ {new_name}"));
    let ops = capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines);
    for group in group_diff_ops(ops, CONTEXT_LINES) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{} +{} @@",
            hunk_range(old_range.start, old_range.len()),
            hunk_range(new_range.start, new_range.len())
        );
        style.paint(&mut out, CYAN, &header);
        for op in &group {
            render_op(&mut out, &style, op, &old_lines, &new_lines);
        }
    }
    out
}

fn render_op(out: &mut String, style: &Style, op: &DiffOp, old: &[&str], new: &[&str]) {
    match op.tag() {
        DiffTag::Equal => {
            for line in &old[op.old_range()] {
                style.line(out, ' ', line, "");
            }
        }
        DiffTag::Delete | DiffTag::Insert | DiffTag::Replace => {
            for line in &old[op.old_range()] {
                style.line(out, '-', line, RED);
            }
            for line in &new[op.new_range()] {
                style.line(out, '+', line, GREEN);
            }
        }
    }
}

/// `start,len` as GNU diff writes it: 1-based, `,len` left out when it is 1, and the line before
/// the hunk (0 at the top) when the range is empty.
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colorize_matches_a_coloured_diff() {
        let (old, new) = ("a\nb\nc\n", "a\nB\nc\nd");
        assert_eq!(
            colorize(&unified("/x", old, new, false)),
            unified("/x", old, new, true)
        );
        assert_eq!(
            colorize(&new_file("/x", new, false)),
            new_file("/x", new, true)
        );
    }

    #[test]
    fn equal_texts_give_empty_diff() {
        assert_eq!(unified("x", "a\n", "a\n", true), "");
    }

    #[test]
    fn plain_unified_diff_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n";
        assert_eq!(
            unified("/etc/odoo/odoo.conf", old, new, false),
            "--- a/etc/odoo/odoo.conf\n+++ b/etc/odoo/odoo.conf\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn separate_hunks_when_far_apart() {
        let old: String = (1..=20)
            .map(|i| format!("line{i}\n"))
            .collect::<Vec<_>>()
            .concat();
        let new = old
            .replace("line2\n", "two\n")
            .replace("line19\n", "nineteen\n");
        let diff = unified("f", &old, &new, false);
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(diff.contains("@@ -1,5 +1,5 @@\n"), "{diff}");
        assert!(diff.contains("@@ -16,5 +16,5 @@\n"), "{diff}");
    }

    #[test]
    fn colours() {
        let diff = unified("f", "a\nb\n", "a\nc\n", true);
        assert_eq!(
            diff,
            "\x1b[1m--- a/f\x1b[0m\n\x1b[1m+++ b/f\x1b[0m\n\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n a\n\x1b[31m-b\x1b[0m\n\x1b[32m+c\x1b[0m\n"
        );
    }

    #[test]
    fn missing_final_newline_is_marked() {
        assert_eq!(
            unified("f", "a\nb", "a\nb\n", false),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
        assert_eq!(
            unified("f", "a\n", "a\nb", false),
            "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn crlf_change_is_visible() {
        let diff = unified("f", "a\r\nb\r\n", "a\r\nb\n", false);
        assert_eq!(diff, "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a^M\n-b^M\n+b\n");
    }

    #[test]
    fn consistent_crlf_edit_shows_no_markers() {
        let diff = unified("f", "a\r\nb\r\n", "a\r\nc\r\n", false);
        assert_eq!(
            diff,
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"
        );
    }

    #[test]
    fn new_crlf_file_has_no_markers() {
        assert_eq!(
            new_file("f", "a\r\n", false),
            "--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+a\r\n"
        );
    }

    #[test]
    fn line_ending_added_to_last_line_is_visible() {
        assert_eq!(
            unified("f", "a", "a\r\n", false),
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a^M\n"
        );
    }

    #[test]
    fn new_file_diff() {
        assert_eq!(
            new_file("/etc/x.conf", "a\nb", false),
            "--- /dev/null\n+++ b/etc/x.conf\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n"
        );
        assert_eq!(new_file("e", "", false), "--- /dev/null\n+++ b/e\n");
    }

    #[test]
    fn deletion_to_empty() {
        assert_eq!(
            unified("f", "a\n", "", false),
            "--- a/f\n+++ b/f\n@@ -1 +0,0 @@\n-a\n"
        );
    }

    #[test]
    fn stat_counts_lines() {
        assert_eq!(
            stat("a\nb\nc\n", "a\nB\nc\nd\n"),
            DiffStat {
                added: 2,
                removed: 1
            }
        );
        assert_eq!(stat("x", "x"), DiffStat::default());
        assert_eq!(
            stat("a\r\n", "a\n"),
            DiffStat {
                added: 1,
                removed: 1
            }
        );
    }
}
