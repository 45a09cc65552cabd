//! Hints for an unknown key of a plan: the key the operator probably meant (`ngnix` →
//! `nginx`), and, for the words of an Ansible playbook, what wsdeploy does instead.

/// What wsdeploy does instead of an Ansible playbook keyword.
const ANSIBLE_WORDS: &[(&str, &str)] = &[
    (
        "notify",
        "wsdeploy has no handlers: a `command` step with `if_changed: [STEP_ID]` runs when that step changed something",
    ),
    (
        "handlers",
        "wsdeploy has no handlers: a `command` step with `if_changed: [STEP_ID]` runs when that step changed something",
    ),
    (
        "become",
        "become is set per host in the inventory (`ansible_become: true`, `ansible_become_user`), not in the plan",
    ),
    (
        "become_user",
        "become is set per host in the inventory (`ansible_become: true`, `ansible_become_user`), not in the plan",
    ),
    (
        "tags",
        "wsdeploy has no tags: choose hosts with `--limit`, and steps by putting them in a plan file of their own",
    ),
    (
        "loop",
        "wsdeploy has no loops: write one step per item (an `nginx.ensure` may hold several blocks)",
    ),
    (
        "with_items",
        "wsdeploy has no loops: write one step per item (an `nginx.ensure` may hold several blocks)",
    ),
    (
        "register",
        "wsdeploy has no registered results: `unless:` decides whether a command runs, and a play's `facts:` reads values from files on the host",
    ),
    (
        "tasks",
        "a wsdeploy play lists its `steps:` (Ansible's `tasks:`)",
    ),
    (
        "changed_when",
        "a command's `expect_exit:` lists the exit codes that count as success; `unless:` skips it when a check passes",
    ),
    (
        "failed_when",
        "a command's `expect_exit:` lists the exit codes that count as success",
    ),
    (
        "ignore_errors",
        "a `verify` step with `warn_only: true` turns its failure into a warning",
    ),
    (
        "gather_facts",
        "wsdeploy gathers no facts: a play's `facts:` reads the JSON keys it names from files on the host",
    ),
];

/// The YAML reader's words for a wrong type, and what they mean to an operator.
const PLAIN_WORDS: &[(&str, &str)] = &[
    (
        "invalid u8",
        "expected a whole number of 0 or more, such as 30",
    ),
    (
        "invalid u16",
        "expected a whole number of 0 or more, such as 30",
    ),
    (
        "invalid u32",
        "expected a whole number of 0 or more, such as 30",
    ),
    (
        "invalid u64",
        "expected a whole number of 0 or more, such as 30",
    ),
    (
        "invalid usize",
        "expected a whole number of 0 or more, such as 30",
    ),
    ("invalid i32", "expected a whole number, such as 30"),
    ("invalid i64", "expected a whole number, such as 30"),
    ("invalid f64", "expected a number, such as 2.5"),
    ("invalid bool", "expected true or false"),
    (
        "expected sequence start",
        "expected a list: `[a, b]`, or one `- item` per line",
    ),
    (
        "expected mapping start",
        "expected a mapping: `key: value` lines, or `{key: value}`",
    ),
];

/// A YAML load error explained: its message in plain words, the hint for an Ansible
/// keyword, and the unknown key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The reader's type names replaced; for an unknown key, `did you mean` in the first
    /// line.
    pub message: String,
    /// What wsdeploy does instead of the Ansible keyword the unknown key is.
    pub hint: Option<String>,
    pub unknown_key: Option<UnknownKey>,
}

/// The unknown key a load error is about, with the accepted key it is probably a slip
/// for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub key: String,
    pub slip_for: Option<String>,
}

/// `message` (a YAML load error, as the reader says it) explained.
#[must_use]
pub fn explain(message: &str) -> Explained {
    let mut plain = message.to_owned();
    for (jargon, words) in PLAIN_WORDS {
        if plain.contains(jargon) {
            plain = plain.replace(jargon, words);
        }
    }
    let Some((key, expected)) = unknown_field(&plain) else {
        return Explained {
            message: plain,
            hint: None,
            unknown_key: None,
        };
    };
    let close = closest(&key, &expected).map(str::to_owned);
    if let Some(close) = &close {
        let said = format!("unknown field `{key}`");
        plain = plain.replacen(&said, &format!("{said} (did you mean `{close}`?)"), 1);
    }
    let hint = ANSIBLE_WORDS
        .iter()
        .find(|(word, _)| *word == key)
        .map(|(_, what)| format!("`{key}` is an Ansible keyword; {what}"));
    if hint.is_some() {
        plain.truncate(plain.trim_end().len());
    }
    Explained {
        message: plain,
        hint,
        unknown_key: Some(UnknownKey {
            key,
            slip_for: close,
        }),
    }
}

/// `message` (a YAML load error) in plain words: the reader's type names replaced, and
/// for an unknown key `did you mean` in its first line and a `hint:` line for an Ansible
/// keyword.
#[must_use]
pub fn with_hints(message: &str) -> String {
    let explained = explain(message);
    match explained.hint {
        Some(hint) => format!("{}\nhint: {hint}", explained.message),
        None => explained.message,
    }
}

/// The unknown key and the accepted ones, from serde's `unknown field `x`, expected one
/// of a, b, c` (or `expected `a``).
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let first = message.lines().next()?;
    let rest = &first[first.find("unknown field `")? + "unknown field `".len()..];
    let (key, rest) = rest.split_once('`')?;
    let list = rest
        .split_once("expected one of ")
        .or_else(|| rest.split_once("expected "))
        .map_or("", |(_, list)| list);
    let expected = list
        .split(", ")
        .map(|w| w.trim().trim_matches('`').to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    Some((key.to_owned(), expected))
}

/// The name among `names` that `word` is probably a slip for.
#[must_use]
pub fn closest_name(word: &str, names: &[String]) -> Option<String> {
    closest(word, names).map(str::to_owned)
}

/// The accepted key closest to `key`, when it is close enough to be a slip.
fn closest<'a>(key: &str, expected: &'a [String]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| (strsim::damerau_levenshtein(key, e), e))
        .filter(|(distance, e)| *distance <= 2 && *distance < e.len().max(key.len()) / 2 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, e)| e.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = "expected one of id, name, hint, if_changed, when, nginx, ini, json, file, line, requirements, compose_ports, command, unless, expect_exit, timeout, verify, retries, delay, warn_only";

    #[test]
    fn a_slip_gets_did_you_mean() {
        let m = with_hints(&format!("unknown field `ngnix`, {KEYS}\n --> x"));
        assert!(
            m.starts_with("unknown field `ngnix` (did you mean `nginx`?), expected"),
            "{m}"
        );
        let m = with_hints(&format!("unknown field `if_chnged`, {KEYS}"));
        assert!(m.contains("(did you mean `if_changed`?)"), "{m}");
        let m = with_hints(&format!("unknown field `comand`, {KEYS}"));
        assert!(m.contains("(did you mean `command`?)"), "{m}");
    }

    #[test]
    fn a_far_word_gets_no_guess_and_ansible_words_get_a_hint() {
        let m = with_hints(&format!("unknown field `template`, {KEYS}"));
        assert!(!m.contains("did you mean"), "{m}");
        let m = with_hints(&format!("unknown field `notify`, {KEYS}\n  | ^ here"));
        assert!(!m.contains("did you mean"), "{m}");
        assert!(
            m.ends_with("\nhint: `notify` is an Ansible keyword; wsdeploy has no handlers: a `command` step with `if_changed: [STEP_ID]` runs when that step changed something"),
            "{m}"
        );
        assert_eq!(with_hints("other error"), "other error");
    }

    #[test]
    fn the_readers_type_names_become_plain_words() {
        assert_eq!(
            with_hints("invalid u64\n  | ^ invalid u64"),
            "expected a whole number of 0 or more, such as 30\n  | ^ expected a whole number of 0 or more, such as 30"
        );
        assert_eq!(
            with_hints("expected sequence start"),
            "expected a list: `[a, b]`, or one `- item` per line"
        );
    }
}
