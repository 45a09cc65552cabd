//! The `requirements` step: ensure pip requirements in a `requirements.txt`, one per
//! distribution, never duplicated.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "requirements";

/// Ensure pip requirements in a `requirements.txt`, one per distribution, never duplicated.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementsSpec {
    /// Absolute path of the requirements.txt (a template).
    pub file: String,
    /// Requirement specifiers (`uvicorn[standard]`, `websockets>=12`): one per distribution, replacing an existing one.
    pub ensure: Vec<String>,
}

impl RequirementsSpec {
    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute(
            "requirements.file",
            render_field(renderer, "requirements.file", &self.file)?,
        )?;
        let ensure = self
            .ensure
            .iter()
            .map(|e| render_field(renderer, "requirements.ensure", e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            format!("requirements in {path}"),
            Action::Edit(FileEdit {
                path,
                kind: EditKind::Requirements { ensure },
            }),
        ))
    }
}
