//! Line-level editors for plain text files: ensure one line is present exactly once, and ensure
//! a pip requirement in a `requirements.txt`.
//!
//! Both keep every other line byte-identical, keep the file's line endings (CRLF or LF) and keep a
//! missing final newline missing. Applying an edit twice gives the same text as applying it once.

use regex::Regex;

use crate::edit::lossless::{self, Splice};

/// Ensures `line` is present: the first line that `matches` (or that equals `line`) is replaced by
/// `line`, later lines that match are removed, and when nothing matches `line` is appended.
///
/// Lines are compared without their line ending. A line equal to `line` always counts as a match,
/// so the edit is idempotent even when `matches` does not match `line` itself. `line` is one line:
/// a trailing line break is ignored.
#[must_use]
pub fn ensure_line(text: &str, line: &str, matches: Option<&Regex>) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    let is_target =
        |content: &str| content == line || matches.is_some_and(|re| re.is_match(content));
    ensure_with(text, line, |content| {
        is_target(content).then(|| line.to_owned())
    })
}

/// Ensures the pip requirement `requirement` (e.g. `uvicorn[standard]`) is listed once.
///
/// Lines naming the same distribution (PEP 503 normalised: `Uvicorn`, `uvicorn==0.23`,
/// `uvicorn [standard]>=0.2` all name `uvicorn`) are merged into the first of them and the later
/// ones removed. The merged line keeps the existing extras and adds the requested ones; it takes
/// the version specifier and markers of `requirement` when it has any, otherwise it keeps the
/// existing ones (`uvicorn==0.23.2` + `uvicorn[standard]` gives `uvicorn[standard]==0.23.2`). A
/// line that already satisfies the request stays untouched, as does its inline comment. Comments,
/// options (`-r`, `--index-url`, `-e ...`) and other requirements are kept. When no line names the
/// distribution, `requirement` is appended. A `requirement` that is not a plain
/// `name[extras]spec` is handled like [`ensure_line`] without a pattern.
#[must_use]
pub fn ensure_lines_requirements(text: &str, requirement: &str) -> String {
    let requirement = requirement.trim();
    let Some(wanted) = Requirement::parse(requirement) else {
        return ensure_line(text, requirement, None);
    };
    ensure_with(text, requirement, |content| {
        let existing = RequirementLine::parse(content)?;
        (existing.requirement.normalized_name() == wanted.normalized_name())
            .then(|| existing.merged_with(&wanted, content))
    })
}

/// Keeps lines, replacing the first line for which `replacement` gives `Some` with that text and
/// dropping later such lines; appends `appended` when there is none.
fn ensure_with(
    text: &str,
    appended: &str,
    mut replacement: impl FnMut(&str) -> Option<String>,
) -> String {
    let mut splices = Vec::new();
    let mut found = false;
    for line in lossless::lines(text) {
        match replacement(line.content) {
            Some(_) if found => splices.push(Splice::replace(line.start..line.end(), "")),
            Some(new_content) => {
                found = true;
                if new_content != line.content {
                    splices.push(Splice::replace(line.start..line.content_end(), new_content));
                }
            }
            None => {}
        }
    }
    if !found {
        let newline = lossless::line_ending(text);
        splices.push(lossless::insert_lines(text, text.len(), appended, newline));
    }
    // A removed last line must not leave a final newline where the file had none.
    lossless::keep_final_newline(text, lossless::apply(text, splices))
}

/// A PEP 508 requirement split into name, extras and the rest (version specifier, URL, markers).
struct Requirement<'a> {
    name: &'a str,
    extras: Vec<&'a str>,
    /// Everything after name and extras, trimmed: `==0.23`, `>=1 ; python_version<"3.9"`, `@ url`.
    spec: &'a str,
}

impl<'a> Requirement<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim();
        let name_len = text
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .map(|(i, c)| i + c.len_utf8())
            .last()?;
        let name = &text[..name_len];
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
        {
            return None;
        }
        let mut rest = text[name_len..].trim_start();
        let mut extras = Vec::new();
        if let Some(inside) = rest.strip_prefix('[') {
            let close = inside.find(']')?;
            extras = inside[..close]
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .collect();
            rest = inside[close + 1..].trim_start();
        }
        let spec_starts_well =
            rest.is_empty() || rest.starts_with(['<', '>', '=', '!', '~', ';', '@', '(']);
        spec_starts_well.then_some(Self {
            name,
            extras,
            spec: rest.trim_end(),
        })
    }

    /// PEP 503: lower case, runs of `-`, `_`, `.` become one `-`.
    fn normalized_name(&self) -> String {
        normalize(self.name)
    }

    fn compact_spec(&self) -> String {
        self.spec.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn has_extra(&self, extra: &str) -> bool {
        let extra = normalize(extra);
        self.extras.iter().any(|e| normalize(e) == extra)
    }
}

fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// A requirement line of a requirements file: the requirement and what follows it (an inline
/// `# comment` or a `\` continuation marker), kept verbatim.
struct RequirementLine<'a> {
    requirement: Requirement<'a>,
    indent: &'a str,
    tail: &'a str,
}

impl<'a> RequirementLine<'a> {
    fn parse(content: &'a str) -> Option<Self> {
        let body = content.trim_start();
        if body.is_empty() || body.starts_with(['#', '-']) {
            return None;
        }
        let indent = &content[..content.len() - body.len()];
        // pip strips comments introduced by whitespace + `#`; `\` at the end continues the line.
        let mut end = body.len();
        if let Some(found) = body
            .char_indices()
            .find(|&(i, c)| c == '#' && i > 0 && body[..i].ends_with(char::is_whitespace))
        {
            end = found.0;
        }
        let mut head = &body[..end];
        if let Some(without) = head.trim_end().strip_suffix('\\') {
            head = without;
        }
        let head = head.trim_end();
        let tail = &body[head.len()..];
        Some(Self {
            requirement: Requirement::parse(head)?,
            indent,
            tail,
        })
    }

    /// The line that satisfies `wanted`: the original `content` when it already does.
    fn merged_with(&self, wanted: &Requirement<'_>, content: &str) -> String {
        let existing = &self.requirement;
        let has_extras = wanted.extras.iter().all(|e| existing.has_extra(e));
        let has_spec = wanted.spec.is_empty() || wanted.compact_spec() == existing.compact_spec();
        if has_extras && has_spec {
            return content.to_owned();
        }
        let mut extras: Vec<&str> = existing.extras.clone();
        for extra in &wanted.extras {
            if !existing.has_extra(extra) {
                extras.push(extra);
            }
        }
        let spec = if wanted.spec.is_empty() {
            existing.spec
        } else {
            wanted.spec
        };
        let mut line = format!("{}{}", self.indent, wanted.name);
        if !extras.is_empty() {
            line.push('[');
            line.push_str(&extras.join(","));
            line.push(']');
        }
        if spec.starts_with([';', '@']) {
            line.push(' ');
        }
        line.push_str(spec);
        line.push_str(self.tail);
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_when_absent() {
        assert_eq!(ensure_line("a\nb\n", "c", None), "a\nb\nc\n");
        assert_eq!(ensure_line("", "c", None), "c\n");
    }

    #[test]
    fn appends_after_missing_final_newline_keeping_it_missing() {
        assert_eq!(ensure_line("a\nb", "c", None), "a\nb\nc");
    }

    #[test]
    fn appends_with_crlf() {
        assert_eq!(ensure_line("a\r\nb\r\n", "c", None), "a\r\nb\r\nc\r\n");
        assert_eq!(ensure_line("a\r\nb", "c", None), "a\r\nb\r\nc");
    }

    #[test]
    fn present_line_is_unchanged() {
        let text = "a\r\nc\r\nb";
        assert_eq!(ensure_line(text, "c", None), text);
    }

    #[test]
    fn replaces_first_match_and_removes_later_ones() {
        let re = Regex::new(r"^\s*PermitRootLogin\b").unwrap();
        let text = "x\nPermitRootLogin yes\ny\n  PermitRootLogin maybe\nz\n";
        assert_eq!(
            ensure_line(text, "PermitRootLogin no", Some(&re)),
            "x\nPermitRootLogin no\ny\nz\n"
        );
    }

    #[test]
    fn removing_last_line_keeps_final_newline_missing() {
        let re = Regex::new("^k=").unwrap();
        assert_eq!(ensure_line("k=1\r\na\r\nk=2", "k=3", Some(&re)), "k=3\r\na");
    }

    /// Changed by the shared final-newline rule: removing the last line of a CRLF file without
    /// final newline used to leave a `\r\n` at the end (an LF file lost it); both now keep none.
    #[test]
    fn removing_last_line_after_blank_crlf_lines_keeps_final_newline_missing() {
        let re = Regex::new("^k=").unwrap();
        assert_eq!(ensure_line("k=1\r\n\r\nk=2", "k=3", Some(&re)), "k=3");
        assert_eq!(ensure_line("k=1\n\nk=2", "k=3", Some(&re)), "k=3");
    }

    /// Unchanged: new lines take the majority ending, LF on a tie.
    #[test]
    fn appended_line_takes_the_majority_ending() {
        assert_eq!(ensure_line("a\r\nb\n", "c", None), "a\r\nb\nc\n");
        assert_eq!(
            ensure_line("a\r\nb\r\nd\n", "c", None),
            "a\r\nb\r\nd\nc\r\n"
        );
    }

    #[test]
    fn replacement_keeps_the_line_ending() {
        let re = Regex::new("^k=").unwrap();
        assert_eq!(
            ensure_line("a\r\nk=1\r\n", "k=3", Some(&re)),
            "a\r\nk=3\r\n"
        );
    }

    #[test]
    fn equal_line_counts_as_match_so_twice_is_once() {
        let re = Regex::new("^never$").unwrap();
        let once = ensure_line("a\n", "b", Some(&re));
        assert_eq!(once, "a\nb\n");
        assert_eq!(ensure_line(&once, "b", Some(&re)), once);
    }

    #[test]
    fn requirement_adds_extras_keeping_pin() {
        assert_eq!(
            ensure_lines_requirements("fastapi\nuvicorn==0.23.2\n", "uvicorn[standard]"),
            "fastapi\nuvicorn[standard]==0.23.2\n"
        );
    }

    #[test]
    fn requirement_replaces_bare_and_spaced_forms() {
        assert_eq!(
            ensure_lines_requirements("uvicorn\n", "uvicorn[standard]"),
            "uvicorn[standard]\n"
        );
        assert_eq!(
            ensure_lines_requirements("Uvicorn [standard]>=0.2\n", "uvicorn[standard]"),
            "Uvicorn [standard]>=0.2\n"
        );
        assert_eq!(
            ensure_lines_requirements("uvicorn [foo] >=0.2\n", "uvicorn[standard]"),
            "uvicorn[foo,standard]>=0.2\n"
        );
    }

    #[test]
    fn requirement_with_spec_wins() {
        assert_eq!(
            ensure_lines_requirements("uvicorn==0.1  # old pin\n", "uvicorn[standard]>=0.30"),
            "uvicorn[standard]>=0.30  # old pin\n"
        );
    }

    #[test]
    fn requirement_name_is_pep503_normalised() {
        assert_eq!(
            ensure_lines_requirements("Foo.Bar_baz==1\n", "foo-bar-baz[x]"),
            "foo-bar-baz[x]==1\n"
        );
    }

    #[test]
    fn requirement_never_duplicates_and_keeps_comments() {
        let text = "# web\nuvicorn==0.23\nhttpx\nuvicorn\n-r base.txt\n";
        assert_eq!(
            ensure_lines_requirements(text, "uvicorn[standard]"),
            "# web\nuvicorn[standard]==0.23\nhttpx\n-r base.txt\n"
        );
    }

    #[test]
    fn requirement_prefix_names_are_different_distributions() {
        assert_eq!(
            ensure_lines_requirements("uvicorn-worker\n", "uvicorn"),
            "uvicorn-worker\nuvicorn\n"
        );
    }

    #[test]
    fn requirement_appended_and_idempotent() {
        let once = ensure_lines_requirements("fastapi\r\nhttpx", "uvicorn[standard]");
        assert_eq!(once, "fastapi\r\nhttpx\r\nuvicorn[standard]");
        assert_eq!(ensure_lines_requirements(&once, "uvicorn[standard]"), once);
        let merged = ensure_lines_requirements("uvicorn==0.2\n", "uvicorn[standard]");
        assert_eq!(
            ensure_lines_requirements(&merged, "uvicorn[standard]"),
            merged
        );
    }

    #[test]
    fn requirement_keeps_hash_continuation() {
        let text = "uvicorn==0.23 \\\n    --hash=sha256:abc\n";
        assert_eq!(
            ensure_lines_requirements(text, "uvicorn[standard]"),
            "uvicorn[standard]==0.23 \\\n    --hash=sha256:abc\n"
        );
    }

    #[test]
    fn requirement_markers_are_kept() {
        assert_eq!(
            ensure_lines_requirements("uvloop ; sys_platform != 'win32'\n", "uvloop[x]"),
            "uvloop[x] ; sys_platform != 'win32'\n"
        );
    }

    #[test]
    fn unparsable_requirement_is_a_plain_line() {
        assert_eq!(
            ensure_lines_requirements("a\n", "git+https://x/y.git#egg=y"),
            "a\ngit+https://x/y.git#egg=y\n"
        );
    }
}
