//! Bad input (exit 3, nothing touched on any host): what was wrong, of which kind and
//! where. Printed as text on standard error and, under `--json`, also as one `error`
//! object on standard output (docs/json.md).

use serde::Serialize;
use serde_json::{Value, json};

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
}

impl From<String> for BadInput {
    fn from(message: String) -> Self {
        Self {
            message,
            kind: InputKind::Usage,
            more: Vec::new(),
        }
    }
}

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl BadInput {
    /// An error of this kind.
    pub fn of(kind: InputKind, message: String) -> Self {
        Self {
            message,
            kind,
            more: Vec::new(),
        }
    }

    /// Each value of `secrets` masked in every text.
    #[must_use]
    pub fn masked(self, secrets: &[String]) -> Self {
        Self {
            message: crate::mask::mask(&self.message, secrets),
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
        json!({
            "event": "error",
            "schema_version": 1,
            "kind": self.kind,
            "message": message,
            "file": place.as_ref().map(|p| p.file.clone()),
            "line": place.as_ref().map(|p| p.line),
            "column": place.as_ref().map(|p| p.column),
            "hint": (!hint.is_empty()).then(|| hint.join("\n")),
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
