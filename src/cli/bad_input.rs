//! Bad input (exit 3, nothing touched on any host): what was wrong, of which kind and
//! where. Printed as text on standard error and, under `--json`, also as one `error`
//! object on standard output (docs/json.md).

use serde::Serialize;
use serde_json::{Value, json};

use crate::location::Location;
use crate::validate::Problem;

/// What the bad input was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// Flags and their combinations.
    Usage,
    /// `wsdeploy.toml`.
    Config,
    /// A plan: its YAML, its steps, or its rendering for a host.
    Plan,
    /// An inventory, a host pattern or a host's connection variables.
    Inventory,
    /// Vault passwords, or vaulted data that cannot be decrypted.
    Vault,
    /// `-e` values.
    Variables,
    /// How a host is reached: ssh_config, jump hosts, passwords, become.
    Connection,
}

/// A bad-input error: its text (with `hint:` lines) is printed as is.
#[derive(Debug)]
pub struct BadInput {
    pub kind: InputKind,
    /// A plan's other problems, also in the text (one `file:line:col: message` line each).
    pub more: Vec<Problem>,
    /// The error in parts: where, what and the hints, as whoever made it knew them.
    /// Boxed: the error stays small (`clippy::result_large_err`).
    pub said: Box<Said>,
}

/// A bad-input error in parts. Its text is `host `HOST`: LOCATION: BODY` (each of the
/// first two only when known) then one `hint: HINT` line per hint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said {
    /// The host whose variables or connection are wrong, when it is about one host.
    pub host: Option<String>,
    /// Where it is, when the error is in a file.
    pub location: Option<Location>,
    /// What is wrong, without the host, the place and the hints.
    pub body: String,
    pub hints: Vec<String>,
}

impl Said {
    /// An error with no place: only what is wrong.
    #[must_use]
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// An error at `location`.
    #[must_use]
    pub fn at(location: Location, body: impl Into<String>) -> Self {
        Self {
            location: Some(location),
            ..Self::new(body)
        }
    }

    /// An error at `location` when it has one.
    #[must_use]
    pub fn maybe_at(location: Option<Location>, body: impl Into<String>) -> Self {
        Self {
            location,
            ..Self::new(body)
        }
    }

    /// The same error, about host `host`.
    #[must_use]
    pub fn about_host(self, host: impl Into<String>) -> Self {
        Self {
            host: Some(host.into()),
            ..self
        }
    }

    /// The same error, with these hints.
    #[must_use]
    pub fn with_hints(self, hints: Vec<String>) -> Self {
        Self { hints, ..self }
    }

    /// `host `HOST`: ` when about a host.
    fn host_prefix(&self) -> String {
        self.host
            .as_ref()
            .map(|h| format!("host `{h}`: "))
            .unwrap_or_default()
    }

    /// The whole text: the host, the place, the body, then the hints, one `hint:` line
    /// each.
    fn text(&self) -> String {
        let place = self
            .location
            .as_ref()
            .map(|at| format!("{at}: "))
            .unwrap_or_default();
        let hints: String = self.hints.iter().map(|h| format!("\nhint: {h}")).collect();
        format!("{}{place}{}{hints}", self.host_prefix(), self.body)
    }
}

impl From<String> for BadInput {
    fn from(message: String) -> Self {
        Self::of(InputKind::Usage, message)
    }
}

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said.text())
    }
}

impl BadInput {
    /// An error of this kind with no place and no hint: only what is wrong.
    pub fn of(kind: InputKind, body: String) -> Self {
        Self::placed(kind, Said::new(body))
    }

    /// An error of this kind in its parts.
    #[must_use]
    pub fn placed(kind: InputKind, said: Said) -> Self {
        Self {
            kind,
            more: Vec::new(),
            said: Box::new(said),
        }
    }

    /// Each value of `secrets` masked in every text.
    #[must_use]
    pub fn masked(self, secrets: &[String]) -> Self {
        let mask = |text: &str| crate::mask::mask(text, secrets);
        let said = &self.said;
        Self {
            said: Box::new(Said {
                host: said.host.as_deref().map(mask),
                location: said.location.as_ref().map(|at| Location {
                    file: mask(&at.file),
                    ..at.clone()
                }),
                body: mask(&said.body),
                hints: said.hints.iter().map(|h| mask(h)).collect(),
            }),
            more: self
                .more
                .into_iter()
                .map(|p| Problem {
                    message: crate::mask::mask(&p.message, secrets),
                    hosts: p
                        .hosts
                        .iter()
                        .map(|h| crate::mask::mask(h, secrets))
                        .collect(),
                    ..p
                })
                .collect(),
            ..self
        }
    }

    /// The `--json` error object: `kind`, `message` (without its place and hints),
    /// `file`, `line`, `column` (`null` when unknown), `hint` (`null` when none), the
    /// plan's other problems (`problems`: `file`, `line`, `column`, `message` each), and the
    /// exit code.
    #[must_use]
    pub fn json(&self, exit: u8) -> Value {
        let said = &self.said;
        let hint = (!said.hints.is_empty()).then(|| said.hints.join("\n"));
        let host = said.host_prefix();
        let (file, line, column, message) = match &said.location {
            Some(
                at @ Location {
                    line: Some(line),
                    column: Some(column),
                    ..
                },
            ) => (
                Some(&at.file),
                Some(*line),
                Some(*column),
                format!("{host}{}", said.body),
            ),
            // A place without a column stays in the message, as in the text.
            Some(at) => (None, None, None, format!("{host}{at}: {}", said.body)),
            None => (None, None, None, format!("{host}{}", said.body)),
        };
        json!({
            "event": "error",
            "schema_version": 1,
            "kind": self.kind,
            "message": message,
            "file": file,
            "line": line,
            "column": column,
            "hint": hint,
            "problems": self.more.iter().map(problem).collect::<Vec<Value>>(),
            "exit": exit,
        })
    }
}

/// One of a plan's other problems as an object: its place when it has a line and a
/// column (else the place stays in the message, as for the first error).
fn problem(p: &Problem) -> Value {
    let at = &p.location;
    match (at.line, at.column) {
        (Some(line), Some(column)) => json!({
            "file": at.file,
            "line": line,
            "column": column,
            "message": p.what(),
        }),
        _ => json!({
            "file": Value::Null,
            "line": Value::Null,
            "column": Value::Null,
            "message": p.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_without_a_place_never_reports_one_whatever_its_text() {
        let e = BadInput::of(
            InputKind::Usage,
            "a:1:2: looks placed\nhint: but is not".to_owned(),
        );
        let v = e.json(3);
        assert_eq!(v["file"], Value::Null);
        assert_eq!(v["line"], Value::Null);
        assert_eq!(v["column"], Value::Null);
        assert_eq!(v["message"], "a:1:2: looks placed\nhint: but is not");
        assert_eq!(v["hint"], Value::Null);
        let v =
            BadInput::from("host w1: plans/a.yml:2:3: undefined variable `x`".to_owned()).json(3);
        assert_eq!(v["file"], Value::Null);
        assert_eq!(
            v["message"],
            "host w1: plans/a.yml:2:3: undefined variable `x`"
        );
    }

    #[test]
    fn a_placed_error_gives_its_typed_place_and_hints_and_says_the_same_text() {
        let said = Said::at(
            Location::at("plans/my site.yml", 4, 5),
            "unknown field `notify`",
        )
        .with_hints(vec!["wsdeploy has no handlers".to_owned()]);
        let e = BadInput::placed(InputKind::Plan, said);
        let text = "plans/my site.yml:4:5: unknown field `notify`\nhint: wsdeploy has no handlers";
        assert_eq!(e.to_string(), text);
        let v = e.json(3);
        assert_eq!(v["kind"], "plan");
        assert_eq!(v["file"], "plans/my site.yml");
        assert_eq!(v["line"], 4);
        assert_eq!(v["column"], 5);
        assert_eq!(v["message"], "unknown field `notify`");
        assert_eq!(v["hint"], "wsdeploy has no handlers");
        assert_eq!(v["exit"], 3);
    }

    #[test]
    fn a_placed_error_without_a_column_keeps_its_place_in_the_message() {
        let e = BadInput::placed(
            InputKind::Plan,
            Said::at(Location::file("plans/a.yml"), "cannot read it"),
        );
        assert_eq!(e.to_string(), "plans/a.yml: cannot read it");
        let v = e.json(3);
        assert_eq!(v["file"], Value::Null);
        assert_eq!(v["message"], "plans/a.yml: cannot read it");
        assert_eq!(v["hint"], Value::Null);
        let e = BadInput::placed(
            InputKind::Connection,
            Said::at(Location::line("cfg", 3), "bad").about_host("w1"),
        );
        assert_eq!(e.to_string(), "host `w1`: cfg:3: bad");
        assert_eq!(e.json(3)["message"], "host `w1`: cfg:3: bad");
    }

    #[test]
    fn an_error_about_a_host_keeps_the_host_in_its_message() {
        let e = BadInput::placed(
            InputKind::Connection,
            Said::at(Location::at("cfg", 2, 8), "unclosed quote")
                .about_host("w1")
                .with_hints(vec!["close it".to_owned()]),
        );
        assert_eq!(
            e.to_string(),
            "host `w1`: cfg:2:8: unclosed quote\nhint: close it"
        );
        let v = e.json(3);
        assert_eq!(v["file"], "cfg");
        assert_eq!(v["line"], 2);
        assert_eq!(v["column"], 8);
        assert_eq!(v["message"], "host `w1`: unclosed quote");
        assert_eq!(v["hint"], "close it");
    }

    #[test]
    fn masking_reaches_every_part() {
        let e = BadInput::placed(
            InputKind::Inventory,
            Said::at(Location::at("plans/a.yml", 1, 2), "s3cret here")
                .about_host("s3cret")
                .with_hints(vec!["not s3cret".to_owned()]),
        )
        .masked(&["s3cret".to_owned()]);
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(!e.json(3).to_string().contains("s3cret"));
    }

    #[test]
    fn the_other_problems_give_their_place_from_their_location() {
        use crate::validate::Severity;
        let more = vec![
            Problem {
                location: Location::at("plans/my site.yml", 7, 3),
                severity: Severity::Error,
                message: "step `a`: undefined variable `x`".to_owned(),
                hosts: vec!["w1".to_owned(), "w2".to_owned()],
            },
            Problem {
                location: Location::file("plans/b.yml"),
                severity: Severity::Error,
                message: "cannot read it".to_owned(),
                hosts: Vec::new(),
            },
        ];
        let v = BadInput {
            more,
            ..BadInput::placed(
                InputKind::Plan,
                Said::at(Location::at("plans/a.yml", 1, 1), "x"),
            )
        }
        .json(3);
        assert_eq!(
            v["problems"],
            json!([
                {"file": "plans/my site.yml", "line": 7, "column": 3,
                 "message": "step `a`: undefined variable `x` (hosts w1, w2)"},
                {"file": null, "line": null, "column": null,
                 "message": "plans/b.yml: cannot read it"},
            ])
        );
    }
}
