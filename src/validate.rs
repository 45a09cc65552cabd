//! `wsdeploy validate`: the offline lint of plans. Nothing is contacted; every problem
//! found is reported (not only the first), each as `file:line:col: message`.
//!
//! Checks: the plan parses and loads (unknown keys, step kinds, ids, `if_changed`
//! references: `plan::load`), every template value compiles (MiniJinja syntax), calls of
//! functions wsdeploy does not have (`lookup(...)`) are named as such, the `ensure:` text
//! of `nginx:` steps parses as nginx (`nginx_snippets`), and with an
//! inventory every variable a template uses is defined for every host the play targets
//! (following variables that are themselves templates), then each host's rendering is
//! tried as `apply` would (absolute paths, modes, regular expressions, URLs). Steps that
//! can never run are warnings (`never_runs`).

mod every_load_error;
mod filters;
mod never_runs;
mod nginx_snippets;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde_json::{Map, Value};

use crate::inventory::{Host, Inventory};
use crate::location::Location;
use crate::plan::{self, Play, StepDef, StepKind};
use crate::report::out::outln;
use crate::template::{self, TemplateError};

/// One problem: where, how much it weighs, what, and for which hosts (empty: every host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in which file (shown `file:line:col`).
    pub location: Location,
    pub severity: Severity,
    pub message: String,
    pub hosts: Vec<String>,
}

/// Whether a problem makes the plan invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The plan is invalid.
    Error,
    /// Shown (`warning: `), and the plan is still valid.
    Warning,
    /// Said (`note: `), not a problem.
    Note,
}

impl Severity {
    /// How a message of this severity starts.
    fn prefix(self) -> &'static str {
        match self {
            Self::Error => "",
            Self::Warning => "warning: ",
            Self::Note => "note: ",
        }
    }
}

impl Problem {
    /// A warning or a note is shown but does not make the plan invalid.
    #[must_use]
    pub fn is_warning(&self) -> bool {
        self.severity != Severity::Error
    }
}

impl Problem {
    /// What is wrong, without the place: `warning: ` or `note: ` first when it is one,
    /// the hosts last (`(host w1)`, `(hosts w1, w2)`) when not every host has it.
    #[must_use]
    pub fn what(&self) -> String {
        let hosts = match self.hosts.as_slice() {
            [] => String::new(),
            [one] => format!(" (host {one})"),
            many => format!(" (hosts {})", many.join(", ")),
        };
        format!("{}{}{hosts}", self.severity.prefix(), self.message)
    }
}

/// `file:line:col: what`.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.what())
    }
}

/// What the plans are checked against.
pub struct Context<'a> {
    /// With `-i`: variables are checked for every host a play targets.
    pub inventory: Option<&'a Inventory>,
    /// `-e` values (highest precedence).
    pub extra: &'a Map<String, Value>,
    /// `--limit`.
    pub limit: Option<&'a str>,
}

/// The plan files to check: the given ones (relative to the project directory when
/// they exist there, else to the current directory), or every `plans/*.yml`/`*.yaml` of the
/// project (sorted).
#[must_use]
pub fn plan_files(project: &Path, given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given
            .iter()
            .map(|p| {
                let in_project = project.join(p);
                if p.is_absolute() || !in_project.exists() {
                    p.clone()
                } else {
                    tidy(&in_project)
                }
            })
            .collect();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(project.join("plans"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|f| tidy(&f)).collect()
}

/// `plans/x.yml` rather than `./plans/x.yml` when the project is the current directory.
fn tidy(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}

/// Every problem of one plan file (and the files it imports).
#[must_use]
pub fn check_plan(path: &Path, cx: &Context<'_>) -> Vec<Problem> {
    let (plan, load_errors) = every_load_error::load(path);
    let mut problems = Problems::default();
    for error in &load_errors {
        problems.0.push(load_problem(path, error));
    }
    if let Some(plan) = plan {
        if let Some(inventory) = cx.inventory {
            warn_unmatched_hosts(&plan, inventory, &mut problems);
        }
        let env = environment();
        for play in &plan.plays {
            check_play(play, cx, &env, &mut problems);
        }
    }
    let mut all = problems.0;
    // Reading order: file, then line and column.
    all.sort_by(|a, b| a.location.cmp(&b.location));
    all
}

/// `wsdeploy validate`: checks the plans, prints every problem and a closing line, and
/// returns the exit code (0 valid, 3 problems).
///
/// # Errors
/// No plan to check (bad input). The inventory, when given, and the `-e` values were
/// read by the caller (with the vault passwords).
pub fn run(
    project: &Path,
    plans: &[PathBuf],
    inventory: Option<&crate::inventory::Inventory>,
    extra: &Map<String, Value>,
    limit: Option<&str>,
) -> Result<u8, String> {
    let files = plan_files(project, plans);
    if files.is_empty() {
        return Err(format!(
            "no plan to validate: {} has no *.yml files (pass PLAN…)",
            project.join("plans").display()
        ));
    }
    let cx = Context {
        inventory,
        extra,
        limit,
    };
    let mut count = 0;
    // A file imported by several plans (or also given itself) says each problem once.
    let mut shown = HashSet::new();
    for file in &files {
        for p in check_plan(file, &cx) {
            if shown.insert(p.to_string()) {
                outln!("{p}");
                count += usize::from(!p.is_warning());
            }
        }
    }
    let what = if files.len() == 1 {
        files[0].display().to_string()
    } else {
        format!("{} plans", files.len())
    };
    let against = if cx.inventory.is_some() {
        " (variables checked against the inventory)"
    } else {
        " (pass -i INV to check variables too)"
    };
    if count == 0 {
        outln!("{what}: valid{against}");
        Ok(crate::exit::OK)
    } else {
        outln!(
            "{what}: {count} problem{}",
            if count == 1 { "" } else { "s" }
        );
        Ok(crate::exit::BAD_INPUT)
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    /// Records an error; the same error for another host adds the host.
    fn add(&mut self, location: Location, message: String, host: Option<&str>) {
        self.add_with(Severity::Error, location, message, host);
    }

    /// Records a problem; the same problem for another host adds the host.
    fn add_with(
        &mut self,
        severity: Severity,
        location: Location,
        message: String,
        host: Option<&str>,
    ) {
        if let Some(p) = self
            .0
            .iter_mut()
            .find(|p| p.location == location && p.severity == severity && p.message == message)
        {
            if let Some(h) = host
                && !p.hosts.iter().any(|x| x == h)
            {
                p.hosts.push(h.to_owned());
            }
            return;
        }
        self.0.push(Problem {
            location,
            severity,
            message,
            hosts: host.map(|h| vec![h.to_owned()]).unwrap_or_default(),
        });
    }
}

/// A load error as a problem: its location (the plan file when it has none, the file
/// could not be read) and its message.
fn load_problem(path: &Path, error: &plan::PlanError) -> Problem {
    Problem {
        location: error
            .location
            .clone()
            .unwrap_or_else(|| Location::file(path.display().to_string())),
        severity: Severity::Error,
        message: error.what(),
        hosts: Vec::new(),
    }
}

/// A line and column counted in `usize` (positions found in the plan's text).
fn at(file: &str, line: usize, column: usize) -> Location {
    let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    Location::at(file, wide(line), wide(column))
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

/// A step with its template fields and the names each one uses.
type StepTemplates<'a> = (&'a StepDef, Vec<(Field, HashSet<String>)>);

/// A template value of a step with its field path (`nginx.ensure`).
struct Field {
    name: String,
    source: String,
}

/// The fields of a step whose values are rendered (ids and `if_changed` are not).
fn template_fields(def: &StepDef) -> Vec<Field> {
    let mut out = Vec::new();
    let own = [("name", &def.name), ("hint", &def.hint)]
        .map(|(key, value)| (key, Value::from(value.clone())));
    for (key, value) in own.into_iter().chain(def.kind.written()) {
        collect_strings(key, &value, &mut out);
    }
    if let StepKind::File(file) = &def.kind
        && let Some(from) = &file.content_from
    {
        for field in out.iter_mut().filter(|f| f.name == "file.content") {
            field.name = format!("file.content_from ({from})");
        }
    }
    out
}

fn collect_strings(path: &str, value: &Value, out: &mut Vec<Field>) {
    match value {
        Value::String(s) if is_template(s) => out.push(Field {
            name: path.to_owned(),
            source: s.clone(),
        }),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(path, v, out)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| collect_strings(&format!("{path}.{k}"), v, out)),
        _ => {}
    }
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The names a template uses, or its syntax error.
fn names_used(env: &Environment<'static>, source: &str) -> Result<HashSet<String>, String> {
    env.template_from_str(source)
        .map(|t| t.undeclared_variables(false))
        .map_err(|e| describe(&e))
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    if let Some(detail) = e.detail()
        && !text.contains(detail)
    {
        text.push_str(": ");
        text.push_str(detail);
    }
    format!("template syntax error: {text}")
}

fn check_play(
    play: &std::sync::Arc<Play>,
    cx: &Context<'_>,
    env: &Environment<'static>,
    out: &mut Problems,
) {
    let file = play.file.display().to_string();
    check_plan_vars(play, &file, env, out);
    check_nginx_snippets(play, &file, out);
    for (def, message) in never_runs::warnings(play, env) {
        out.add_with(
            Severity::Warning,
            Location::at(file.as_str(), def.line, def.column),
            message,
            None,
        );
    }
    let steps: Vec<&StepDef> = play.preflight.iter().chain(&play.steps).collect();
    let fields_of = step_templates(play, &steps, &file, cx, env, out);
    let Some(inventory) = cx.inventory else {
        return;
    };
    let hosts = match inventory.select(&play.hosts, cx.limit) {
        Ok(h) => h,
        Err(e) => {
            out.add(
                Location::at(file.as_str(), 1, 1),
                format!("hosts `{}`: {e}", play.hosts),
                None,
            );
            return;
        }
    };
    let running: Vec<HashSet<String>> = hosts
        .into_iter()
        .map(|host| check_host(play, host, &fields_of, &file, cx, env, out))
        .collect();
    for (def, message) in never_runs::on_hosts(play, &running, env) {
        out.add_with(
            Severity::Warning,
            Location::at(file.as_str(), def.line, def.column),
            message,
            None,
        );
    }
}

/// A warning for each term of a play's `hosts:` that matches no host or group of the
/// inventory (Ansible warns and goes on; a typo there silently drops the play), or one
/// note when no play of the plan matches any host (a plan for other inventories).
fn warn_unmatched_hosts(plan: &plan::Plan, inventory: &Inventory, out: &mut Problems) {
    let hosts_line = |play: &Play| {
        let text = std::fs::read_to_string(&play.file).unwrap_or_default();
        let line = text
            .lines()
            .position(|l| l.starts_with("hosts:"))
            .map_or(1, |i| i + 1);
        at(&play.file.display().to_string(), line, 1)
    };
    let runs_somewhere = plan.plays.iter().any(|p| {
        inventory
            .select(&p.hosts, None)
            .is_ok_and(|h| !h.is_empty())
    });
    if !runs_somewhere {
        if let Some(first) = plan.plays.first() {
            out.add_with(
                Severity::Note,
                hosts_line(first),
                format!(
                    "no host of the inventory is in the plan's `hosts:` ({}): nothing was checked per host",
                    plan.plays.iter().map(|p| p.hosts.as_str()).collect::<Vec<_>>().join("; ")
                ),
                None,
            );
        }
        return;
    }
    for play in &plan.plays {
        for term in inventory.unmatched_terms(&play.hosts).unwrap_or_default() {
            // A near name is likely a typo; another is likely a group this inventory lacks.
            let guess = crate::plan::hints::closest_name(&term, &inventory_names(inventory));
            out.add_with(
                if guess.is_some() {
                    Severity::Warning
                } else {
                    Severity::Note
                },
                hosts_line(play),
                format!(
                    "`hosts: {}`: `{term}` matches no host or group of the inventory; the play skips it{}",
                    play.hosts,
                    guess
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default()
                ),
                None,
            );
        }
    }
}

/// Every host and group name of the inventory.
pub fn inventory_names(inventory: &Inventory) -> Vec<String> {
    inventory
        .hosts()
        .iter()
        .map(|h| h.name().to_owned())
        .chain(inventory.group_names_sorted())
        .collect()
}

/// The `ensure:` snippet of every `nginx:` step, parsed as nginx reads it.
fn check_nginx_snippets(play: &Play, file: &str, out: &mut Problems) {
    let text = std::fs::read_to_string(&play.file).unwrap_or_default();
    for def in &play.steps {
        let StepKind::Nginx(nginx) = &def.kind else {
            continue;
        };
        let step_line = usize::try_from(def.line).unwrap_or(usize::MAX);
        if let Some(problem) = nginx_snippets::check(file, &text, step_line, &nginx.ensure) {
            let location = match problem.at {
                Some((line, col)) => at(file, line, col),
                None => Location::at(file, def.line, def.column),
            };
            out.add(
                location,
                format!("step `{}`: {}", def.id, problem.message),
                None,
            );
        }
    }
}

/// The plan's own `defaults:` and `vars:`: template syntax only (their use is checked
/// per host).
fn check_plan_vars(play: &Play, file: &str, env: &Environment<'static>, out: &mut Problems) {
    let text = std::fs::read_to_string(&play.file).unwrap_or_default();
    for (section, map) in [("defaults", &play.defaults), ("vars", &play.vars)] {
        for (key, value) in map {
            let mut fields = Vec::new();
            collect_strings(key, value, &mut fields);
            for f in fields {
                if let Err(e) = names_used(env, &f.source) {
                    let (line, col) = key_position(&text, section, key);
                    out.add(
                        at(file, line, col),
                        format!("`{section}.{}`: {e}", f.name),
                        None,
                    );
                }
            }
        }
    }
}

/// Every step's `when:` and templates checked for syntax and unsupported functions; the
/// fields that parse, with the names each uses.
fn step_templates<'a>(
    play: &Play,
    steps: &[&'a StepDef],
    file: &str,
    cx: &Context<'_>,
    env: &Environment<'static>,
    out: &mut Problems,
) -> Vec<StepTemplates<'a>> {
    let plan_names: HashSet<&str> = play
        .defaults
        .keys()
        .chain(play.vars.keys())
        .map(String::as_str)
        .chain(play.facts.iter().map(|f| f.name.as_str()))
        .collect();
    let mut fields_of: Vec<StepTemplates<'_>> = Vec::new();
    for &def in steps {
        let location = Location::at(file, def.line, def.column);
        for expression in def.when.iter().flat_map(|w| w.expressions()) {
            if let Err(e) = env.compile_expression(expression) {
                out.add(
                    location.clone(),
                    format!("step `{}`: `when: {expression}`: {}", def.id, describe(&e)),
                    None,
                );
            }
        }
        let mut ok = Vec::new();
        for field in template_fields(def) {
            match names_used(env, &field.source) {
                Ok(names) => {
                    for name in &names {
                        let defined = plan_names.contains(name.as_str())
                            || template::is_builtin(name)
                            || cx.inventory.is_some();
                        if !defined && template::called_as_function(&field.source, name) {
                            out.add(
                                location.clone(),
                                format!(
                                    "step `{}`: `{}`: {}",
                                    def.id,
                                    field.name,
                                    TemplateError::UnsupportedFunction { name: name.clone() }
                                ),
                                None,
                            );
                        }
                    }
                    for filter in filters::unknown(&field.source) {
                        out.add(
                            location.clone(),
                            format!(
                                "step `{}`: `{}`: unknown filter `{filter}`: wsdeploy templates have MiniJinja's filters and `quote` (Ansible's filter plugins do not exist here)",
                                def.id, field.name
                            ),
                            None,
                        );
                    }
                    ok.push((field, names));
                }
                Err(e) => out.add(
                    location.clone(),
                    format!("step `{}`: `{}`: {e}", def.id, field.name),
                    None,
                ),
            }
        }
        fields_of.push((def, ok));
    }
    fields_of
}

/// One host's variables checked against every step that runs there, then the play
/// rendered for it when nothing was found.
fn check_host(
    play: &Play,
    host: &Host,
    fields_of: &[StepTemplates<'_>],
    file: &str,
    cx: &Context<'_>,
    env: &Environment<'static>,
    out: &mut Problems,
) -> HashSet<String> {
    let mut running = HashSet::new();
    let mut vars = plan::merge_vars(play, host.name(), host.vars(), cx.extra);
    // Facts are read on the host; offline, their defaults stand for them.
    for fact in &play.facts {
        vars.entry(fact.name.clone())
            .or_insert_with(|| fact.default.clone());
    }
    let before = out.0.len();
    let renderer = template::Renderer::new(vars.clone());
    for (def, fields) in fields_of {
        let location = Location::at(file, def.line, def.column);
        let mut runs = true;
        for expression in def.when.iter().flat_map(|w| w.expressions()) {
            match renderer.truthy(expression) {
                Ok(true) => {}
                Ok(false) => runs = false,
                Err(e) => {
                    runs = false;
                    out.add(
                        location.clone(),
                        format!("step `{}`: `when: {expression}`: {e}", def.id),
                        Some(host.name()),
                    );
                }
            }
        }
        if !runs {
            continue;
        }
        running.insert(def.id.clone());
        for (field, names) in fields {
            let mut sorted: Vec<&String> = names.iter().collect();
            sorted.sort();
            for name in sorted {
                for message in check_name(env, &field.source, name, &vars, &mut Vec::new()) {
                    out.add(
                        location.clone(),
                        format!("step `{}`: `{}`: {message}", def.id, field.name),
                        Some(host.name()),
                    );
                }
            }
        }
    }
    let mut masked = cx
        .inventory
        .map(|inv| inv.vault_values().to_vec())
        .unwrap_or_default();
    masked.extend(plan::render::secret_values(play, &vars));
    if out.0.len() == before
        && let Err(e) = plan::render_play(
            play,
            host.name(),
            plan::Inputs {
                vars,
                facts: Map::new(),
                masked: masked.clone(),
            },
        )
        // Unknown filters are reported once, for every host (`filters`).
        && e.cause != plan::render::Cause::UnknownFilter
    {
        out.add(
            (*e.origin).clone(),
            format!("step `{}`: {}", e.step, e.message),
            Some(host.name()),
        );
    }
    // A problem never shows a secret (a become password, a vaulted value).
    for problem in &mut out.0[before..] {
        problem.message = crate::mask::mask(&problem.message, &masked);
    }
    running
}

/// Problems with one name used by `source`, following variables that are templates.
fn check_name(
    env: &Environment<'static>,
    source: &str,
    name: &str,
    vars: &Map<String, Value>,
    via: &mut Vec<String>,
) -> Vec<String> {
    if let Some(value) = vars.get(name) {
        if via.iter().any(|v| v == name) {
            return Vec::new();
        }
        via.push(name.to_owned());
        let mut fields = Vec::new();
        collect_strings(name, value, &mut fields);
        let mut out = Vec::new();
        for f in fields {
            match names_used(env, &f.source) {
                Ok(names) => {
                    let mut sorted: Vec<String> = names.into_iter().collect();
                    sorted.sort();
                    for inner in sorted {
                        out.extend(check_name(env, &f.source, &inner, vars, via));
                    }
                }
                Err(e) => out.push(format!("variable `{name}`: {e}")),
            }
        }
        via.pop();
        return out;
    }
    if template::is_builtin(name) || template::guarded(source, name) {
        return Vec::new();
    }
    if let Some(instead) = ansible_magic_variable(name) {
        return vec![format!(
            "`{name}` is one of Ansible's magic variables, which wsdeploy templates do not have: {instead}"
        )];
    }
    let error = if template::called_as_function(source, name) {
        TemplateError::UnsupportedFunction {
            name: name.to_owned(),
        }
    } else {
        TemplateError::Undefined {
            name: name.to_owned(),
            via: if via.is_empty() {
                String::new()
            } else {
                format!(" (used by variable `{}`)", via.join("` -> `"))
            },
        }
    };
    vec![error.to_string()]
}

/// What to use instead of an Ansible magic variable that reaches across hosts.
fn ansible_magic_variable(name: &str) -> Option<&'static str> {
    match name {
        "hostvars" | "groups" | "group_names" | "play_hosts" | "ansible_play_hosts"
        | "ansible_play_batch" => Some(
            "each host's plan is rendered with that host's own variables only (inventory, group_vars/host_vars, the plan's vars, -e); put the value you need in a variable of the host or its group",
        ),
        "ansible_facts" | "ansible_hostname" | "ansible_fqdn" | "ansible_default_ipv4" => Some(
            "wsdeploy gathers no facts: set the value as an inventory variable, or read it from a file on the host with the play's `facts:`",
        ),
        _ => None,
    }
}

/// Line and column of `key:` inside the top-level `section:` mapping of a plan's text
/// (1:1 when not found).
fn key_position(text: &str, section: &str, key: &str) -> (usize, usize) {
    let mut inside = false;
    for (index, line) in text.lines().enumerate() {
        if !line.starts_with([' ', '\t']) {
            inside = line.trim_end() == format!("{section}:");
            continue;
        }
        let trimmed = line.trim_start();
        if inside
            && (trimmed.starts_with(&format!("{key}:"))
                || trimmed.starts_with(&format!("\"{key}\":")))
        {
            return (index + 1, line.len() - trimmed.len() + 1);
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions_are_found_in_their_section() {
        let text = "name: x\nvars:\n  a: 1\n  b: \"{{ c\"\ndefaults:\n  b: 2\n";
        assert_eq!(key_position(text, "vars", "b"), (4, 3));
        assert_eq!(key_position(text, "defaults", "b"), (6, 3));
        assert_eq!(key_position(text, "vars", "z"), (1, 1));
    }

    #[test]
    fn load_errors_keep_their_location() {
        let error =
            crate::plan::load::load_text(Path::new("plans/a.yml"), "name: a\nx: 1\n").unwrap_err();
        let p = load_problem(Path::new("plans/a.yml"), &error);
        assert_eq!(p.location, Location::at("plans/a.yml", 2, 1));
        assert!(p.message.starts_with("unknown field `x`"), "{}", p.message);
    }

    #[test]
    fn nested_variables_are_followed() {
        let env = environment();
        let vars: Map<String, Value> = serde_json::from_str(
            r#"{"url": "ws://{{ public_host }}/websocket", "h": "{{ lookup('env', 'X') }}"}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            check_name(&env, "{{ url }}", "url", &vars, &mut Vec::new()),
            vec![
                TemplateError::Undefined {
                    name: "public_host".into(),
                    via: " (used by variable `url`)".into()
                }
                .to_string()
            ]
        );
        assert_eq!(
            check_name(&env, "{{ h }}", "h", &vars, &mut Vec::new()),
            vec![
                TemplateError::UnsupportedFunction {
                    name: "lookup".into()
                }
                .to_string()
            ]
        );
    }
}
