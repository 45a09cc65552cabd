//! The `command` step: a shell command run on the host, on every apply or only when its
//! condition (`if_changed`, `unless`, `creates`) says so.

use std::time::Duration;

use serde_json::Value;

use super::{StepError, render_field};
use crate::plan::step::{Action, CommandAction};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "command";

/// How long a command may take when the step sets no `timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A loaded `command` step: the command (a template) and the step fields only it takes.
#[derive(Debug)]
pub struct CommandStep {
    pub run: String,
    pub if_changed: Vec<String>,
    pub unless: Option<String>,
    pub creates: Option<String>,
    pub expect_exit: Option<Vec<i32>>,
    pub timeout: Option<u64>,
}

impl CommandStep {
    /// Whether it runs only when one of its `if_changed` steps changed something (no
    /// `unless`, no `creates`).
    #[must_use]
    pub fn runs_only_on_changes(&self) -> bool {
        !self.if_changed.is_empty() && self.unless.is_none() && self.creates.is_none()
    }

    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, an empty command, a relative `creates` path.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let timeout = self.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let run = render_field(renderer, "command", &self.run)?;
        if run.trim().is_empty() {
            return Err(StepError::Value("`command` is empty".to_owned()));
        }
        let unless = self
            .unless
            .as_deref()
            .map(|u| render_field(renderer, "unless", u))
            .transpose()?;
        let creates = self
            .creates
            .as_deref()
            .map(|path| render_field(renderer, "creates", path))
            .transpose()?;
        if let Some(path) = creates.as_deref().filter(|p| !p.starts_with('/')) {
            return Err(StepError::Value(format!(
                "`creates: {path}` must be an absolute path"
            )));
        }
        Ok((
            format!("run `{run}`"),
            Action::Command(CommandAction {
                run,
                if_changed: self.if_changed.clone(),
                unless,
                creates,
                expect_exit: self.expect_exit.clone().unwrap_or_else(|| vec![0]),
                timeout,
            }),
        ))
    }

    /// Its template fields as written, keyed as in the step.
    pub(super) fn written(&self) -> Vec<(&'static str, Value)> {
        vec![
            (KEY, Value::from(self.run.clone())),
            ("unless", Value::from(self.unless.clone())),
            ("creates", Value::from(self.creates.clone())),
        ]
    }
}
