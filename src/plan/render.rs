//! Rendering a play for one host: merge variables with Ansible's precedence for the
//! sources wsdeploy knows, render every template, type every value.
//!
//! Pure: no I/O. Errors name the plan file, line, column, the step and the host.

use std::time::Duration;

use serde_json::{Map, Value};

use super::facts::Pending;
use super::load::{Play, StepDef, StepKind};
use super::model::StepSpec;
pub use super::render_error::RenderError;
use super::step::{
    Action, Check, CommandAction, EditKind, Endpoint, FileEdit, NginxContext, Probe, Skipped, Step,
};
use crate::template::{Renderer, TemplateError};

/// A play rendered for one host.
#[derive(Debug, Clone)]
pub struct HostPlan {
    pub play: String,
    pub preflight: Vec<Step>,
    pub steps: Vec<Step>,
    /// Values to mask in every output (from the play's `secrets:` list).
    pub secret_values: Vec<String>,
    /// Names of `secrets:` whose value is too short to mask safely
    /// (`mask::MIN_SECRET_LEN`).
    pub short_secrets: Vec<String>,
    /// The command that prints the effective nginx configuration (`nginx_dump_cmd`,
    /// default `nginx -T`), when a step edits nginx files.
    pub nginx_dump: Option<String>,
    /// Whether this plan is final, or waits for the facts its play reads on the host.
    pub facts: PlanFacts,
    /// Steps whose `when:` is false for this host.
    pub skipped: Vec<Skipped>,
}

impl Pending {
    /// The play rendered with the values read (`(name, value)` pairs).
    ///
    /// # Errors
    /// A step that cannot be rendered with these values.
    pub fn render(&self, values: &[(String, Value)]) -> Result<HostPlan, RenderError> {
        let facts = values.iter().cloned().collect();
        render_play(
            &self.play,
            &self.host,
            Inputs {
                vars: self.vars.clone(),
                facts,
                masked: self.masked.clone(),
            },
        )
    }
}

/// Where a host's plan stands with the facts its play reads on the host (`facts:`).
#[derive(Debug, Clone, Default)]
pub enum PlanFacts {
    /// The play reads no facts on this host (none, or all set by the inventory, `vars` or
    /// `-e`): the plan is final.
    #[default]
    None,
    /// Rendered with the facts' defaults, not final: it is rendered again once they are
    /// read on the host ([`Pending::render`]).
    NeedsFacts(std::sync::Arc<Pending>),
    /// Rendered again with the values read on the host (`(name, value)`): final; what
    /// `--reviewed` binds.
    Read(Vec<(String, Value)>),
}

impl PlanFacts {
    /// Whether the plan waits for facts to be read on the host.
    #[must_use]
    pub fn needed(&self) -> bool {
        matches!(self, Self::NeedsFacts(_))
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Merges variables: play defaults < inventory (host, groups) < play vars < extra vars.
#[must_use]
pub fn merge_vars(
    play: &Play,
    host_name: &str,
    host_vars: &Map<String, Value>,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let mut vars = play.defaults.clone();
    vars.insert(
        "inventory_hostname".to_owned(),
        Value::String(host_name.to_owned()),
    );
    for (k, v) in host_vars {
        vars.insert(k.clone(), v.clone());
    }
    for (k, v) in &play.vars {
        vars.insert(k.clone(), v.clone());
    }
    for (k, v) in extra {
        vars.insert(k.clone(), v.clone());
    }
    vars
}

/// What a play is rendered with for one host.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The merged variables (templates themselves, as in Ansible).
    pub vars: Map<String, Value>,
    /// Values read from the host (facts, typed): data, never rendered as templates.
    pub facts: Map<String, Value>,
    /// The run's secrets (vaulted values, `-e` from a vault, password variables): masked
    /// in the plan's output and in any rendering error, with the play's `secrets:`.
    pub masked: Vec<String>,
}

/// Renders a play for a host.
///
/// # Errors
/// The first step that cannot be rendered (undefined variable, bad value); its message
/// has every secret masked.
pub fn render_play(play: &Play, host: &str, inputs: Inputs) -> Result<HostPlan, RenderError> {
    let renderer = Renderer::with_data(inputs.vars, inputs.facts);
    let mut secret_values = inputs.masked;
    let short_secrets = play_secrets(play, &renderer, &mut secret_values);
    let mut plan = render_steps(play, host, &renderer).map_err(|mut e| {
        e.message = crate::mask::mask(&e.message, &secret_values);
        e
    })?;
    plan.secret_values = secret_values;
    plan.short_secrets = short_secrets;
    Ok(plan)
}

/// The values of the play's `secrets:` and of the password variables for a host whose
/// merged variables are `vars`.
#[must_use]
pub fn secret_values(play: &Play, vars: &Map<String, Value>) -> Vec<String> {
    let mut values = Vec::new();
    play_secrets(play, &Renderer::new(vars.clone()), &mut values);
    values
}

/// Adds the values of the play's `secrets:` and of the password variables
/// (`mask::PASSWORD_VARIABLES`) to `secret_values`; returns the names of those too short
/// to mask safely.
fn play_secrets(play: &Play, renderer: &Renderer, secret_values: &mut Vec<String>) -> Vec<String> {
    let mut short_secrets = Vec::new();
    let names = play
        .secrets
        .iter()
        .map(String::as_str)
        .chain(crate::mask::PASSWORD_VARIABLES.iter().copied());
    for name in names {
        if let Ok(Some(value)) = renderer.var(name) {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if !text.is_empty() {
                if text.chars().count() < crate::mask::MIN_SECRET_LEN {
                    short_secrets.push(name.to_owned());
                }
                if !secret_values.contains(&text) {
                    secret_values.push(text);
                }
            }
        }
    }
    short_secrets
}

/// Every step of a play rendered (secrets not yet attached).
fn render_steps(play: &Play, host: &str, renderer: &Renderer) -> Result<HostPlan, RenderError> {
    let file = play.file.display().to_string();
    let skipped = std::cell::RefCell::new(Vec::new());
    let render_all = |defs: &[StepDef]| -> Result<Vec<Step>, RenderError> {
        defs.iter()
            .filter_map(|def| match condition(def, renderer) {
                Ok(None) => Some(Ok(def)),
                Ok(Some(reason)) => {
                    skipped.borrow_mut().push(Skipped {
                        id: def.id.clone(),
                        label: def
                            .spec
                            .name
                            .as_deref()
                            .and_then(|n| renderer.render(n).ok())
                            .unwrap_or_else(|| format!("{} step `{}`", def.kind.key(), def.id)),
                        origin: format!("{file}:{}", def.line),
                        reason,
                    });
                    None
                }
                Err(message) => Some(Err(RenderError {
                    origin: format!("{file}:{}:{}", def.line, def.column),
                    step: def.id.clone(),
                    host: host.to_owned(),
                    message,
                })),
            })
            .map(|def| {
                let def = def?;
                render_step(def, renderer)
                    .map_err(|message| RenderError {
                        origin: format!("{file}:{}:{}", def.line, def.column),
                        step: def.id.clone(),
                        host: host.to_owned(),
                        message,
                    })
                    .map(|(label, hint, action)| Step {
                        id: def.id.clone(),
                        label,
                        hint,
                        origin: format!("{file}:{}", def.line),
                        action,
                    })
            })
            .collect()
    };
    let nginx_dump = if play.steps.iter().any(|s| s.kind == StepKind::Nginx) {
        let dump = renderer.var("nginx_dump_cmd").map_err(|e| RenderError {
            origin: file.clone(),
            step: "nginx_dump_cmd".to_owned(),
            host: host.to_owned(),
            message: e.to_string(),
        })?;
        Some(match dump {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => "nginx -T".to_owned(),
        })
    } else {
        None
    };
    let preflight = render_all(&play.preflight)?;
    let steps = render_all(&play.steps)?;
    Ok(HostPlan {
        play: play.name.clone(),
        preflight,
        steps,
        secret_values: Vec::new(),
        short_secrets: Vec::new(),
        nginx_dump,
        facts: PlanFacts::None,
        skipped: skipped.into_inner(),
    })
}

/// `None` when the step runs for this host, or why it is skipped (its `when:` is false).
///
/// # Errors
/// A condition that cannot be evaluated (syntax, undefined variable, unsupported function).
fn condition(def: &StepDef, renderer: &Renderer) -> Result<Option<String>, String> {
    let Some(when) = &def.spec.when else {
        return Ok(None);
    };
    for expression in when.expressions() {
        if !renderer
            .truthy(expression)
            .map_err(|e| format!("`when: {expression}`: {e}"))?
        {
            return Ok(Some(format!("when: {expression} is false")));
        }
    }
    Ok(None)
}

type Rendered = (String, Option<String>, Action);

fn r(renderer: &Renderer, field: &str, value: &str) -> Result<String, String> {
    renderer.render(value).map_err(|e| match e {
        TemplateError::Undefined { .. } | TemplateError::Cycle { .. } => format!("`{field}`: {e}"),
        other => format!("`{field}`: {other}"),
    })
}

fn absolute(field: &str, path: String) -> Result<String, String> {
    if path.starts_with('/') && !path.split('/').any(|part| part == "..") {
        Ok(path)
    } else {
        Err(format!(
            "`{field}` must be an absolute path without `..`, got `{path}`"
        ))
    }
}

fn render_step(def: &StepDef, renderer: &Renderer) -> Result<Rendered, String> {
    let spec = &def.spec;
    let hint = spec
        .hint
        .as_deref()
        .map(|h| r(renderer, "hint", h))
        .transpose()?;
    let (default_label, action) = match def.kind {
        StepKind::Nginx => render_nginx(spec, renderer)?,
        StepKind::Ini => render_ini(spec, renderer)?,
        StepKind::Json => render_json(spec, renderer)?,
        StepKind::File => render_file(spec, renderer)?,
        StepKind::Line => render_line(spec, renderer)?,
        StepKind::Requirements => render_requirements(spec, renderer)?,
        StepKind::ComposePorts => render_compose_ports(spec, renderer)?,
        StepKind::Command => render_command(spec, renderer)?,
        StepKind::Verify => render_verify(spec, renderer)?,
    };
    let label = match &spec.name {
        Some(name) => r(renderer, "name", name)?,
        None => default_label,
    };
    Ok((label, hint, action))
}

/// The default label and the action of an `nginx` step.
fn render_nginx(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let n = spec.nginx.as_ref().ok_or("internal: nginx spec missing")?;
    let path = absolute("nginx.file", r(renderer, "nginx.file", &n.file)?)?;
    // A selector that renders empty selects nothing (plans pass
    // `listen: "{{ site_listen }}"` whether or not it is set).
    let optional = |field: &str, value: &Option<String>| -> Result<Option<String>, String> {
        Ok(value
            .as_deref()
            .map(|s| r(renderer, field, s))
            .transpose()?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()))
    };
    let context = match n.context.as_str() {
        "main" => NginxContext::Main,
        "http" => NginxContext::Http,
        _ => NginxContext::Server {
            server_name: optional("nginx.server_name", &n.server_name)?,
            listen: optional("nginx.listen", &n.listen)?,
            request: request_of(
                optional("nginx.host", &n.host)?,
                optional("nginx.port", &n.port)?,
            )?,
        },
    };
    let ensure = r(renderer, "nginx.ensure", &n.ensure)?;
    Ok((
        format!("nginx {} in {path}", n.context),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::Nginx {
                context,
                ensure,
                reuse_upstream: n.reuse_upstream,
            },
        }),
    ))
}

/// The request of an nginx step (`host` and `port`): a port that is not a number is an error.
fn request_of(host: Option<String>, port: Option<String>) -> Result<Option<(String, u16)>, String> {
    let port = match port {
        Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            format!("`nginx.port`: {port:?} is not a port number (1-65535); set public_port to the port users reach nginx on")
        })?,
        None => 80,
    };
    Ok(host.map(|host| (host, port)))
}

/// The default label and the action of an `ini` step.
fn render_ini(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let i = spec.ini.as_ref().ok_or("internal: ini spec missing")?;
    let path = absolute("ini.file", r(renderer, "ini.file", &i.file)?)?;
    let section = r(renderer, "ini.section", &i.section)?;
    let mut set = Vec::new();
    for (k, v) in &i.set {
        set.push((k.clone(), ini_value(renderer, k, v)?));
    }
    Ok((
        format!("ini [{section}] in {path}"),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::Ini {
                section,
                set,
                create_section: i.create_section,
            },
        }),
    ))
}

/// The default label and the action of a `json` step.
fn render_json(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let j = spec.json.as_ref().ok_or("internal: json spec missing")?;
    let path = absolute("json.file", r(renderer, "json.file", &j.file)?)?;
    let mut set = Vec::new();
    for (k, v) in &j.set {
        let value = renderer
            .render_typed(v)
            .map_err(|e| format!("`json.set.{k}`: {e}"))?;
        set.push((k.clone(), value));
    }
    Ok((
        format!("json keys in {path}"),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::Json { set },
        }),
    ))
}

/// The default label and the action of a `file` step.
fn render_file(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let f = spec.file.as_ref().ok_or("internal: file spec missing")?;
    let path = absolute("file.path", r(renderer, "file.path", &f.path)?)?;
    let field = match &f.content_from {
        Some(from) => format!("file.content_from ({from})"),
        None => "file.content".to_owned(),
    };
    let content = r(
        renderer,
        &field,
        f.content
            .as_deref()
            .ok_or("internal: file content missing")?,
    )?;
    let mode = match &f.mode {
        Some(m) => Some(
            u32::from_str_radix(m.trim_start_matches("0o"), 8).map_err(|_| {
                format!("`file.mode` must be an octal string such as \"0644\", got `{m}`")
            })?,
        ),
        None => None,
    };
    Ok((
        format!("file {path}"),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::Whole { content, mode },
        }),
    ))
}

/// The default label and the action of a `line` step.
fn render_line(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let l = spec.line.as_ref().ok_or("internal: line spec missing")?;
    let path = absolute("line.file", r(renderer, "line.file", &l.file)?)?;
    let line = r(renderer, "line.line", &l.line)?;
    if line.contains(['\n', '\r']) {
        return Err(
            "`line.line` must be one line (no newline): use a `file` step for several lines"
                .to_owned(),
        );
    }
    let matches = l
        .matches
        .as_deref()
        .map(|m| r(renderer, "line.match", m))
        .transpose()?;
    if let Some(m) = &matches {
        regex::Regex::new(m)
            .map_err(|e| format!("`line.match` is not a valid regular expression: {e}"))?;
    }
    Ok((
        format!("line in {path}"),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::Line { line, matches },
        }),
    ))
}

/// The default label and the action of a `requirements` step.
fn render_requirements(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let q = spec
        .requirements
        .as_ref()
        .ok_or("internal: requirements spec missing")?;
    let path = absolute(
        "requirements.file",
        r(renderer, "requirements.file", &q.file)?,
    )?;
    let ensure = q
        .ensure
        .iter()
        .map(|e| r(renderer, "requirements.ensure", e))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        format!("requirements in {path}"),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::Requirements { ensure },
        }),
    ))
}

/// The default label and the action of a `compose_ports` step.
fn render_compose_ports(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let c = spec
        .compose_ports
        .as_ref()
        .ok_or("internal: compose_ports spec missing")?;
    let path = absolute(
        "compose_ports.file",
        r(renderer, "compose_ports.file", &c.file)?,
    )?;
    let service = r(renderer, "compose_ports.service", &c.service)?
        .trim()
        .to_owned();
    if service.is_empty() {
        return Err("`compose_ports.service` is empty: name the docker-compose service".to_owned());
    }
    let port = renderer
        .render_typed(&c.container_port)
        .map_err(|e| format!("`compose_ports.container_port`: {e}"))?;
    let container_port = match &port {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<u16>().ok(),
        _ => None,
    }
    .filter(|p| *p > 0)
    .ok_or_else(|| {
        format!("`compose_ports.container_port` must be a port number (1-65535), got `{port}`")
    })?;
    let bind = r(renderer, "compose_ports.bind", &c.bind)?
        .trim()
        .to_owned();
    if bind.parse::<std::net::IpAddr>().is_err() {
        return Err(format!(
            "`compose_ports.bind` must be an IP address such as 127.0.0.1, got `{bind}`"
        ));
    }
    Ok((
        format!("{service}'s port {container_port} on {bind} in {path}"),
        Action::Edit(FileEdit {
            path,
            kind: EditKind::ComposePorts {
                service,
                container_port,
                bind,
            },
        }),
    ))
}

/// The default label and the action of a `command` step.
fn render_command(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let timeout = spec.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let run = r(
        renderer,
        "command",
        spec.command.as_deref().unwrap_or_default(),
    )?;
    if run.trim().is_empty() {
        return Err("`command` is empty".to_owned());
    }
    let unless = spec
        .unless
        .as_deref()
        .map(|u| r(renderer, "unless", u))
        .transpose()?;
    let creates = spec
        .creates
        .as_deref()
        .map(|path| r(renderer, "creates", path))
        .transpose()?;
    if let Some(path) = creates.as_deref().filter(|p| !p.starts_with('/')) {
        return Err(format!("`creates: {path}` must be an absolute path"));
    }
    Ok((
        format!("run `{run}`"),
        Action::Command(CommandAction {
            run,
            if_changed: spec.if_changed.clone(),
            unless,
            creates,
            expect_exit: spec.expect_exit.clone().unwrap_or_else(|| vec![0]),
            timeout,
        }),
    ))
}

/// The default label and the action of a `verify` step.
fn render_verify(spec: &StepSpec, renderer: &Renderer) -> Result<(String, Action), String> {
    let v = spec
        .verify
        .as_ref()
        .ok_or("internal: verify spec missing")?;
    let (label, probe) = render_probe(v, renderer)?;
    let delay = spec.delay.unwrap_or(1.0);
    if !(0.0..=600.0).contains(&delay) {
        return Err(format!(
            "`delay` must be between 0 and 600 seconds, got {delay}"
        ));
    }
    Ok((
        label,
        Action::Verify(Check {
            probe,
            retries: spec.retries.unwrap_or(10).max(1),
            delay: Duration::from_secs_f64(delay),
            timeout: spec
                .timeout
                .map_or(Duration::from_secs(10), Duration::from_secs),
            warn_only: spec.warn_only,
        }),
    ))
}

fn ini_value(renderer: &Renderer, key: &str, value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::String(s) => r(renderer, &format!("ini.set.{key}"), s)?,
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => {
            return Err(format!(
                "`ini.set.{key}` must be a string, number or boolean, got {other}"
            ));
        }
    })
}

fn headers(
    renderer: &Renderer,
    field: &str,
    map: &Map<String, Value>,
) -> Result<Vec<(String, String)>, String> {
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => r(renderer, &format!("{field}.{k}"), s)?,
                other => other.to_string(),
            };
            if text.contains(['\r', '\n']) || k.contains(['\r', '\n', ':']) {
                return Err(format!(
                    "`{field}.{k}`: header names/values cannot contain newlines"
                ));
            }
            Ok((k.clone(), text))
        })
        .collect()
}

/// Applies a check's `tls_name` and `ca_file` to an `https://`/`wss://` target; a plain
/// `http://`/`ws://` target ignores them, so one plan serves both schemes
/// (`url: "{{ check_base_url }}/..."`, `tls_name: "{{ public_host }}"`).
fn tls_settings(
    renderer: &Renderer,
    field: &str,
    target: &mut Endpoint,
    tls_name: Option<&str>,
    ca_file: Option<&str>,
) -> Result<(), String> {
    let Some(tls) = &mut target.tls else {
        return Ok(());
    };
    if let Some(name) = tls_name {
        let name = r(renderer, &format!("{field}.tls_name"), name)?;
        if !name.trim().is_empty() {
            tls.server_name = name.trim().to_owned();
        }
    }
    if let Some(file) = ca_file {
        let file = r(renderer, &format!("{field}.ca_file"), file)?;
        tls.ca_file = Some(file.trim().to_owned()).filter(|f| !f.is_empty());
    }
    Ok(())
}

fn render_probe(
    v: &super::model::VerifySpec,
    renderer: &Renderer,
) -> Result<(String, Probe), String> {
    if let Some(ws) = &v.websocket {
        let url = r(renderer, "verify.websocket.url", &ws.url)?;
        let mut target =
            Endpoint::parse(&url).map_err(|e| format!("`verify.websocket.url`: {e}"))?;
        tls_settings(
            renderer,
            "verify.websocket",
            &mut target,
            ws.tls_name.as_deref(),
            ws.ca_file.as_deref(),
        )?;
        let origin = ws
            .origin
            .as_deref()
            .map(|o| r(renderer, "verify.websocket.origin", o))
            .transpose()?;
        let host_header = ws
            .host
            .as_deref()
            .map(|o| r(renderer, "verify.websocket.host", o))
            .transpose()?;
        return Ok((
            format!("websocket handshake {url}"),
            Probe::WebSocket {
                target,
                origin,
                host_header,
                headers: headers(renderer, "verify.websocket.headers", &ws.headers)?,
                status: ws.status.unwrap_or(101),
            },
        ));
    }
    if let Some(http) = &v.http {
        let url = r(renderer, "verify.http.url", &http.url)?;
        let mut target = Endpoint::parse(&url).map_err(|e| format!("`verify.http.url`: {e}"))?;
        tls_settings(
            renderer,
            "verify.http",
            &mut target,
            http.tls_name.as_deref(),
            http.ca_file.as_deref(),
        )?;
        return Ok((
            format!("http {url}"),
            Probe::Http {
                target,
                headers: headers(renderer, "verify.http.headers", &http.headers)?,
                status: http.status.unwrap_or(200),
                contains: http
                    .contains
                    .as_deref()
                    .map(|c| r(renderer, "verify.http.contains", c))
                    .transpose()?,
            },
        ));
    }
    if let Some(cmd) = &v.command {
        let run = r(renderer, "verify.command.run", &cmd.run)?;
        return Ok((
            format!("check `{run}`"),
            Probe::Command {
                run,
                contains: cmd
                    .contains
                    .as_deref()
                    .map(|c| r(renderer, "verify.command.contains", c))
                    .transpose()?,
                not_contains: cmd
                    .not_contains
                    .as_deref()
                    .map(|c| r(renderer, "verify.command.not_contains", c))
                    .transpose()?,
                expect_exit: cmd.expect_exit.clone().unwrap_or_else(|| vec![0]),
            },
        ));
    }
    Err("a `verify` step needs exactly one of websocket, http, command".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        let mut vars = Map::new();
        vars.insert("public_host".into(), Value::from("erp.example.com"));
        vars.insert("check_ca_file".into(), Value::from(""));
        vars.insert("lab_ca".into(), Value::from("/etc/wsdeploy/ca.pem"));
        Renderer::new(vars)
    }

    #[test]
    fn tls_name_and_ca_file_apply_to_tls_urls_only() {
        let r = renderer();
        let mut https = Endpoint::parse("https://127.0.0.1/websocket").unwrap();
        tls_settings(
            &r,
            "verify.websocket",
            &mut https,
            Some("{{ public_host }}"),
            Some("{{ check_ca_file }}"),
        )
        .unwrap();
        let tls = https.tls.unwrap();
        assert_eq!(
            (tls.server_name.as_str(), tls.ca_file),
            ("erp.example.com", None)
        );
        let mut wss = Endpoint::parse("wss://127.0.0.1/websocket").unwrap();
        tls_settings(&r, "verify.websocket", &mut wss, None, Some("{{ lab_ca }}")).unwrap();
        let tls = wss.tls.unwrap();
        assert_eq!(tls.server_name, "127.0.0.1");
        assert_eq!(tls.ca_file.as_deref(), Some("/etc/wsdeploy/ca.pem"));
        let mut plain = Endpoint::parse("http://127.0.0.1/websocket").unwrap();
        tls_settings(
            &r,
            "verify.http",
            &mut plain,
            Some("{{ public_host }}"),
            Some("{{ lab_ca }}"),
        )
        .unwrap();
        assert!(plain.tls.is_none());
    }
}
