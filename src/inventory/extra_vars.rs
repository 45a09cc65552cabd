//! Parsing `-e` / `--extra-vars` arguments, as Ansible accepts them:
//! `key=value` pairs (several per argument, split like a shell would, values are strings),
//! an inline JSON object (`{"key": 1}`; YAML flow mappings work too), or `@file` naming a YAML
//! or JSON file that holds a mapping (possibly vault-encrypted, or holding `!vault` values).
//! Later arguments override earlier ones.
//!
//! Reading `@file` is delegated to a caller-supplied reader, so this module does no I/O
//! (`load::parse_extra_vars` supplies the real file system).

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::InventoryError;
use super::vars::merge_replace;
use super::vault_values::VaultContext;
use super::yaml::YamlSource;

/// Parses every `-e` argument in order, reading `@file` arguments (relative to `base_dir`)
/// through `read_file`.
pub fn parse_extra_vars_with(
    args: &[String],
    base_dir: &Path,
    read_file: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<Map<String, Value>, InventoryError> {
    parse_extra_vars_in(args, base_dir, read_file, None)
}

/// [`parse_extra_vars_with`], decrypting vault-encrypted `@file`s and `!vault` values in
/// them with `vault` (without it, they are refused).
pub(crate) fn parse_extra_vars_in(
    args: &[String],
    base_dir: &Path,
    read_file: &dyn Fn(&Path) -> io::Result<String>,
    vault: Option<&VaultContext<'_>>,
) -> Result<Map<String, Value>, InventoryError> {
    let mut vars = Map::new();
    for arg in args {
        let parsed = parse_one(arg, base_dir, read_file, vault)?;
        merge_replace(&mut vars, &parsed);
    }
    Ok(vars)
}

fn parse_one(
    arg: &str,
    base_dir: &Path,
    read_file: &dyn Fn(&Path) -> io::Result<String>,
    vault: Option<&VaultContext<'_>>,
) -> Result<Map<String, Value>, InventoryError> {
    let invalid = |problem: String| InventoryError::ExtraVars {
        arg: arg.to_owned(),
        problem,
    };
    let trimmed = arg.trim();
    if trimmed.is_empty() {
        return Err(invalid("the argument is empty".to_owned()));
    }
    if let Some(file) = trimmed.strip_prefix('@') {
        if file.is_empty() {
            return Err(invalid("no file name after `@`".to_owned()));
        }
        let path: PathBuf = base_dir.join(file);
        let text = read_file(&path).map_err(|error| {
            invalid(format!(
                "cannot read {}: {}",
                path.display(),
                io_reason(&error)
            ))
        })?;
        return match vault {
            Some(vault) => {
                let (text, vaulted) = vault.decrypt_file(file, text)?;
                let vars = YamlSource::new(file, &text)
                    .with_vault(vault)
                    .vars_document()?;
                if vaulted {
                    vars.values().for_each(|value| vault.record_leaves(value));
                }
                Ok(vars)
            }
            None if crate::vault::is_vaulted(&text) => Err(InventoryError::Vault {
                location: crate::location::Location::file(file),
                variable: None,
                message: crate::vault::VaultError::NoPassword.to_string(),
            }),
            None => YamlSource::new(file, &text).vars_document(),
        };
    }
    if trimmed.starts_with('{') {
        return parse_inline_object(trimmed).map_err(invalid);
    }
    if trimmed.starts_with('[') {
        return Err(invalid(
            "a list is not a set of variables; give a JSON object such as {\"key\": \"value\"}"
                .to_owned(),
        ));
    }
    parse_key_value_pairs(trimmed).map_err(invalid)
}

fn io_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => error.to_string(),
    }
}

fn parse_inline_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("expected a JSON object".to_owned()),
        Err(json_error) => {
            // YAML flow mappings such as {key: value} are accepted too, as Ansible does.
            YamlSource::new("-e", text)
                .vars_document()
                .map_err(|_| format!("not a valid JSON object: {json_error}"))
        }
    }
}

fn parse_key_value_pairs(text: &str) -> Result<Map<String, Value>, String> {
    let mut vars = Map::new();
    for word in split_words(text)? {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("`{word}` is not key=value"));
        };
        if key.is_empty() {
            return Err(format!("`{word}` has no variable name before `=`"));
        }
        if !is_variable_name(key) {
            return Err(format!(
                "`{key}` is not a valid variable name (letters, digits and `_`, not starting with a digit)"
            ));
        }
        vars.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    Ok(vars)
}

/// Whether `name` is a valid variable name: letters, digits and `_`, not starting with a digit.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// Splits on whitespace like a POSIX shell: `'...'` is literal, `"..."` allows `\"`, `\\`,
/// `\$` and `` \` `` escapes, and a backslash outside quotes escapes the next character.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(character) = chars.next() {
        match character {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(inner) => current.push(inner),
                        None => return Err("a single quote (') is not closed".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => current.push(escaped),
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => return Err("a double quote (\") is not closed".to_owned()),
                        },
                        Some(inner) => current.push(inner),
                        None => return Err("a double quote (\") is not closed".to_owned()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(escaped) = chars.next() {
                    current.push(escaped);
                }
            }
            whitespace if whitespace.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                current.push(other);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_like_a_shell() {
        assert_eq!(
            split_words(r#"a=1 b='x y' c="q \"z\"" d=e\ f"#).unwrap(),
            ["a=1", "b=x y", "c=q \"z\"", "d=e f"]
        );
        assert_eq!(
            split_words("k='open").unwrap_err(),
            "a single quote (') is not closed"
        );
    }

    #[test]
    fn variable_names() {
        assert!(is_variable_name("odoo_conf"));
        assert!(is_variable_name("_x1"));
        assert!(!is_variable_name("1x"));
        assert!(!is_variable_name("my-var"));
        assert!(!is_variable_name(""));
    }
}
