//! `odoo.conf`, read the way Odoo reads it: Python's `configparser.RawConfigParser`
//! (`=` or `:` delimiters, `;`/`#` full-line comments, indented continuation lines,
//! lowercase option names, duplicates rejected), then the `[options]` section.
//! Errors read like the Python exceptions Odoo would die with.

use std::fmt::{self, Write as _};

/// Why the configuration cannot be used; `Display` gives the Python exception line(s).
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigError {
    Unreadable {
        path: String,
        reason: String,
    },
    MissingSectionHeader {
        path: String,
        line_number: usize,
        line: String,
    },
    Parsing {
        path: String,
        lines: Vec<(usize, String)>,
    },
    DuplicateSection {
        path: String,
        line_number: usize,
        section: String,
    },
    DuplicateOption {
        path: String,
        line_number: usize,
        section: String,
        option: String,
    },
    NoOptionsSection,
    InvalidPort {
        option: String,
        value: String,
    },
}

/// Python's `repr()` of a line read from a file (it keeps the newline).
fn python_repr(line: &str) -> String {
    let mut out = String::from("'");
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unreadable { path, reason } => write!(f, "{reason}: '{path}'"),
            ConfigError::MissingSectionHeader {
                path,
                line_number,
                line,
            } => write!(
                f,
                "configparser.MissingSectionHeaderError: File contains no section headers.\nfile: '{path}', line: {line_number}\n{}",
                python_repr(line)
            ),
            ConfigError::Parsing { path, lines } => {
                write!(
                    f,
                    "configparser.ParsingError: Source contains parsing errors: '{path}'"
                )?;
                for (number, line) in lines {
                    write!(f, "\n\t[line {number:2}]: {}", python_repr(line))?;
                }
                Ok(())
            }
            ConfigError::DuplicateSection {
                path,
                line_number,
                section,
            } => write!(
                f,
                "configparser.DuplicateSectionError: While reading from '{path}' [line {line_number:2}]: section '{section}' already exists"
            ),
            ConfigError::DuplicateOption {
                path,
                line_number,
                section,
                option,
            } => write!(
                f,
                "configparser.DuplicateOptionError: While reading from '{path}' [line {line_number:2}]: option '{option}' in section '{section}' already exists"
            ),
            ConfigError::NoOptionsSection => {
                write!(f, "configparser.NoSectionError: No section: 'options'")
            }
            ConfigError::InvalidPort { option, value } => {
                write!(
                    f,
                    "odoo: error: option --{}: invalid integer value: '{value}'",
                    option.replace('_', "-")
                )
            }
        }
    }
}

/// One `[section]` with its options in file order.
#[derive(Debug, Default)]
struct Section {
    name: String,
    options: Vec<(String, String)>,
}

/// The `[options]` of an odoo.conf.
#[derive(Debug)]
pub struct OdooConfig {
    pub path: String,
    options: Vec<(String, String)>,
}

impl OdooConfig {
    /// Reads and parses `path`.
    pub fn load(path: &str) -> Result<OdooConfig, ConfigError> {
        let bytes = std::fs::read(path).map_err(|error| ConfigError::Unreadable {
            path: path.to_owned(),
            reason: match error.kind() {
                std::io::ErrorKind::NotFound => {
                    "FileNotFoundError: [Errno 2] No such file or directory".to_owned()
                }
                std::io::ErrorKind::PermissionDenied => {
                    "PermissionError: [Errno 13] Permission denied".to_owned()
                }
                _ => format!("OSError: {error}"),
            },
        })?;
        let text = String::from_utf8_lossy(&bytes);
        OdooConfig::parse(path, &text)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(path: &str, text: &str) -> Result<OdooConfig, ConfigError> {
        let sections = parse_sections(path, text)?;
        let options = sections
            .into_iter()
            .find(|section| section.name == "options")
            .ok_or(ConfigError::NoOptionsSection)?
            .options;
        let config = OdooConfig {
            path: path.to_owned(),
            options,
        };
        config.http_port()?;
        config.gevent_port()?;
        Ok(config)
    }

    /// The value of `option` in `[options]`, as written (continuation lines joined by `\n`).
    pub fn get(&self, option: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(name, _)| name == option)
            .map(|(_, value)| value.as_str())
    }

    fn port(&self, option: &str, default: u16) -> Result<u16, ConfigError> {
        match self.get(option) {
            None | Some("" | "False") => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| ConfigError::InvalidPort {
                option: option.to_owned(),
                value: value.to_owned(),
            }),
        }
    }

    /// `http_port` (default 8069).
    pub fn http_port(&self) -> Result<u16, ConfigError> {
        self.port("http_port", 8069)
    }

    /// `gevent_port`, or the deprecated `longpolling_port` (default 8072).
    pub fn gevent_port(&self) -> Result<u16, ConfigError> {
        if self.get("gevent_port").is_some() {
            self.port("gevent_port", 8072)
        } else {
            self.port("longpolling_port", 8072)
        }
    }

    /// `proxy_mode` interpreted as Odoo does (`True`, `1`, `yes`, `on`, case-insensitive).
    pub fn proxy_mode(&self) -> bool {
        self.get("proxy_mode").is_some_and(|value| {
            matches!(
                value.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        })
    }
}

fn parse_sections(path: &str, text: &str) -> Result<Vec<Section>, ConfigError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    let mut current_option: Option<usize> = None;
    let mut indent_level = usize::MAX;
    let mut errors: Vec<(usize, String)> = Vec::new();

    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_number = index + 1;
        let stripped = raw_line.trim();
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if is_comment { "" } else { stripped };
        if value.is_empty() {
            // Python keeps empty lines inside a multi-line value and ends it at a comment.
            if is_comment {
                indent_level = usize::MAX;
            } else if let (Some(section), Some(option)) = (current, current_option) {
                sections[section].options[option].1.push('\n');
            }
            continue;
        }
        let line_indent = raw_line.len() - raw_line.trim_start().len();
        if let (Some(section), Some(option), true) =
            (current, current_option, line_indent > indent_level)
        {
            let stored = &mut sections[section].options[option].1;
            stored.push('\n');
            stored.push_str(value);
            continue;
        }
        indent_level = line_indent;
        if let Some(header) = section_header(value) {
            if sections.iter().any(|section| section.name == header) {
                return Err(ConfigError::DuplicateSection {
                    path: path.to_owned(),
                    line_number,
                    section: header.to_owned(),
                });
            }
            sections.push(Section {
                name: header.to_owned(),
                options: Vec::new(),
            });
            current = Some(sections.len() - 1);
            current_option = None;
            continue;
        }
        let Some(section) = current else {
            return Err(ConfigError::MissingSectionHeader {
                path: path.to_owned(),
                line_number,
                line: raw_line.to_owned(),
            });
        };
        let Some((name, option_value)) = split_option(value) else {
            errors.push((line_number, raw_line.to_owned()));
            continue;
        };
        let name = name.to_lowercase();
        let options = &mut sections[section].options;
        if options.iter().any(|(existing, _)| *existing == name) {
            return Err(ConfigError::DuplicateOption {
                path: path.to_owned(),
                line_number,
                section: sections[section].name.clone(),
                option: name,
            });
        }
        options.push((name, option_value.to_owned()));
        current_option = Some(options.len() - 1);
    }
    if !errors.is_empty() {
        return Err(ConfigError::Parsing {
            path: path.to_owned(),
            lines: errors,
        });
    }
    for section in &mut sections {
        for (_, value) in &mut section.options {
            let trimmed_len = value.trim_end_matches('\n').len();
            value.truncate(trimmed_len);
        }
    }
    Ok(sections)
}

/// `[name]` at the start of a line (Python's `\[(?P<header>.+)\]`, greedy, unanchored end).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    let header = &rest[..close];
    (!header.is_empty()).then_some(header)
}

/// `name = value` or `name: value`, split at the first delimiter; `None` when there is no
/// delimiter or the name is empty.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let delimiter = value.find(['=', ':'])?;
    let name = value[..delimiter].trim_end();
    if name.is_empty() {
        return None;
    }
    Some((name, value[delimiter + 1..].trim()))
}

#[cfg(test)]
mod tests {
    use super::{ConfigError, OdooConfig};

    const PATH: &str = "/etc/odoo/odoo.conf";

    #[test]
    fn reads_options_comments_and_continuations() {
        let text = "; header comment\n[options]\nAdmin_Passwd = x=y\ndb_host: db\naddons_path = /a,\n    /b\n; websocket_url =\nproxy_mode = True\n\n[other]\nk = v\n";
        let config = OdooConfig::parse(PATH, text).unwrap();
        assert_eq!(config.get("admin_passwd"), Some("x=y"));
        assert_eq!(config.get("db_host"), Some("db"));
        assert_eq!(config.get("addons_path"), Some("/a,\n/b"));
        assert_eq!(config.get("websocket_url"), None);
        assert!(config.proxy_mode());
        assert_eq!(config.http_port().unwrap(), 8069);
        assert_eq!(config.gevent_port().unwrap(), 8072);
    }

    #[test]
    fn missing_options_section_is_an_error() {
        let error = OdooConfig::parse(PATH, "[server]\nx = 1\n").unwrap_err();
        assert_eq!(error, ConfigError::NoOptionsSection);
        assert_eq!(
            error.to_string(),
            "configparser.NoSectionError: No section: 'options'"
        );
    }

    #[test]
    fn line_before_any_section_is_an_error() {
        let error = OdooConfig::parse(PATH, "x = 1\n[options]\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "configparser.MissingSectionHeaderError: File contains no section headers.\nfile: '/etc/odoo/odoo.conf', line: 1\n'x = 1\\n'"
        );
    }

    #[test]
    fn malformed_lines_are_listed() {
        let error = OdooConfig::parse(PATH, "[options]\ngarbage\nok = 1\n= 2\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "configparser.ParsingError: Source contains parsing errors: '/etc/odoo/odoo.conf'\n\t[line  2]: 'garbage\\n'\n\t[line  4]: '= 2\\n'"
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let error = OdooConfig::parse(PATH, "[options]\na = 1\nA = 2\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("option 'a' in section 'options' already exists"),
            "{error}"
        );
        let error = OdooConfig::parse(PATH, "[options]\n[options]\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("[line  2]: section 'options' already exists"),
            "{error}"
        );
    }

    #[test]
    fn ports_come_from_the_file() {
        let config = OdooConfig::parse(
            PATH,
            "[options]\nhttp_port = 9069\nlongpolling_port = 9072\n",
        )
        .unwrap();
        assert_eq!(config.http_port().unwrap(), 9069);
        assert_eq!(config.gevent_port().unwrap(), 9072);
        assert!(OdooConfig::parse(PATH, "[options]\ngevent_port = abc\n").is_err());
    }
}
