//! Reading plan files from the project: YAML parsing, `import` resolution and the
//! host-independent checks (one kind per step, unique ids, `if_changed` references).
//!
//! This is the only part of `plan` that touches the file system.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_saphyr::Spanned;

use super::fact_type::FactType;
use super::hints::UnknownKey;
use super::kinds::command::CommandStep;
use super::kinds::file::FileStep;
use super::kinds::verify::VerifyStep;
use super::kinds::{Kind, StepKind};
use super::model::{FactSpec, PlanFile, StepSpec, When};
use crate::location::Location;

/// A plan error: where (the file, and the line/column when known) and what. Only a plan
/// that cannot be read at all has no location (its message names the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub location: Option<Location>,
    /// What is wrong, without the hints.
    pub message: String,
    /// What to do instead (an Ansible keyword's wsdeploy way), said after the message
    /// one `hint:` line each.
    pub hints: Vec<String>,
    /// The unknown key the error is about, when it is one (boxed: the error stays small,
    /// `clippy::result_large_err`).
    pub unknown_key: Option<Box<UnknownKey>>,
}

impl PlanError {
    /// An error with no place in a file (the plan cannot be read).
    fn unplaced(what: impl std::fmt::Display) -> Self {
        Self {
            location: None,
            message: what.to_string(),
            hints: Vec::new(),
            unknown_key: None,
        }
    }

    fn at(file: &Path, line: u64, column: u64, what: impl std::fmt::Display) -> Self {
        Self {
            location: Some(Location::at(file.display().to_string(), line, column)),
            ..Self::unplaced(what)
        }
    }

    fn in_file(file: &Path, what: impl std::fmt::Display) -> Self {
        Self {
            location: Some(Location::file(file.display().to_string())),
            ..Self::unplaced(what)
        }
    }

    /// The message, then its hints (one `hint:` line each): what follows the place.
    #[must_use]
    pub fn what(&self) -> String {
        let hints: String = self.hints.iter().map(|h| format!("\nhint: {h}")).collect();
        format!("{}{hints}", self.message)
    }
}

/// `file:line:column: message`, then the hints.
impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.what()),
            None => f.write_str(&self.what()),
        }
    }
}

impl std::error::Error for PlanError {}

/// A loaded, validated plan: its plays in order.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub path: PathBuf,
    pub plays: Vec<Arc<Play>>,
}

/// One play: the steps for the hosts matching `hosts`.
#[derive(Debug)]
pub struct Play {
    pub name: String,
    pub file: PathBuf,
    pub hosts: String,
    pub defaults: serde_json::Map<String, serde_json::Value>,
    pub vars: serde_json::Map<String, serde_json::Value>,
    pub secrets: Vec<String>,
    /// Variables read from each host before rendering (`facts:`).
    pub facts: Vec<FactSpec>,
    pub preflight: Vec<StepDef>,
    pub steps: Vec<StepDef>,
}

/// One validated step with where it was written.
#[derive(Debug)]
pub struct StepDef {
    pub id: String,
    pub line: u64,
    pub column: u64,
    /// Description shown in reports (a template).
    pub name: Option<String>,
    /// What to check when the step fails (a template).
    pub hint: Option<String>,
    /// The hosts it runs for.
    pub when: Option<When>,
    /// Its kind, with its spec.
    pub kind: StepKind,
}

/// Reads and validates a plan file (and the files it imports).
///
/// # Errors
/// A missing file, a YAML error (with line and column), or a semantic error in a step.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    load_from(path, read_plan_file(path)?)
}

/// [`load`] with the text of the plan file itself given (the files it imports are read):
/// `validate` reloads a plan with a found mistake set aside, to find the next one.
///
/// # Errors
/// As [`load`].
pub fn load_text(path: &Path, text: &str) -> Result<Plan, PlanError> {
    load_from(path, parse_plan_text(path, text)?)
}

fn load_from(path: &Path, file: PlanFile) -> Result<Plan, PlanError> {
    let mut seen = HashSet::new();
    let name = file.name.clone();
    let mut plays = Vec::new();
    collect_plays(path, file, &mut plays, &mut seen)?;
    if plays.is_empty() {
        return Err(PlanError::at(
            path,
            1,
            1,
            "the plan has no plays: give it `hosts:` and `steps:`, or `import:` other plans",
        ));
    }
    Ok(Plan {
        name,
        path: path.to_path_buf(),
        plays,
    })
}

fn read_plan_file(path: &Path) -> Result<PlanFile, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        PlanError::unplaced(format!(
            "cannot read plan {}: {e} (PLAN defaults to plans/site.yml in the project directory)",
            path.display()
        ))
    })?;
    parse_plan_text(path, &text)
}

fn parse_plan_text(path: &Path, text: &str) -> Result<PlanFile, PlanError> {
    if text.trim().is_empty() {
        return Err(PlanError::at(
            path,
            1,
            1,
            "the plan file is empty: expected a mapping with `name:` and `hosts:`/`steps:` or `import:`",
        ));
    }
    serde_saphyr::from_str::<PlanFile>(text).map_err(|e| yaml_error(path, &e))
}

/// Turns a YAML error into `file:line:column: message` plus the snippet.
#[must_use]
pub fn yaml_error(path: &Path, e: &serde_saphyr::Error) -> PlanError {
    let rendered = e.to_string();
    let rendered = rendered.replace("<input>", &path.display().to_string());
    let explained = super::hints::explain(rendered.strip_prefix("error: ").unwrap_or(&rendered));
    let rendered = &explained.message;
    let error = match e.location() {
        Some(loc) => {
            let body = rendered
                .strip_prefix(&format!("line {} column {}: ", loc.line(), loc.column()))
                .unwrap_or(rendered)
                .to_owned();
            PlanError::at(path, loc.line(), loc.column(), body)
        }
        None => PlanError::in_file(path, rendered),
    };
    PlanError {
        hints: explained.hint.into_iter().collect(),
        unknown_key: explained.unknown_key.map(Box::new),
        ..error
    }
}

fn collect_plays(
    path: &Path,
    file: PlanFile,
    plays: &mut Vec<Arc<Play>>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), PlanError> {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if !seen.insert(canonical) {
        return Err(PlanError::in_file(path, "imported twice (import cycle?)"));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    for import in &file.import {
        let target = dir.join(&import.value);
        if !target.is_file() {
            return Err(PlanError::at(
                path,
                import.referenced.line(),
                import.referenced.column(),
                format!(
                    "imported plan `{}` not found ({})",
                    import.value,
                    target.display()
                ),
            ));
        }
        let inner = read_plan_file(&target)?;
        collect_plays(&target, inner, plays, seen)?;
    }
    match (&file.hosts, file.steps.is_empty()) {
        (None, true) => {
            if file.import.is_empty() {
                return Err(PlanError::at(
                    path,
                    1,
                    1,
                    "expected `hosts:` and `steps:` (a play) or `import:` (a list of plans)",
                ));
            }
            Ok(())
        }
        (None, false) => Err(PlanError::at(
            path,
            1,
            1,
            "`steps:` needs `hosts:` (the inventory group or pattern the play targets)",
        )),
        (Some(_), true) => Err(PlanError::at(
            path,
            1,
            1,
            "`hosts:` is set but `steps:` is empty",
        )),
        (Some(hosts), false) => {
            let hosts = hosts.clone();
            let mut ids = HashSet::new();
            let preflight = validate_steps(path, file.preflight, &mut ids, true)?;
            let steps = validate_steps(path, file.steps, &mut ids, false)?;
            let facts = validate_facts(path, file.facts)?;
            plays.push(Arc::new(Play {
                name: file.name,
                file: path.to_path_buf(),
                hosts,
                defaults: file.defaults,
                vars: file.vars,
                secrets: file.secrets,
                facts,
                preflight,
                steps,
            }));
            Ok(())
        }
    }
}

/// Each fact names a variable once, with a key to read.
fn validate_facts(path: &Path, specs: Vec<Spanned<FactSpec>>) -> Result<Vec<FactSpec>, PlanError> {
    let mut names = HashSet::new();
    let mut facts = Vec::with_capacity(specs.len());
    for spec in specs {
        let (line, column) = (spec.referenced.line(), spec.referenced.column());
        let fact = spec.value;
        let valid_name = !fact.name.is_empty()
            && fact
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !fact.name.starts_with(|c: char| c.is_ascii_digit());
        if !valid_name {
            return Err(PlanError::at(
                path,
                line,
                column,
                format!(
                    "fact name `{}` is not a variable name (letters, digits, `_`)",
                    fact.name
                ),
            ));
        }
        if let Err(message) = fact_source_fields(&fact) {
            return Err(PlanError::at(
                path,
                line,
                column,
                format!("fact `{}`: {message}", fact.name),
            ));
        }
        if !names.insert(fact.name.clone()) {
            return Err(PlanError::at(
                path,
                line,
                column,
                format!("fact `{}` is defined twice", fact.name),
            ));
        }
        let fact =
            typed_fact(fact).map_err(|message| PlanError::at(path, line, column, message))?;
        facts.push(fact);
    }
    Ok(facts)
}

/// Exactly one source (`json`, `ini`, `exists`, `cmdline`), with the fields it needs and
/// no other.
fn fact_source_fields(fact: &FactSpec) -> Result<(), String> {
    let sources = [&fact.json, &fact.ini, &fact.exists, &fact.cmdline]
        .iter()
        .filter(|s| s.is_some())
        .count();
    if sources != 1 {
        return Err(
            "give exactly one of `json:` (a JSON file), `ini:` (an INI file, with `section:`), `exists:` (a path) or `cmdline:` (a systemd unit)"
                .into(),
        );
    }
    if fact.cmdline.is_some() && !is_long_option(&fact.key) {
        return Err(format!(
            "`cmdline:` reads a long option: `key` is its name without the dashes (e.g. `workers` for `--workers`), not `{}`",
            fact.key
        ));
    }
    if fact.section.is_some() != fact.ini.is_some() {
        return Err("`section:` goes with `ini:`, and `ini:` needs it".into());
    }
    if fact.exists.is_some() {
        if !fact.key.is_empty() {
            return Err("`exists:` reads no key: remove `key:`".into());
        }
        if fact.default != serde_json::Value::Bool(false) {
            return Err("`exists:` is true or false: its `default` is `false`".into());
        }
    } else if fact.key.is_empty() {
        return Err("`key` is empty".into());
    }
    Ok(())
}

/// A long option's name as optparse/argparse spell it: a letter or digit, then letters,
/// digits, `-` and `_`.
fn is_long_option(key: &str) -> bool {
    key.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The fact with its type settled (given or inferred from the default) and its default
/// checked against it.
fn typed_fact(mut fact: FactSpec) -> Result<FactSpec, String> {
    let kind = fact
        .kind
        .or_else(|| FactType::inferred(&fact.default))
        .ok_or_else(|| {
            format!(
                "fact `{}`: give it a `type` (port, integer, boolean, host_name, site_name, word, path): its default does not say which",
                fact.name
            )
        })?;
    fact.default = kind
        .check(&fact.default)
        .map_err(|e| format!("fact `{}`: `default`: {e}", fact.name))?;
    fact.kind = Some(kind);
    Ok(fact)
}

fn validate_steps(
    path: &Path,
    specs: Vec<Spanned<StepSpec>>,
    ids: &mut HashSet<String>,
    preflight: bool,
) -> Result<Vec<StepDef>, PlanError> {
    let mut out: Vec<StepDef> = Vec::new();
    for (index, spanned) in specs.into_iter().enumerate() {
        let (line, column) = (spanned.referenced.line(), spanned.referenced.column());
        let err = |what: String| PlanError::at(path, line, column, what);
        let written = Written::of(spanned.value, path);
        let (kind, loaded) = one_kind(written.kinds, index).map_err(err)?;
        if preflight && !matches!(kind, Kind::Command | Kind::Verify) {
            return Err(err(format!(
                "`preflight` holds checks only (command, verify), not `{}`",
                kind.key()
            )));
        }
        let id = written.id.unwrap_or_else(|| {
            format!(
                "{}{}-{}",
                if preflight { "preflight-" } else { "" },
                kind.key(),
                index + 1
            )
        });
        if !ids.insert(id.clone()) {
            return Err(err(format!(
                "duplicate step id `{id}`: ids must be unique within a play"
            )));
        }
        check_if_changed(&written.extras.if_changed, kind, &out).map_err(err)?;
        check_kind_fields(&written.extras, kind).map_err(err)?;
        out.push(StepDef {
            id,
            line,
            column,
            name: written.name,
            hint: written.hint,
            when: written.when,
            kind: loaded.map_err(err)?,
        });
    }
    Ok(out)
}

/// A step as written, taken apart: its own fields, the fields that belong to one kind,
/// and each kind it has with that kind loaded (or why it cannot be).
struct Written {
    id: Option<String>,
    name: Option<String>,
    hint: Option<String>,
    when: Option<When>,
    extras: Extras,
    kinds: Vec<(Kind, Result<StepKind, String>)>,
}

/// The fields of a step that only `command` (`if_changed`, `unless`, `creates`,
/// `expect_exit`) or `verify` (`retries`, `delay`, `warn_only`) take, and `timeout`
/// (both).
struct Extras {
    if_changed: Vec<String>,
    unless: Option<String>,
    creates: Option<String>,
    expect_exit: Option<Vec<i32>>,
    timeout: Option<u64>,
    retries: Option<u32>,
    delay: Option<f64>,
    warn_only: bool,
}

impl Written {
    /// `spec` taken apart (`plan` is the plan file, which `content_from` is relative to).
    fn of(spec: StepSpec, plan: &Path) -> Self {
        let StepSpec {
            id,
            name,
            hint,
            if_changed,
            when,
            nginx,
            ini,
            json,
            file,
            line,
            requirements,
            compose_ports,
            command,
            unless,
            creates,
            expect_exit,
            timeout,
            verify,
            retries,
            delay,
            warn_only,
        } = spec;
        let extras = Extras {
            if_changed,
            unless,
            creates,
            expect_exit,
            timeout,
            retries,
            delay,
            warn_only,
        };
        let kinds = [
            nginx.map(|s| (Kind::Nginx, s.checked().map(StepKind::Nginx))),
            ini.map(|s| (Kind::Ini, Ok(StepKind::Ini(s)))),
            json.map(|s| (Kind::Json, Ok(StepKind::Json(s)))),
            file.map(|s| (Kind::File, FileStep::load(s, plan).map(StepKind::File))),
            line.map(|s| (Kind::Line, Ok(StepKind::Line(s)))),
            requirements.map(|s| (Kind::Requirements, Ok(StepKind::Requirements(s)))),
            compose_ports.map(|s| (Kind::ComposePorts, Ok(StepKind::ComposePorts(s)))),
            command.map(|run| {
                let step = CommandStep {
                    run,
                    if_changed: extras.if_changed.clone(),
                    unless: extras.unless.clone(),
                    creates: extras.creates.clone(),
                    expect_exit: extras.expect_exit.clone(),
                    timeout: extras.timeout,
                };
                (Kind::Command, Ok(StepKind::Command(step)))
            }),
            verify.map(|s| {
                let step = s.check().map(|check| VerifyStep {
                    check,
                    retries: extras.retries,
                    delay: extras.delay,
                    timeout: extras.timeout,
                    warn_only: extras.warn_only,
                });
                (Kind::Verify, step.map(StepKind::Verify))
            }),
        ];
        Self {
            id,
            name,
            hint,
            when,
            extras,
            kinds: kinds.into_iter().flatten().collect(),
        }
    }
}

/// The one kind a step has (`nginx`, `ini`, …, `verify`), with its spec loaded (or why
/// it cannot be: reported once the step's other fields are checked).
fn one_kind(
    mut kinds: Vec<(Kind, Result<StepKind, String>)>,
    index: usize,
) -> Result<(Kind, Result<StepKind, String>), String> {
    match kinds.len() {
        1 => Ok(kinds.remove(0)),
        0 => Err(format!(
            "step {} has no kind: give it exactly one of {}",
            index + 1,
            Kind::keys(|_| true)
        )),
        _ => {
            let names: Vec<_> = kinds.iter().map(|(k, _)| k.key()).collect();
            Err(format!(
                "step {} has several kinds ({}): split it into one step per kind",
                index + 1,
                names.join(", ")
            ))
        }
    }
}

/// `if_changed` is on a `command` step and names earlier steps that edit a file.
fn check_if_changed(if_changed: &[String], kind: Kind, earlier: &[StepDef]) -> Result<(), String> {
    if !if_changed.is_empty() && kind != Kind::Command {
        return Err(format!(
            "`if_changed` applies to `command` steps, not `{}`",
            kind.key()
        ));
    }
    for dep in if_changed {
        match earlier.iter().find(|s| &s.id == dep) {
            Some(s) if s.kind.kind().edits_file() => {}
            Some(_) => {
                return Err(format!(
                    "`if_changed: {dep}` must name a step that edits a file ({})",
                    Kind::keys(Kind::edits_file)
                ));
            }
            None => {
                let known: Vec<_> = earlier
                    .iter()
                    .filter(|s| s.kind.kind().edits_file())
                    .map(|s| s.id.as_str())
                    .collect();
                return Err(format!(
                    "`if_changed: {dep}` names no earlier step; earlier file steps: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
    }
    Ok(())
}

/// Fields that belong to one kind (`unless`, `expect_exit`, `retries`, …) appear only on it.
fn check_kind_fields(spec: &Extras, kind: Kind) -> Result<(), String> {
    if kind != Kind::Command && spec.unless.is_some() {
        return Err(
            "`unless` applies to `command` steps (the check that makes them run)".to_owned(),
        );
    }
    if kind != Kind::Command && spec.creates.is_some() {
        return Err(
            "`creates` applies to `command` steps (the path whose absence makes them run)"
                .to_owned(),
        );
    }
    if spec.creates.is_some() && (spec.unless.is_some() || !spec.if_changed.is_empty()) {
        return Err(
            "`creates` is a command's only condition: drop `unless`/`if_changed`, or write the path test into `unless` (`unless: test -e PATH`)"
                .to_owned(),
        );
    }
    if kind != Kind::Command && spec.expect_exit.is_some() {
        return Err(
            "`expect_exit` applies to `command` steps (use verify.command.expect_exit in checks)"
                .to_owned(),
        );
    }
    if kind != Kind::Verify && (spec.retries.is_some() || spec.delay.is_some()) {
        return Err("`retries`/`delay` apply to `verify` steps".to_owned());
    }
    if kind != Kind::Verify && spec.warn_only {
        return Err("`warn_only` applies to `verify` steps".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn an_unknown_key_error_carries_the_key_and_its_hint_apart() {
        let text =
            "name: t\nhosts: all\nsteps:\n  - command: \"true\"\n    notify: r\n  - comand: x\n";
        let e = super::load_text(Path::new("plans/t.yml"), text).unwrap_err();
        let key = e.unknown_key.as_deref().expect("an unknown key");
        assert_eq!(
            (key.key.as_str(), key.slip_for.as_deref()),
            ("notify", None)
        );
        assert!(!e.message.contains("hint:"), "{}", e.message);
        assert_eq!(
            e.hints,
            [
                "`notify` is an Ansible keyword; wsdeploy has no handlers: a `command` step with `if_changed: [STEP_ID]` runs when that step changed something"
            ]
        );
        assert!(
            e.to_string()
                .starts_with("plans/t.yml:5:5: unknown field `notify`, expected one of"),
            "{e}"
        );
        assert!(
            e.to_string().ends_with(&format!("\nhint: {}", e.hints[0])),
            "{e}"
        );
    }

    fn first_error(steps: &str) -> String {
        let text = format!("name: t\nhosts: all\nsteps:\n{steps}");
        match super::load_text(Path::new("/nonexistent/plans/t.yml"), &text) {
            Ok(_) => "loaded".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_kinds_own_error_comes_after_the_step_fields_are_checked() {
        assert_eq!(
            first_error("  - file: {path: /x, content_from: missing.j2}\n    unless: 'true'\n"),
            "/nonexistent/plans/t.yml:4:5: `unless` applies to `command` steps (the check that makes them run)"
        );
        assert!(
            first_error("  - file: {path: /x, content_from: missing.j2}\n").starts_with(
                "/nonexistent/plans/t.yml:4:5: `content_from: missing.j2`: cannot read"
            ),
        );
        assert_eq!(
            first_error("  - verify: {}\n    retries: 2\n"),
            "/nonexistent/plans/t.yml:4:5: a `verify` step needs exactly one of websocket, http, command"
        );
        assert_eq!(
            first_error(
                "  - nginx: {file: /x, context: http, ensure: 'a b;'}\n    ini: {file: /y, set: {}}\n"
            ),
            "/nonexistent/plans/t.yml:4:5: step 1 has several kinds (nginx, ini): split it into one step per kind"
        );
    }
}
