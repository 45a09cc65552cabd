//! Reading Ansible's INI inventory format into an [`InventoryDraft`], as Ansible's `ini`
//! inventory plugin reads it:
//!
//! ```ini
//! # comments start with # or ;
//! bastion.example.com            # before any section: group `ungrouped`
//!
//! [web]
//! web[01:03].example.com http_port=8080 motd='hello world'
//! db-[a:c]:2222 ansible_user=deploy
//!
//! [web:vars]
//! ntp_server = ntp.example.com
//!
//! [prod:children]
//! web
//! ```
//!
//! Host lines are split like a shell (quotes, backslashes, `#` comments); every `key=value`,
//! inline or under `[group:vars]` (where the value is the rest of the line), is read as a
//! Python literal and keeps its text when it is not one (see `py_literal.rs`). A group is
//! declared by `[group]` or `[group:children]`; `[group:vars]` and `children` entries may
//! name a group declared further down, and it is an error if none is.

use std::collections::HashMap;

use serde_json::Value;

use super::error::InventoryError;
use super::host_name::parse_host_entry;
use super::hosts_file::{GROUP_PRIORITY_VAR, InventoryDraft, UNGROUPED_GROUP};
use super::py_literal::parse_python_literal;
use crate::location::Location;

/// What the lines of the current section hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// A group named before it is declared, waiting for `[group]` or `[group:children]`.
struct Pending {
    line: usize,
    column: usize,
    state: State,
    parents: Vec<String>,
}

/// An INI text and the name it is reported under.
pub(crate) struct IniSource<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
}

impl IniSource<'_> {
    fn error(&self, line: usize, column: usize, message: impl Into<String>) -> InventoryError {
        let snippet = self
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|text| {
                let text = text.trim_end_matches('\r');
                let gutter = line.to_string();
                let pad = " ".repeat(gutter.len());
                let caret: String = text
                    .chars()
                    .take(column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                format!("\n {gutter} | {text}\n {pad} | {caret}^")
            })
            .unwrap_or_default();
        InventoryError::Ini {
            location: Location::at(self.name, line as u64, column as u64),
            message: message.into(),
            snippet,
        }
    }
}

/// Reads an INI inventory into `draft` (which may already hold other sources).
pub(crate) fn read_ini_into(
    source: &IniSource<'_>,
    draft: &mut InventoryDraft,
) -> Result<(), InventoryError> {
    let mut group = UNGROUPED_GROUP.to_owned();
    let mut state = State::Hosts;
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut pending_order: Vec<String> = Vec::new();
    for (index, raw_line) in source.text.lines().enumerate() {
        let number = index + 1;
        let indent = raw_line.chars().take_while(|c| c.is_whitespace()).count();
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let column = indent + 1;
        if let Some((name, tag)) = section_header(line) {
            state = section_state(source, name, tag, number, column)?;
            name.clone_into(&mut group);
            if draft.group_position(&group).is_none() {
                if state == State::Vars && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            line: number,
                            column,
                            state,
                            parents: Vec::new(),
                        },
                    );
                    pending_order.push(group.clone());
                }
                draft.group(&group);
            }
            if state != State::Vars
                && let Some(declared) = pending.get(&group)
            {
                if declared.state == State::Children {
                    add_pending_children(draft, &group, &mut pending);
                } else {
                    pending.remove(&group);
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(source.error(
                number,
                column,
                format!(
                    "invalid section `{line}`: a section is [group], [group:vars] or [group:children], with no spaces in the name"
                ),
            ));
        }
        match state {
            State::Hosts => read_host_line(source, draft, &group, line, number, column)?,
            State::Vars => read_var_line(source, draft, &group, line, number, column)?,
            State::Children => {
                let child = group_name_line(line).ok_or_else(|| {
                    source.error(
                        number,
                        column,
                        format!("expected a group name in [{group}:children], got `{line}`"),
                    )
                })?;
                if child == super::hosts_file::ALL_GROUP {
                    return Err(source.error(
                        number,
                        column,
                        format!(
                            "group `all` contains every host and cannot be a child of `{group}`"
                        ),
                    ));
                }
                if draft.group_position(child).is_some() {
                    draft.add_child(&group, child);
                } else if let Some(waiting) = pending.get_mut(child) {
                    waiting.parents.push(group.clone());
                } else {
                    pending.insert(
                        child.to_owned(),
                        Pending {
                            line: number,
                            column,
                            state: State::Children,
                            parents: vec![group.clone()],
                        },
                    );
                    pending_order.push(child.to_owned());
                }
            }
        }
    }
    undeclared(source, &pending, pending_order)
}

/// The kind of section a `[name:tag]` header opens.
fn section_state(
    source: &IniSource<'_>,
    name: &str,
    tag: Option<&str>,
    number: usize,
    column: usize,
) -> Result<State, InventoryError> {
    match tag {
        None | Some("hosts") => Ok(State::Hosts),
        Some("vars") => Ok(State::Vars),
        Some("children") => Ok(State::Children),
        Some(other) => Err(source.error(
            number,
            column,
            format!(
                "section [{name}:{other}] has unknown type `{other}`; a section is [group], [group:vars] or [group:children]"
            ),
        )),
    }
}

/// A `key=value` line of a `[group:vars]` section.
fn read_var_line(
    source: &IniSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    line: &str,
    number: usize,
    column: usize,
) -> Result<(), InventoryError> {
    let Some((key, value)) = line.split_once('=') else {
        return Err(source.error(
            number,
            column,
            format!("expected `key=value` in [{group}:vars], got `{line}`"),
        ));
    };
    set_group_var(
        source,
        draft,
        group,
        key.trim(),
        value.trim(),
        number,
        column,
    )
}

/// The first group that a `[g:vars]` or `[p:children]` section named and nothing declared.
fn undeclared(
    source: &IniSource<'_>,
    pending: &HashMap<String, Pending>,
    pending_order: Vec<String>,
) -> Result<(), InventoryError> {
    for name in pending_order {
        let Some(waiting) = pending.get(&name) else {
            continue;
        };
        let message = if waiting.state == State::Vars {
            format!(
                "section [{name}:vars] is for group `{name}`, which is not declared; add a [{name}] or [{name}:children] section"
            )
        } else {
            let parent = waiting.parents.last().map_or("", String::as_str);
            format!(
                "section [{parent}:children] names group `{name}`, which is not declared; add a [{name}] or [{name}:children] section"
            )
        };
        return Err(source.error(waiting.line, waiting.column, message));
    }
    Ok(())
}

fn add_pending_children(
    draft: &mut InventoryDraft,
    group: &str,
    pending: &mut HashMap<String, Pending>,
) {
    let Some(declared) = pending.remove(group) else {
        return;
    };
    for parent in &declared.parents {
        draft.add_child(parent, group);
        if pending
            .get(parent)
            .is_some_and(|waiting| waiting.state == State::Children)
        {
            add_pending_children(draft, parent, pending);
        }
    }
}

/// `[name]` or `[name:tag]`, optionally followed by a `#` comment.
fn section_header(line: &str) -> Option<(&str, Option<&str>)> {
    let inner_end = line.find(']')?;
    let rest = line[inner_end + 1..].trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let inner = line.strip_prefix('[')?.get(..inner_end - 1)?;
    let (name, tag) = match inner.split_once(':') {
        Some((name, tag)) => (name, Some(tag)),
        None => (inner, None),
    };
    let name_ok = !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == ']');
    let tag_ok = tag
        .is_none_or(|tag| !tag.is_empty() && tag.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && tag_ok).then_some((name, tag))
}

/// A group name alone on a line (a `children` entry), optionally followed by a comment.
fn group_name_line(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let valid = !name.is_empty() && !name.contains([':', ']']);
    (valid && (rest.is_empty() || rest.starts_with('#'))).then_some(name)
}

fn read_host_line(
    source: &IniSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    line: &str,
    number: usize,
    column: usize,
) -> Result<(), InventoryError> {
    let words = split_words(line).map_err(|(offset, problem)| {
        source.error(
            number,
            column + offset,
            format!("cannot read the host line `{line}`: {problem}"),
        )
    })?;
    let Some(((pattern, pattern_offset), assignments)) = words.split_first() else {
        return Ok(());
    };
    if pattern.trim().ends_with(':') {
        return Err(source.error(
            number,
            column + pattern_offset,
            format!("`{pattern}`: a host name cannot end in `:` (`:` introduces a port)"),
        ));
    }
    if pattern == "---" {
        return Err(source.error(
            number,
            column + pattern_offset,
            "`---` starts a YAML document: this file looks like YAML, not INI; check its indentation and syntax",
        ));
    }
    let entry = parse_host_entry(pattern)
        .map_err(|problem| source.error(number, column + pattern_offset, problem))?;
    let mut vars = Vec::new();
    for (word, offset) in assignments {
        let Some((key, value)) = word.split_once('=') else {
            return Err(source.error(
                number,
                column + offset,
                format!(
                    "expected `key=value` after the host name, got `{word}` (quote values that hold spaces: key='a b')"
                ),
            ));
        };
        vars.push((key.to_owned(), ini_value(value)));
    }
    draft.add_entry(group, &entry, vars.iter().map(|(k, v)| (k, v)));
    Ok(())
}

fn set_group_var(
    source: &IniSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    key: &str,
    value: &str,
    line: usize,
    column: usize,
) -> Result<(), InventoryError> {
    let index = draft.group(group);
    let value = ini_value(value);
    if key == GROUP_PRIORITY_VAR {
        let priority = match &value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        draft.groups[index].priority = priority.ok_or_else(|| {
            source.error(
                line,
                column,
                format!("`{GROUP_PRIORITY_VAR}` must be an integer (got `{value}`)"),
            )
        })?;
        return Ok(());
    }
    draft.groups[index].vars.insert(key.to_owned(), value);
    Ok(())
}

/// An INI value: a Python literal when it is one, else its text.
pub(crate) fn ini_value(text: &str) -> Value {
    parse_python_literal(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Splits a line as Python's `shlex.split(line, comments=True)` does, returning each word
/// with the character offset where it starts. Errors carry the offset of the problem.
pub(crate) fn split_words(line: &str) -> Result<Vec<(String, usize)>, (usize, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        match c {
            c if c.is_whitespace() => {
                if let Some(word) = current.take() {
                    words.push(word);
                }
            }
            '#' => break,
            '\'' | '"' => {
                let start = index;
                let word = current.get_or_insert_with(|| (String::new(), start));
                index += 1;
                loop {
                    let Some(&inner) = chars.get(index) else {
                        return Err((start, "a quote is not closed".to_owned()));
                    };
                    if inner == c {
                        break;
                    }
                    if c == '"' && inner == '\\' {
                        match chars.get(index + 1) {
                            Some(&next @ ('"' | '\\')) => {
                                word.0.push(next);
                                index += 2;
                                continue;
                            }
                            Some(_) => {}
                            None => return Err((start, "a quote is not closed".to_owned())),
                        }
                    }
                    word.0.push(inner);
                    index += 1;
                }
            }
            '\\' => {
                let start = index;
                let Some(&next) = chars.get(index + 1) else {
                    return Err((start, "a backslash ends the line".to_owned()));
                };
                current
                    .get_or_insert_with(|| (String::new(), start))
                    .0
                    .push(next);
                index += 1;
            }
            other => current
                .get_or_insert_with(|| (String::new(), index))
                .0
                .push(other),
        }
        index += 1;
    }
    if let Some(word) = current {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_words(line)
            .unwrap_or_else(|(_, problem)| panic!("{problem}"))
            .into_iter()
            .map(|(word, _)| word)
            .collect()
    }

    #[test]
    fn words_like_python_shlex() {
        assert_eq!(words("a b=1 # c"), ["a", "b=1"]);
        assert_eq!(
            words("a x='q v' y=\"d \\\" e\""),
            ["a", "x=q v", "y=d \" e"]
        );
        assert_eq!(words("a#b c"), ["a"]);
        assert_eq!(words("a x=\"it's\""), ["a", "x=it's"]);
        assert!(split_words("a x='open").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(section_header("[web]"), Some(("web", None)));
        assert_eq!(
            section_header("[web:vars] # c"),
            Some(("web", Some("vars")))
        );
        assert_eq!(section_header("[web server]"), None);
        assert_eq!(section_header("[web]x"), None);
    }
}
