//! Reading `ssh_config` files into items: keyword lines (`Keyword value`, `Keyword=value`,
//! double- or single-quoted arguments), `Host` and `Match` lines, and `Include` (globs,
//! `~`, paths relative to `~/.ssh`, nested at most 16 deep) resolved while reading.

use std::fmt;
use std::path::{Path, PathBuf};

use super::pattern::wildcard;

/// Deepest `Include` nesting accepted (OpenSSH's limit).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Where a line comes from: a file and line (1-based), or a command-line argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.source)
        } else {
            write!(f, "{}:{}", self.source, self.line)
        }
    }
}

/// One meaningful line of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `Host pattern...`: starts a block applying to hosts that match.
    Host { patterns: Vec<String> },
    /// `Match ...`: not supported; its block is skipped (with a warning).
    Match { at: Location },
    /// Any other keyword, lower-cased, with its arguments.
    Option {
        keyword: String,
        args: Vec<String>,
        at: Location,
    },
    /// `Include`: the files it named, already read (inactive if the line was).
    Include { files: Vec<Vec<Item>> },
}

/// A config file that cannot be read or understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ParseError {
    pub at: String,
    pub message: String,
}

/// Reads `path` and every file it includes.
///
/// # Errors
/// The file (or an included one) cannot be read, has an unclosed quote, a keyword
/// without its argument, or includes too deeply.
pub fn read_file(path: &Path) -> Result<Vec<Item>, ParseError> {
    read_depth(path, 0)
}

fn read_depth(path: &Path, depth: usize) -> Result<Vec<Item>, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|error| ParseError {
        at: path.display().to_string(),
        message: format!("cannot read this ssh config file: {error}"),
    })?;
    parse_text(&text, &path.display().to_string(), depth)
}

/// Parses config text; `source` names it in messages.
///
/// # Errors
/// As [`read_file`].
pub fn parse_text(text: &str, source: &str, depth: usize) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let at = Location {
            source: source.to_owned(),
            line: index + 1,
        };
        let Some((keyword, args)) = split_line(raw, &at)? else {
            continue;
        };
        let lower = keyword.to_ascii_lowercase();
        match lower.as_str() {
            "host" => {
                if args.is_empty() {
                    return Err(error(&at, "`Host` needs at least one pattern"));
                }
                items.push(Item::Host { patterns: args });
            }
            "match" => items.push(Item::Match { at }),
            "include" => {
                if args.is_empty() {
                    return Err(error(&at, "`Include` needs a file name"));
                }
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(error(
                        &at,
                        &format!("`Include` nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)"),
                    ));
                }
                let mut files = Vec::new();
                for arg in &args {
                    for path in expand_include(arg) {
                        files.push(read_depth(&path, depth + 1)?);
                    }
                }
                items.push(Item::Include { files });
            }
            _ => {
                if args.is_empty() {
                    return Err(error(&at, &format!("`{keyword}` needs a value")));
                }
                items.push(Item::Option {
                    keyword: lower,
                    args,
                    at,
                });
            }
        }
    }
    Ok(items)
}

fn error(at: &Location, message: &str) -> ParseError {
    ParseError {
        at: at.to_string(),
        message: message.to_owned(),
    }
}

/// `Keyword args...` of a line, `None` for blank lines and comments.
fn split_line(raw: &str, at: &Location) -> Result<Option<(String, Vec<String>)>, ParseError> {
    let line = raw.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let keyword_end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = &line[..keyword_end];
    let mut rest = line[keyword_end..].trim_start();
    if let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start();
    }
    let column = raw.len() - rest.len() + 1;
    let args = split_args(rest).map_err(|offset| ParseError {
        at: format!("{}:{}", at, column + offset),
        message: "unclosed quote".to_owned(),
    })?;
    Ok(Some((keyword.to_owned(), args)))
}

/// Splits arguments on whitespace, honouring double and single quotes; a `#` starting
/// an argument ends the line. `Err(offset)` of an unclosed quote.
pub fn split_args(text: &str) -> Result<Vec<String>, usize> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quote: Option<(char, usize)> = None;
    for (offset, c) in text.char_indices() {
        match quote {
            Some((q, _)) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some((c, offset));
                in_arg = true;
            }
            None if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            None if c == '#' && !in_arg => break,
            None => {
                current.push(c);
                in_arg = true;
            }
        }
    }
    if let Some((_, offset)) = quote {
        return Err(offset);
    }
    if in_arg {
        args.push(current);
    }
    Ok(args)
}

/// The files an `Include` argument names: `~` expanded, relative to `~/.ssh`, wildcards
/// in the last component expanded in sorted order (no match: nothing, as OpenSSH).
fn expand_include(arg: &str) -> Vec<PathBuf> {
    let path = expand_tilde(arg);
    let path = if path.is_absolute() {
        path
    } else {
        home_dir().join(".ssh").join(path)
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if path.is_file() {
            vec![path]
        } else {
            Vec::new()
        };
    }
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| wildcard(&name, &entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
}

/// The home directory: `$HOME`, else the user's passwd entry, else `/root`. The one
/// definition every default under `~` uses (ssh_config, known_hosts, key files).
#[must_use]
pub fn home_dir() -> PathBuf {
    std::env::home_dir()
        .filter(|home| !home.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// `~/.ssh/known_hosts`, where host keys are checked when nothing names another file.
#[must_use]
pub fn default_known_hosts() -> PathBuf {
    home_dir().join(".ssh").join("known_hosts")
}

/// `~` and `~/x` → the home directory.
#[must_use]
pub fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" {
        home_dir()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home_dir().join(rest)
    } else {
        PathBuf::from(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_forms_and_quotes() {
        let items = parse_text(
            "# c\nHost a \"b c\"\n  HostName=10.0.0.1\n  IdentityFile \"~/my key\" # trailing\nPort = 2222\n",
            "cfg",
            0,
        )
        .unwrap();
        assert!(matches!(&items[0], Item::Host { patterns } if patterns == &["a", "b c"]));
        assert!(
            matches!(&items[1], Item::Option { keyword, args, .. } if keyword == "hostname" && args == &["10.0.0.1"])
        );
        assert!(matches!(&items[2], Item::Option { args, .. } if args == &["~/my key"]));
        assert!(
            matches!(&items[3], Item::Option { keyword, args, at } if keyword == "port" && args == &["2222"] && at.line == 5)
        );
    }

    #[test]
    fn unclosed_quote_names_line_and_column() {
        let err = parse_text("Host x\n  User \"bob\n", "cfg", 0).unwrap_err();
        assert_eq!(err.at, "cfg:2:8");
        assert_eq!(err.message, "unclosed quote");
    }

    #[test]
    fn missing_values_are_errors() {
        assert_eq!(
            parse_text("Host\n", "cfg", 0).unwrap_err().to_string(),
            "cfg:1: `Host` needs at least one pattern"
        );
        assert_eq!(
            parse_text("  User\n", "cfg", 0).unwrap_err().to_string(),
            "cfg:1: `User` needs a value"
        );
    }
}
