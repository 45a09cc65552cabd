//! The `line` step: ensure one line exists in a text file, replacing the first line that
//! matches `match`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "line";

/// Ensure one line exists (replacing the first line that matches `match`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    /// Absolute path of the text file (a template).
    pub file: String,
    /// The line that must be present (one line, a template).
    pub line: String,
    /// A regular expression: the first matching line is replaced by `line` (else `line` is appended).
    #[serde(rename = "match")]
    pub matches: Option<String>,
}

impl LineSpec {
    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path, several lines, a bad regex.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute(
            "line.file",
            render_field(renderer, "line.file", &self.file)?,
        )?;
        let line = render_field(renderer, "line.line", &self.line)?;
        if line.contains(['\n', '\r']) {
            return Err(StepError::Value(
                "`line.line` must be one line (no newline): use a `file` step for several lines"
                    .to_owned(),
            ));
        }
        let matches = self
            .matches
            .as_deref()
            .map(|m| render_field(renderer, "line.match", m))
            .transpose()?;
        if let Some(m) = &matches {
            regex::Regex::new(m).map_err(|e| {
                StepError::Value(format!(
                    "`line.match` is not a valid regular expression: {e}"
                ))
            })?;
        }
        Ok((
            format!("line in {path}"),
            Action::Edit(FileEdit {
                path,
                kind: EditKind::Line { line, matches },
            }),
        ))
    }
}
