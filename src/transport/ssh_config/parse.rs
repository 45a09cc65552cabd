//! Reading `ssh_config` files into items: keyword lines (`Keyword value`, `Keyword=value`,
//! double- or single-quoted arguments, backslash escapes), `Host` and `Match` lines, and
//! `Include` (globs, `~`, paths relative to `~/.ssh`, nested at most 16 deep) resolved
//! while reading. What OpenSSH rejects in every case (an unknown `Match` criterion, a bad
//! port or forwarding spec, a keyword without its value) is an error here, with its line.

use std::path::{Path, PathBuf};

use super::keywords;
use super::match_line::{self, Criterion};
use super::pattern::wildcard;
pub use crate::location::Location;
use crate::transport::home::home_dir;

/// Deepest `Include` nesting accepted (OpenSSH's limit).
const MAX_INCLUDE_DEPTH: usize = 16;

/// One meaningful line of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `Host pattern...`: starts a block applying to hosts that match.
    Host { patterns: Vec<String> },
    /// `Match criteria...`: starts a block applying when every criterion holds.
    Match {
        criteria: Vec<Criterion>,
        /// The line after `Match`, for messages.
        text: String,
        at: Location,
    },
    /// A keyword OpenSSH does not know: an error unless an `IgnoreUnknown` in effect
    /// names it (decided while evaluating, as OpenSSH does).
    Unknown { keyword: String, at: Location },
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
    pub at: Location,
    pub message: String,
}

/// Reads `path` and every file it includes.
///
/// # Errors
/// The file (or an included one) cannot be read, has an unclosed quote, a keyword
/// without its argument, or includes too deeply.
pub fn read_file(path: &Path) -> Result<Vec<Item>, ParseError> {
    read_depth(path, 0, &home_dir().join(".ssh"))
}

/// [`read_file`] for the system file: its relative `Include`s are under `include_dir`
/// (`/etc/ssh`), as OpenSSH resolves them.
///
/// # Errors
/// As [`read_file`].
pub fn read_system_file(path: &Path, include_dir: &Path) -> Result<Vec<Item>, ParseError> {
    read_depth(path, 0, include_dir)
}

fn read_depth(path: &Path, depth: usize, include_dir: &Path) -> Result<Vec<Item>, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|error| ParseError {
        at: Location::file(path.display().to_string()),
        message: format!("cannot read this ssh config file: {error}"),
    })?;
    parse_in(&text, &path.display().to_string(), depth, include_dir)
}

/// Parses config text; `source` names it in messages.
///
/// # Errors
/// As [`read_file`].
pub fn parse_text(text: &str, source: &str, depth: usize) -> Result<Vec<Item>, ParseError> {
    parse_in(text, source, depth, &home_dir().join(".ssh"))
}

/// [`parse_text`] with relative `Include`s under `include_dir`.
fn parse_in(
    text: &str,
    source: &str,
    depth: usize,
    include_dir: &Path,
) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let at = Location::line(source, index as u64 + 1);
        let Some((keyword, args, rest)) = split_line(raw, &at)? else {
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
            "match" => {
                if args.is_empty() {
                    return Err(error(&at, "`Match` needs at least one criterion"));
                }
                let criteria = match_line::parse(rest).map_err(|why| {
                    error(
                        &at,
                        &format!(
                            "`Match {rest}`: {why} (OpenSSH refuses this file: Bad Match condition)"
                        ),
                    )
                })?;
                items.push(Item::Match {
                    criteria,
                    text: rest.to_owned(),
                    at,
                });
            }
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
                    for path in expand_include(arg, include_dir) {
                        files.push(read_depth(&path, depth + 1, include_dir)?);
                    }
                }
                items.push(Item::Include { files });
            }
            _ => {
                if args.is_empty() {
                    return Err(error(&at, &format!("`{keyword}` needs a value")));
                }
                if !keywords::is_known(&lower) {
                    items.push(Item::Unknown { keyword, at });
                    continue;
                }
                keywords::check_value(&lower, &args)
                    .map_err(|why| error(&at, &format!("`{keyword} {}`: {why}", args.join(" "))))?;
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
        at: at.clone(),
        message: message.to_owned(),
    }
}

/// A line's keyword, its arguments, and the raw text after the keyword.
type Line<'a> = (String, Vec<String>, &'a str);

/// `Keyword args...` of a line and the raw text after the keyword, `None` for blank lines
/// and comments.
fn split_line<'a>(raw: &'a str, at: &Location) -> Result<Option<Line<'a>>, ParseError> {
    let raw = raw.trim_end();
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
        at: Location {
            column: Some((column + offset) as u64),
            ..at.clone()
        },
        message: "unclosed quote".to_owned(),
    })?;
    Ok(Some((keyword.to_owned(), args, rest)))
}

/// Splits arguments on whitespace, honouring double and single quotes and the
/// backslash escapes `\"` `\'` `\\` (and `\ ` outside quotes), as OpenSSH's
/// `argv_split`; a `#` starting an argument ends the line. `Err(offset)` of an unclosed
/// quote.
pub fn split_args(text: &str) -> Result<Vec<String>, usize> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quote: Option<(char, usize)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        if c == '\\' {
            let next = chars.peek().map(|(_, n)| *n);
            match next {
                Some(n) if n == '"' || n == '\'' || n == '\\' || (quote.is_none() && n == ' ') => {
                    current.push(n);
                    chars.next();
                }
                _ => current.push(c),
            }
            in_arg = true;
            continue;
        }
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

/// The files an `Include` argument names: `~` expanded, relative to `include_dir`
/// (`~/.ssh`, or `/etc/ssh` for the system file), wildcards in the last component
/// expanded in sorted order (no match: nothing, as OpenSSH).
fn expand_include(arg: &str, include_dir: &Path) -> Vec<PathBuf> {
    let path = expand_tilde(arg);
    let path = if path.is_absolute() {
        path
    } else {
        include_dir.join(path)
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
            matches!(&items[3], Item::Option { keyword, args, at } if keyword == "port" && args == &["2222"] && at.line == Some(5))
        );
    }

    #[test]
    fn unclosed_quote_names_line_and_column() {
        let err = parse_text("Host x\n  User \"bob\n", "cfg", 0).unwrap_err();
        assert_eq!(err.at, Location::at("cfg", 2, 8));
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
