//! The README's tutorial ("Your first plan for the site you already have") as data: the
//! files it shows and the commands it runs, in the order a reader meets them.
//!
//! Inside that section, a fenced block whose info string names a path after the language
//! (```` ```yaml inventories/production/hosts.yml ````) is a file of the project, written
//! relative to the directory the commands are in at that point; a ```` ```console ````
//! block holds commands (lines starting with `$ `), each followed by what the README shows
//! it printing. Other blocks (```` ```text ````) are only shown.

#![allow(dead_code)]

use std::path::Path;

/// The heading of the tutorial section.
pub const HEADING: &str = "## Your first plan for the site you already have";

/// One thing the reader does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write `body` to `path` (relative to the current directory).
    File { path: String, body: String },
    /// Run `line` with `sh`; `shown` is the output the README prints under it.
    Command { line: String, shown: Vec<String> },
}

/// README.md of this checkout.
pub fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md")
}

/// The tutorial section's text: from its heading to the next `## ` heading.
pub fn section(readme: &str) -> &str {
    let start = readme
        .find(&format!("\n{HEADING}\n"))
        .unwrap_or_else(|| panic!("README.md has no section `{HEADING}`"));
    let body = &readme[start + 1..];
    let end = body[HEADING.len()..]
        .find("\n## ")
        .map_or(body.len(), |i| HEADING.len() + i + 1);
    &body[..end]
}

/// The tutorial's steps, in order.
pub fn steps(readme: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in section(readme).lines() {
        if let Some(info) = line.strip_prefix("```") {
            match open.take() {
                Some((info, lines)) => steps.extend(block_steps(&info, &lines)),
                None => open = Some((info.trim().to_owned(), Vec::new())),
            }
        } else if let Some((_, lines)) = open.as_mut() {
            lines.push(line.to_owned());
        }
    }
    assert!(
        open.is_none(),
        "README.md: unclosed code block in the tutorial"
    );
    steps
}

fn block_steps(info: &str, lines: &[String]) -> Vec<Step> {
    let mut words = info.split_whitespace();
    let language = words.next().unwrap_or_default();
    if let Some(path) = words.next() {
        let mut body = lines.join("\n");
        body.push('\n');
        return vec![Step::File {
            path: path.to_owned(),
            body,
        }];
    }
    if language != "console" {
        return Vec::new();
    }
    let mut steps = Vec::new();
    for line in lines {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step::Command {
                line: command.to_owned(),
                shown: Vec::new(),
            });
        } else if let Some(Step::Command { shown, .. }) = steps.last_mut() {
            shown.push(line.clone());
        } else {
            panic!("README.md: a console block starts with output, not `$ `: {line}");
        }
    }
    steps
}

/// The line the README shows last under a command, when it is one the command must print
/// as it stands (not `…`, which marks left-out lines).
pub fn last_shown(shown: &[String]) -> Option<&str> {
    shown
        .iter()
        .rev()
        .map(|l| l.trim_end())
        .find(|l| !l.is_empty())
        .filter(|l| *l != "…")
}

/// Every word of the README, as `wc -w` counts them.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}
