//! Every unknown key of a plan file in one run: serde stops at the first, so the plan is
//! loaded again with each one set aside (a slip replaced by the key it was probably
//! meant to be, any other key on a line of its own commented out), until it loads or a
//! mistake cannot be set aside. The text is changed in memory only; the plan loaded at
//! the end is checked further as usual.

use std::path::Path;

use crate::plan::{self, Plan};

/// At most this many mistakes are set aside in one file.
const MAX_SET_ASIDE: usize = 50;

/// The plan (when it loads once its mistakes are set aside) and every load error found.
pub(super) fn load(path: &Path) -> (Option<Plan>, Vec<String>) {
    let Ok(mut text) = std::fs::read_to_string(path) else {
        return match plan::load(path) {
            Ok(plan) => (Some(plan), Vec::new()),
            Err(e) => (None, vec![e.message]),
        };
    };
    let mut errors = Vec::new();
    for _ in 0..MAX_SET_ASIDE {
        let message = match plan::load::load_text(path, &text) {
            Ok(plan) => return (Some(plan), errors),
            Err(e) => e.message,
        };
        let next = set_aside(path, &text, &message);
        errors.push(message);
        match next {
            Some(changed) => text = changed,
            None => break,
        }
    }
    (None, errors)
}

/// `text` with the unknown key of `message` set aside, when the message is about one in
/// this file and it can be done without changing anything else.
fn set_aside(path: &Path, text: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix(&format!("{}:", path.display()))?;
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next()?.parse().ok()?;
    let col: usize = parts.next()?.parse().ok()?;
    let (key, slip_for) = plan::hints::unknown_key(message)?;
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

    const KEYS: &str = "expected one of id, name, nginx, ini, command, if_changed";

    #[test]
    fn a_slip_is_replaced_and_an_unknown_key_commented_out() {
        let path = Path::new("p.yml");
        let text =
            "steps:\n  - id: a\n    ngnix: {file: /x}\n    notify: x\n    tags:\n      - a\n";
        let fixed = set_aside(
            path,
            text,
            &format!("p.yml:3:5: unknown field `ngnix`, {KEYS}"),
        )
        .expect("set aside");
        assert_eq!(
            fixed,
            "steps:\n  - id: a\n    nginx: {file: /x}\n    notify: x\n    tags:\n      - a\n"
        );
        let fixed = set_aside(
            path,
            &fixed,
            &format!("p.yml:4:5: unknown field `notify`, {KEYS}"),
        )
        .expect("set aside");
        assert!(fixed.contains("\n    # notify: x\n"), "{fixed}");
        // A value that goes on below, or another file's error: left for a human.
        assert_eq!(
            set_aside(
                path,
                &fixed,
                &format!("p.yml:5:5: unknown field `tags`, {KEYS}")
            ),
            None
        );
        assert_eq!(
            set_aside(
                path,
                &fixed,
                &format!("q.yml:4:5: unknown field `notify`, {KEYS}")
            ),
            None
        );
    }
}
