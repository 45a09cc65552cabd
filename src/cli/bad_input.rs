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
    pub message: String,
    pub kind: InputKind,
    /// A plan's other problems, also in `message` (one `file:line:col: message` line each).
    pub more: Vec<Problem>,
    /// The error in parts, when whoever made it knows its place ([`BadInput::placed`]);
    /// `None`: only the text is known, and `--json` reads the place and the hints from it.
    /// Boxed: the error stays small (`clippy::result_large_err`).
    pub said: Option<Box<Said>>,
}

/// A bad-input error in parts: `message` is `LOCATION: BODY` then one `hint: HINT` line
/// per hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub location: Location,
    /// What is wrong, without the place and the hints.
    pub body: String,
    pub hints: Vec<String>,
}

impl Said {
    /// The parts of `text` (what an error at `location` says after its place): the
    /// `hint:` lines it ends with, kept apart.
    #[must_use]
    pub fn of(location: Location, text: &str) -> Self {
        let mut lines: Vec<&str> = text.split('\n').collect();
        let mut hints = Vec::new();
        while lines.len() > 1 {
            match lines.last().and_then(|l| l.strip_prefix("hint: ")) {
                Some(hint) => {
                    hints.insert(0, hint.to_owned());
                    lines.pop();
                }
                None => break,
            }
        }
        Self {
            location,
            body: lines.join("\n"),
            hints,
        }
    }

    /// `LOCATION: BODY`, then the hints, one `hint:` line each.
    fn text(&self) -> String {
        let hints: String = self.hints.iter().map(|h| format!("\nhint: {h}")).collect();
        format!("{}: {}{hints}", self.location, self.body)
    }
}

impl From<String> for BadInput {
    fn from(message: String) -> Self {
        Self::of(InputKind::Usage, message)
    }
}

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl BadInput {
    /// An error of this kind, known only as text.
    pub fn of(kind: InputKind, message: String) -> Self {
        Self {
            message,
            kind,
            more: Vec::new(),
            said: None,
        }
    }

    /// An error of this kind at a known place.
    #[must_use]
    pub fn placed(kind: InputKind, said: Said) -> Self {
        Self {
            message: said.text(),
            kind,
            more: Vec::new(),
            said: Some(Box::new(said)),
        }
    }

    /// Each value of `secrets` masked in every text.
    #[must_use]
    pub fn masked(self, secrets: &[String]) -> Self {
        let mask = |text: &str| crate::mask::mask(text, secrets);
        Self {
            message: mask(&self.message),
            said: self.said.map(|said| {
                Box::new(Said {
                    location: Location {
                        file: mask(&said.location.file),
                        ..said.location
                    },
                    body: mask(&said.body),
                    hints: said.hints.iter().map(|h| mask(h)).collect(),
                })
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
        let Some(said) = &self.said else {
            return self.json_from_text(exit);
        };
        let hint = (!said.hints.is_empty()).then(|| said.hints.join("\n"));
        let at = &said.location;
        let (file, line, column, message) = match (at.line, at.column) {
            (Some(line), Some(column)) => {
                (Some(&at.file), Some(line), Some(column), said.body.clone())
            }
            // A place without a column stays in the message, as in the text.
            _ => (None, None, None, format!("{at}: {}", said.body)),
        };
        self.json_with(exit, file, line, column, message, hint)
    }

    /// [`BadInput::json`] for an error known only as text: its place read from the
    /// start of its first line, its hints from its `hint:` lines.
    fn json_from_text(&self, exit: u8) -> Value {
        let (body, hints): (Vec<&str>, Vec<&str>) = self
            .message
            .lines()
            .partition(|l| !l.trim_start().starts_with("hint: "));
        let hint: Vec<&str> = hints
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix("hint: "))
            .collect();
        let body = body.join("\n");
        let place = place(&body);
        let message = place
            .as_ref()
            .map_or(body.as_str(), |p| &body[p.end..])
            .to_owned();
        self.json_with(
            exit,
            place.as_ref().map(|p| &p.file),
            place.as_ref().map(|p| p.line),
            place.as_ref().map(|p| p.column),
            message,
            (!hint.is_empty()).then(|| hint.join("\n")),
        )
    }

    /// The `--json` error object of these parts.
    fn json_with(
        &self,
        exit: u8,
        file: Option<&String>,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
        hint: Option<String>,
    ) -> Value {
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

/// Where an error's first line says it is.
struct Place {
    file: String,
    line: u64,
    column: u64,
    /// Where the text after the place starts.
    end: usize,
}

/// `FILE:LINE:COL: ` (a [`crate::location::Location`] with its column: plans,
/// inventories, vaulted values, `wsdeploy.toml`) at the start of the text, after an
/// optional `host NAME: `.
fn place(text: &str) -> Option<Place> {
    let start = text
        .strip_prefix("host ")
        .and_then(|rest| rest.find(": ").map(|i| "host ".len() + i + 2))
        .filter(|&i| place_at(text, i).is_some())
        .unwrap_or(0);
    place_at(text, start)
}

fn place_at(text: &str, start: usize) -> Option<Place> {
    let rest = text.get(start..)?;
    let first = rest.lines().next()?;
    let mut parts = first.splitn(4, ':');
    let (file, line, col) = (parts.next()?, parts.next()?, parts.next()?);
    let after = parts.next()?.strip_prefix(' ')?;
    let used = first.len() - after.len();
    let (file, line, column) = (file.to_owned(), line.parse().ok()?, col.parse().ok()?);
    if file.is_empty() || file.contains(' ') {
        return None;
    }
    Some(Place {
        file,
        line,
        column,
        end: start + used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_error_gives_its_place_and_hint() {
        let e = BadInput::of(
            InputKind::Plan,
            "plans/site.yml:4:5: unknown field `notify`\nhint: wsdeploy has no handlers".to_owned(),
        );
        let v = e.json(3);
        assert_eq!(v["kind"], "plan");
        assert_eq!(v["file"], "plans/site.yml");
        assert_eq!(v["line"], 4);
        assert_eq!(v["column"], 5);
        assert_eq!(v["message"], "unknown field `notify`");
        assert_eq!(v["hint"], "wsdeploy has no handlers");
        assert_eq!(v["exit"], 3);
    }

    #[test]
    fn a_placed_error_gives_its_typed_place_and_hints_and_says_the_same_text() {
        let said = Said::of(
            Location::at("plans/my site.yml", 4, 5),
            "unknown field `notify`\nhint: wsdeploy has no handlers",
        );
        assert_eq!(said.body, "unknown field `notify`");
        assert_eq!(said.hints, ["wsdeploy has no handlers"]);
        let e = BadInput::placed(InputKind::Plan, said);
        let text = "plans/my site.yml:4:5: unknown field `notify`\nhint: wsdeploy has no handlers";
        assert_eq!(e.to_string(), text);
        let v = e.json(3);
        assert_eq!(v["file"], "plans/my site.yml");
        assert_eq!(v["line"], 4);
        assert_eq!(v["column"], 5);
        assert_eq!(v["message"], "unknown field `notify`");
        assert_eq!(v["hint"], "wsdeploy has no handlers");
        // Read back from the text, a file name with a space is no place at all.
        assert_eq!(
            BadInput::of(InputKind::Plan, text.to_owned()).json(3)["file"],
            Value::Null
        );
    }

    #[test]
    fn a_placed_error_without_a_column_keeps_its_place_in_the_message() {
        let e = BadInput::placed(
            InputKind::Plan,
            Said::of(Location::file("plans/a.yml"), "cannot read it"),
        );
        let v = e.json(3);
        assert_eq!(v["file"], Value::Null);
        assert_eq!(v["message"], "plans/a.yml: cannot read it");
        assert_eq!(v["hint"], Value::Null);
        assert_eq!(v, BadInput::of(InputKind::Plan, e.message.clone()).json(3));
    }

    #[test]
    fn the_other_problems_give_their_place_from_their_location() {
        use crate::location::Location;
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
            ..BadInput::of(InputKind::Plan, "plans/a.yml:1:1: x".to_owned())
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

    #[test]
    fn an_inventory_error_and_a_host_prefix_are_read_too() {
        let v = BadInput::of(
            InputKind::Inventory,
            "inventories/x/hosts.yml:3:7: mapping values are not allowed".to_owned(),
        )
        .json(3);
        assert_eq!(v["file"], "inventories/x/hosts.yml");
        assert_eq!(v["line"], 3);
        assert_eq!(v["column"], 7);
        assert_eq!(v["message"], "mapping values are not allowed");
        let v =
            BadInput::from("host w1: plans/a.yml:2:3: undefined variable `x`".to_owned()).json(3);
        assert_eq!(v["file"], "plans/a.yml");
        assert_eq!(v["message"], "undefined variable `x`");
        let v = BadInput::from("--forks `0`: give 1 or more".to_owned()).json(3);
        assert_eq!(v["file"], Value::Null);
        assert_eq!(v["kind"], "usage");
        assert_eq!(v["hint"], Value::Null);
    }
}
