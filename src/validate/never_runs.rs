//! Steps that can never run: a `when:` that is false whatever the host (it uses no
//! variable), a `command` whose `if_changed` names only such steps, and, with an
//! inventory, a `command` whose `if_changed` steps `when:` skips on every host where the
//! command itself runs. All are warnings: the plan is valid, but a line of it does nothing.

use minijinja::Environment;

use crate::plan::kinds::command::CommandStep;
use crate::plan::{Play, StepDef, StepKind};

/// The step's command, when it is a `command` that runs only when one of its
/// `if_changed` steps changed something.
fn runs_only_on_changes(def: &StepDef) -> Option<&CommandStep> {
    match &def.kind {
        StepKind::Command(command) if command.runs_only_on_changes() => Some(command),
        _ => None,
    }
}

/// Whether one of the step's `when:` expressions is false without any variable.
fn always_false(def: &StepDef, env: &Environment<'static>) -> Option<String> {
    def.when
        .iter()
        .flat_map(|w| w.expressions())
        .find_map(|expression| {
            let compiled = env.compile_expression(expression).ok()?;
            if !compiled.undeclared_variables(false).is_empty() {
                return None;
            }
            let value = compiled.eval(()).ok()?;
            (!value.is_true()).then(|| expression.to_owned())
        })
}

/// `(step, message)` for every step of the play that can never run.
pub(super) fn warnings<'p>(
    play: &'p Play,
    env: &Environment<'static>,
) -> Vec<(&'p StepDef, String)> {
    let mut out = Vec::new();
    let mut never: Vec<&str> = Vec::new();
    for def in play.preflight.iter().chain(&play.steps) {
        if let Some(expression) = always_false(def, env) {
            never.push(&def.id);
            out.push((
                def,
                format!(
                    "step `{}` never runs: `when: {expression}` is false on every host",
                    def.id
                ),
            ));
            continue;
        }
        if let Some(command) = runs_only_on_changes(def)
            && command
                .if_changed
                .iter()
                .all(|dep| never.contains(&dep.as_str()))
        {
            out.push((
                def,
                format!(
                    "step `{}` never runs: its `if_changed` names only steps that never run ({}); drop `if_changed` to run it on every apply",
                    def.id,
                    command.if_changed.join(", ")
                ),
            ));
        }
    }
    out
}

/// With an inventory (`running`: per host, the ids of the steps that run there): each
/// command whose `if_changed` steps are skipped on every host where it runs, unless
/// [`warnings`] already names it.
pub(super) fn on_hosts<'p>(
    play: &'p Play,
    running: &[std::collections::HashSet<String>],
    env: &Environment<'static>,
) -> Vec<(&'p StepDef, String)> {
    let named: Vec<String> = warnings(play, env)
        .into_iter()
        .map(|(def, _)| def.id.clone())
        .collect();
    play.steps
        .iter()
        .filter(|def| !named.contains(&def.id))
        .filter_map(|def| runs_only_on_changes(def).map(|command| (def, command)))
        .filter(|(def, command)| {
            let hosts: Vec<_> = running.iter().filter(|r| r.contains(&def.id)).collect();
            !hosts.is_empty()
                && hosts
                    .iter()
                    .all(|r| command.if_changed.iter().all(|dep| !r.contains(dep)))
        })
        .map(|(def, command)| {
            (
                def,
                format!(
                    "step `{}` never runs on this inventory: wherever it runs, `when:` skips every step its `if_changed` names ({})",
                    def.id,
                    command.if_changed.join(", ")
                ),
            )
        })
        .collect()
}
