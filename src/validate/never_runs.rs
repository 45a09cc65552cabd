//! Steps that can never run: a `when:` that is false whatever the host (it uses no
//! variable), and a `command` whose `if_changed` names only such steps. Both are warnings:
//! the plan is valid, but a line of it does nothing.

use minijinja::Environment;

use crate::plan::{Play, StepDef};

/// Whether one of the step's `when:` expressions is false without any variable.
fn always_false(def: &StepDef, env: &Environment<'static>) -> Option<String> {
    def.spec
        .when
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
        let conditional_only_on_changes = def.spec.unless.is_none() && def.spec.creates.is_none();
        if def.spec.command.is_some()
            && conditional_only_on_changes
            && !def.spec.if_changed.is_empty()
            && def
                .spec
                .if_changed
                .iter()
                .all(|dep| never.contains(&dep.as_str()))
        {
            out.push((
                def,
                format!(
                    "step `{}` never runs: its `if_changed` names only steps that never run ({}); drop `if_changed` to run it on every apply",
                    def.id,
                    def.spec.if_changed.join(", ")
                ),
            ));
        }
    }
    out
}
