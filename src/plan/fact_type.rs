//! The type of a fact (`facts: [{type: port}]`): what a value read from a host must be
//! before it becomes a variable. A host's file is written by whoever controls the host
//! (a bench user, say), and its values land in root's nginx files and commands, so each
//! type is a grammar with no room for anything but its value: no whitespace, `;`, `{`,
//! `}`, `#`, quotes, `$`, `\` or template syntax. Every accepted value is one nginx
//! argument and one shell word as it stands.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a fact's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactType {
    /// A TCP port: an integer from 1 to 65535 (a string of digits is read as one).
    Port,
    /// An integer (a string of digits, with an optional `-`, is read as one).
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A DNS host name or IPv4 address: dot-separated labels of letters, digits and `-`
    /// (not first or last in a label), at most 63 characters each, 253 in all.
    HostName,
    /// A Frappe site name (the directory under `sites/`): letters, digits, `.`, `_` and
    /// `-`, starting with a letter or digit, no `..`, at most 255 characters.
    SiteName,
    /// A word: letters, digits, `.`, `_` and `-`, not starting with `-`, at most 255
    /// characters.
    Word,
    /// An absolute path: `/` and names of letters, digits, `.`, `_` and `-`, no `.` or
    /// `..` component, at most 4096 characters.
    Path,
}

impl FactType {
    /// The type a fact without `type:` has: the one its default's value suggests
    /// (an integer: `integer`, a boolean: `boolean`, a string: `word`), if any.
    #[must_use]
    pub fn inferred(default: &Value) -> Option<Self> {
        match default {
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(Self::Integer),
            Value::Bool(_) => Some(Self::Boolean),
            Value::String(_) => Some(Self::Word),
            _ => None,
        }
    }

    /// The name written in a plan (`host_name`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Port => "port",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::HostName => "host_name",
            Self::SiteName => "site_name",
            Self::Word => "word",
            Self::Path => "path",
        }
    }

    /// `value` as this type (a string of digits becomes a number for `port` and
    /// `integer`).
    ///
    /// # Errors
    /// The value is not of this type: the message says what was expected and shows the
    /// value JSON-escaped and shortened.
    pub fn check(self, value: &Value) -> Result<Value, String> {
        let accepted = match (self, value) {
            (Self::Port, _) => integer(value)
                .filter(|n| (1..=65535).contains(n))
                .map(Value::from),
            (Self::Integer, _) => integer(value).map(Value::from),
            (Self::Boolean, Value::Bool(_)) => Some(value.clone()),
            (Self::HostName, Value::String(s)) if is_host_name(s) => Some(value.clone()),
            (Self::SiteName, Value::String(s)) if is_site_name(s) => Some(value.clone()),
            (Self::Word, Value::String(s)) if is_word(s) => Some(value.clone()),
            (Self::Path, Value::String(s)) if is_path(s) => Some(value.clone()),
            _ => None,
        };
        accepted.ok_or_else(|| format!("{} is not {}", shown(value), self.expected()))
    }

    fn expected(self) -> &'static str {
        match self {
            Self::Port => "a port (an integer from 1 to 65535)",
            Self::Integer => "an integer",
            Self::Boolean => "a boolean (true or false)",
            Self::HostName => {
                "a host name (dot-separated labels of letters, digits and `-`, at most 253 characters)"
            }
            Self::SiteName => {
                "a site name (letters, digits, `.`, `_`, `-`, starting with a letter or digit, no `..`)"
            }
            Self::Word => "a word (letters, digits, `.`, `_`, `-`, not starting with `-`)",
            Self::Path => {
                "an absolute path (`/` and names of letters, digits, `.`, `_`, `-`; no `.` or `..` component)"
            }
        }
    }
}

/// An integer, or a string that is one (`"9000"`).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let plain = !digits.is_empty()
                && digits.len() <= 18
                && digits.bytes().all(|b| b.is_ascii_digit());
            if plain { s.parse().ok() } else { None }
        }
        _ => None,
    }
}

fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_site_name(s: &str) -> bool {
    s.len() <= 255
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_path(s: &str) -> bool {
    s.len() <= 4096
        && s.starts_with('/')
        && s.split('/').skip(1).all(|name| {
            name != "."
                && name != ".."
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

/// A value as it may be shown in an error: JSON (control characters escaped), at most
/// 60 characters.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        format!("{}…", text.chars().take(60).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::FactType::{self, *};
    use serde_json::{Value, json};

    fn ok(t: FactType, v: Value) -> Value {
        t.check(&v)
            .unwrap_or_else(|e| panic!("{} accepts {v}: {e}", t.name()))
    }

    #[test]
    fn ports_are_integers_in_range() {
        assert_eq!(ok(Port, json!(9000)), json!(9000));
        assert_eq!(ok(Port, json!("8000")), json!(8000));
        for bad in [
            json!(0),
            json!(65536),
            json!(-1),
            json!(80.5),
            json!("8000; # {{ ansible_become_password }}"),
            json!("80 "),
            json!(""),
            json!(true),
            json!([80]),
        ] {
            assert!(Port.check(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            Port.check(&json!("8000; # {{ x }}")).unwrap_err(),
            "\"8000; # {{ x }}\" is not a port (an integer from 1 to 65535)"
        );
    }

    #[test]
    fn names_follow_their_grammar() {
        ok(HostName, json!("erp.example.com"));
        ok(HostName, json!("10.0.0.7"));
        ok(SiteName, json!("site1.local"));
        ok(SiteName, json!("my_site-2"));
        ok(Word, json!("frappe-bench_2.x"));
        ok(Path, json!("/home/frappe/frappe-bench"));
        ok(Path, json!("/"));
        for (t, bad) in [
            (HostName, "a..b"),
            (HostName, "-a.b"),
            (HostName, "a_b.c"),
            (HostName, "x;y"),
            (SiteName, "../etc"),
            (SiteName, ".hidden"),
            (SiteName, "a b"),
            (SiteName, "a}b"),
            (Word, "-rf"),
            (Word, ""),
            (Word, "a$b"),
            (Path, "relative/x"),
            (Path, "/a/../etc"),
            (Path, "/a b"),
            (Path, "/a;b"),
        ] {
            assert!(t.check(&json!(bad)).is_err(), "{} {bad}", t.name());
        }
        assert!(
            HostName
                .check(&json!(format!("{}.com", "a".repeat(64))))
                .is_err()
        );
    }

    #[test]
    fn accepted_values_are_one_nginx_argument_and_one_shell_word() {
        let hostile_bytes = [
            ' ', '\t', '\n', ';', '{', '}', '#', '\'', '"', '$', '\\', '`', '(', ')', '|', '&',
            '<', '>', '*', '?', '%',
        ];
        for t in [HostName, SiteName, Word, Path] {
            for c in hostile_bytes {
                let v = json!(format!("a{c}b"));
                assert!(t.check(&v).is_err(), "{} accepts {v}", t.name());
            }
        }
    }

    #[test]
    fn the_type_is_inferred_from_the_default() {
        assert_eq!(FactType::inferred(&json!(3000)), Some(Integer));
        assert_eq!(FactType::inferred(&json!(false)), Some(Boolean));
        assert_eq!(FactType::inferred(&json!("x")), Some(Word));
        assert_eq!(FactType::inferred(&json!(null)), None);
        assert_eq!(FactType::inferred(&json!(1.5)), None);
    }
}
