//! Why an editor refused a file: what is wrong and, when the editor knows it, the line and
//! column. The caller, which knows the file's path, shows it as a
//! [`Location`]: `path:line:column: message`.

use crate::location::Location;

/// An editor's refusal, with its place in the file when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl EditError {
    /// `path:line:column: message` (as much of the place as is known).
    #[must_use]
    pub fn in_file(&self, path: &str) -> String {
        let at = Location {
            file: path.to_owned(),
            line: self.line,
            column: self.line.and(self.column),
        };
        format!("{at}: {}", self.message)
    }
}

/// A refusal with no place in the file.
impl From<String> for EditError {
    fn from(message: String) -> Self {
        Self {
            line: None,
            column: None,
            message,
        }
    }
}

impl From<super::ini::IniError> for EditError {
    fn from(e: super::ini::IniError) -> Self {
        Self {
            line: e.line().map(|l| l as u64),
            column: None,
            message: e.to_string(),
        }
    }
}

impl From<super::compose::ComposeError> for EditError {
    fn from(e: super::compose::ComposeError) -> Self {
        Self {
            line: Some(e.line as u64),
            column: Some(e.column as u64),
            message: e.message,
        }
    }
}

impl From<super::json::JsonError> for EditError {
    fn from(e: super::json::JsonError) -> Self {
        match e {
            super::json::JsonError::Invalid {
                line,
                column,
                message,
            } => Self {
                line: Some(line as u64),
                column: Some(column as u64),
                message: super::json::invalid_json(&message),
            },
            other => Self::from(other.to_string()),
        }
    }
}

impl From<super::nginx::EditError> for EditError {
    fn from(e: super::nginx::EditError) -> Self {
        match e {
            super::nginx::EditError::Parse { path, source } => Self {
                line: Some(source.line as u64),
                column: Some(source.column as u64),
                message: source.message_in(&path),
            },
            other => Self::from(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ini_line_error_names_the_file_and_line() {
        let e = crate::edit::ini::get("a = 1\n", "options", "a").unwrap_err();
        assert_eq!(
            EditError::from(e).in_file("/etc/odoo.conf"),
            "/etc/odoo.conf:1: `a = 1` comes before any [section] header; configparser (and so Odoo) rejects such a file: add a section header such as `[options]` above it"
        );
        assert_eq!(
            EditError::from("no such file".to_owned()).in_file("/x"),
            "/x: no such file"
        );
    }

    #[test]
    fn nginx_and_json_parse_errors_name_file_line_and_column() {
        use crate::edit::nginx::{self, Context, ContextKind, Effective};
        let e = nginx::ensure(
            "/etc/nginx/sites-enabled/x",
            "server {\n  listen 80;\n",
            ContextKind::Http,
            &Context::Http,
            "map $a $b { default 1; }",
            &Effective::empty(),
        )
        .unwrap_err();
        assert_eq!(
            EditError::from(e).in_file("/etc/nginx/sites-enabled/x"),
            "/etc/nginx/sites-enabled/x:1:8: unclosed \"{\" of \"server\" (unbalanced braces): the file ends \
             before its closing \"}\"; add the missing \"}\" (check the blocks inside it too)"
        );
        let e = crate::edit::json::get("{\n  \"a\": 1,\n}\n", "a").unwrap_err();
        assert_eq!(
            EditError::from(e).in_file("/b/sites/site1/site_config.json"),
            "/b/sites/site1/site_config.json:3:1: invalid JSON: trailing comma; fix the syntax first (Frappe \
             cannot read this file either)"
        );
    }
}
