//! Every unknown key of a plan file in one run: serde stops at the first, so the plan is
//! loaded again with each one set aside (a slip replaced by the key it was probably
//! meant to be, any other key on a line of its own commented out), until it loads or a
//! mistake cannot be set aside. The text is changed in memory only; the plan loaded at
//! the end is checked further as usual.

use std::path::Path;

use crate::plan::{self, Plan, PlanError};

/// At most this many mistakes are set aside in one file.
const MAX_SET_ASIDE: usize = 50;

/// The plan (when it loads once its mistakes are set aside) and every load error found.
pub(super) fn load(path: &Path) -> (Option<Plan>, Vec<PlanError>) {
    let Ok(mut text) = std::fs::read_to_string(path) else {
        return match plan::load(path) {
            Ok(plan) => (Some(plan), Vec::new()),
            Err(e) => (None, vec![e]),
        };
    };
    let mut errors = Vec::new();
    for _ in 0..MAX_SET_ASIDE {
        let error = match plan::load::load_text(path, &text) {
            Ok(plan) => return (Some(plan), errors),
            Err(e) => e,
        };
        let next = set_aside(path, &text, &error);
        errors.push(error);
        match next {
            Some(changed) => text = changed,
            None => break,
        }
    }
    (None, errors)
}

/// `text` with the unknown key of `error` set aside, when the error is about one in
/// this file and it can be done without changing anything else.
fn set_aside(path: &Path, text: &str, error: &PlanError) -> Option<String> {
    let location = error.location.as_ref()?;
    if location.file != path.display().to_string() {
        return None;
    }
    let line = usize::try_from(location.line?).ok()?;
    let col = usize::try_from(location.column?).ok()?;
    let plan::hints::UnknownKey { key, slip_for } = error.unknown_key.as_deref()?.clone();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let index = line.checked_sub(1)?;
    let chars: Vec<char> = lines.get(index)?.chars().collect();
    let start = col.checked_sub(1)?;
    let key_chars: Vec<char> = key.chars().collect();
    if !chars.get(start..)?.starts_with(&key_chars) {
        return None;
    }
    let before: String = chars[..start].iter().collect();
    let after: String = chars[start + key_chars.len()..].iter().collect();
    let replaced = match slip_for {
        Some(meant) => format!("{before}{meant}{after}"),
        // A key alone on its line whose value is on that line too.
        None if before.chars().all(|c| c == ' ')
            && !after.trim_start_matches(':').trim().is_empty()
            && !continues_below(&lines[index + 1..], start) =>
        {
            format!("{before}# {key}{after}")
        }
        None => return None,
    };
    lines[index] = replaced;
    Some(lines.concat())
}

/// Whether the next non-blank line is indented deeper than `indent` (the value goes on).
fn continues_below(below: &[String], indent: usize) -> bool {
    below
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.chars().take_while(|c| *c == ' ').count() > indent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(file: &str, line: u64, column: u64, key: &str) -> PlanError {
        let explained = plan::hints::explain(&format!("unknown field `{key}`, {KEYS}"));
        PlanError {
            location: Some(crate::location::Location::at(file, line, column)),
            message: explained.message,
            hints: explained.hint.into_iter().collect(),
            unknown_key: explained.unknown_key.map(Box::new),
        }
    }

    const KEYS: &str = "expected one of id, name, nginx, ini, command, if_changed";

    #[test]
    fn a_slip_is_replaced_and_an_unknown_key_commented_out() {
        let path = Path::new("p.yml");
        let text =
            "steps:\n  - id: a\n    ngnix: {file: /x}\n    notify: x\n    tags:\n      - a\n";
        let fixed = set_aside(path, text, &unknown("p.yml", 3, 5, "ngnix")).expect("set aside");
        assert_eq!(
            fixed,
            "steps:\n  - id: a\n    nginx: {file: /x}\n    notify: x\n    tags:\n      - a\n"
        );
        let fixed = set_aside(path, &fixed, &unknown("p.yml", 4, 5, "notify")).expect("set aside");
        assert!(fixed.contains("\n    # notify: x\n"), "{fixed}");
        // A value that goes on below, or another file's error: left for a human.
        assert_eq!(
            set_aside(path, &fixed, &unknown("p.yml", 5, 5, "tags")),
            None
        );
        assert_eq!(
            set_aside(path, &fixed, &unknown("q.yml", 4, 5, "notify")),
            None
        );
    }
}
