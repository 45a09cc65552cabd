//! Rendering a play for one host: merge variables with Ansible's precedence for the
//! sources wsdeploy knows, render every template, type every value.
//!
//! Pure: no I/O. Errors name the plan file, line, column, the step and the host.

use serde_json::{Map, Value};

use super::facts::Pending;
use super::kinds::{StepError, StepKind, render_field};
use super::load::{Play, StepDef};
pub use super::render_error::{Cause, RenderError};
use super::step::{Action, Skipped, Step};
use crate::location::Location;
use crate::template::Renderer;

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
    let nginx_dump = if play
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Nginx(_)))
    {
        let dump = renderer.var("nginx_dump_cmd").map_err(|e| RenderError {
            origin: Box::new(Location::file(file.as_str())),
            step: "nginx_dump_cmd".to_owned(),
            host: host.to_owned(),
            message: e.to_string(),
            cause: Cause::of_template(&e),
        })?;
        Some(match dump {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => "nginx -T".to_owned(),
        })
    } else {
        None
    };
    let preflight = render_defs(&play.preflight, &file, host, renderer)?;
    let steps = render_defs(&play.steps, &file, host, renderer)?;
    Ok(HostPlan {
        play: play.name.clone(),
        preflight: preflight.steps,
        steps: steps.steps,
        secret_values: Vec::new(),
        short_secrets: Vec::new(),
        nginx_dump,
        facts: PlanFacts::None,
        skipped: [preflight.skipped, steps.skipped].concat(),
    })
}

/// A list of steps rendered for a host: those that run, and those its `when:` skips.
struct Rendered {
    steps: Vec<Step>,
    skipped: Vec<Skipped>,
}

/// `defs` (written in `file`) rendered for `host`, in order.
fn render_defs(
    defs: &[StepDef],
    file: &str,
    host: &str,
    renderer: &Renderer,
) -> Result<Rendered, RenderError> {
    let mut out = Rendered {
        steps: Vec::new(),
        skipped: Vec::new(),
    };
    for def in defs {
        let failed = |error: StepError| RenderError {
            origin: Box::new(Location::at(file, def.line, def.column)),
            step: def.id.clone(),
            host: host.to_owned(),
            message: error.to_string(),
            cause: Cause::of_step(&error),
        };
        match condition(def, renderer).map_err(failed)? {
            Some(reason) => out.skipped.push(Skipped {
                id: def.id.clone(),
                label: def
                    .name
                    .as_deref()
                    .and_then(|n| renderer.render(n).ok())
                    .unwrap_or_else(|| format!("{} step `{}`", def.kind.key(), def.id)),
                origin: format!("{file}:{}", def.line),
                reason,
            }),
            None => {
                let (label, hint, action) = render_step(def, renderer).map_err(failed)?;
                out.steps.push(Step {
                    id: def.id.clone(),
                    label,
                    hint,
                    origin: format!("{file}:{}", def.line),
                    action,
                });
            }
        }
    }
    // Kept for the whole run, for every host at once: no growth slack.
    out.steps.shrink_to_fit();
    out.skipped.shrink_to_fit();
    Ok(out)
}

/// `None` when the step runs for this host, or why it is skipped (its `when:` is false).
///
/// # Errors
/// A condition that cannot be evaluated (syntax, undefined variable, unsupported function).
fn condition(def: &StepDef, renderer: &Renderer) -> Result<Option<String>, StepError> {
    let Some(when) = &def.when else {
        return Ok(None);
    };
    for expression in when.expressions() {
        if !renderer
            .truthy(expression)
            .map_err(|source| StepError::Condition {
                expression: expression.to_owned(),
                source,
            })?
        {
            return Ok(Some(format!("when: {expression} is false")));
        }
    }
    Ok(None)
}

/// A step's label, hint and action for a host.
fn render_step(
    def: &StepDef,
    renderer: &Renderer,
) -> Result<(String, Option<String>, Action), StepError> {
    let hint = def
        .hint
        .as_deref()
        .map(|h| render_field(renderer, "hint", h))
        .transpose()?;
    let (default_label, action) = def.kind.render(renderer)?;
    let label = match &def.name {
        Some(name) => render_field(renderer, "name", name)?,
        None => default_label,
    };
    Ok((label, hint, action))
}
