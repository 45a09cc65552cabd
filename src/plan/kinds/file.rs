//! The `file` step: manage a whole file's content, given inline or read from a template
//! file next to the plan when the plan is loaded.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "file";

/// Whole-file content.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Absolute path of the file (a template).
    pub path: String,
    /// The whole content (a template). Exactly one of `content` and `content_from`.
    pub content: Option<String>,
    /// A template file holding the content, relative to the plan file
    /// (`templates/site.conf.j2`); read when the plan is loaded.
    pub content_from: Option<String>,
    /// Octal mode for a file that does not exist yet, as a string (`"0644"`).
    pub mode: Option<String>,
}

/// A loaded `file` step: its content is there, written inline or read from `content_from`.
#[derive(Debug, Serialize)]
pub struct FileStep {
    pub path: String,
    /// The content template.
    pub content: String,
    /// Where `content` was read from (relative to the plan), if not written inline.
    pub content_from: Option<String>,
    pub mode: Option<String>,
}

impl FileStep {
    /// The step with its `content_from` (relative to the plan file `plan`) read.
    ///
    /// # Errors
    /// Both or neither of `content` and `content_from`, or a file that cannot be read.
    pub fn load(spec: FileSpec, plan: &Path) -> Result<Self, String> {
        let content = match (spec.content, &spec.content_from) {
            (Some(_), Some(_)) => {
                return Err("`file` takes `content` or `content_from`, not both".to_owned());
            }
            (None, None) => {
                return Err(
                    "`file` needs `content` (the text) or `content_from` (a template file relative to the plan)"
                        .to_owned(),
                );
            }
            (Some(content), None) => content,
            (None, Some(from)) => {
                let target = plan.parent().unwrap_or(Path::new(".")).join(from);
                std::fs::read_to_string(&target).map_err(|e| {
                    format!(
                        "`content_from: {from}`: cannot read {}: {e} (the path is relative to the plan file)",
                        target.display()
                    )
                })?
            }
        };
        Ok(Self {
            path: spec.path,
            content,
            content_from: spec.content_from,
            mode: spec.mode,
        })
    }

    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path, a mode that is not octal.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute(
            "file.path",
            render_field(renderer, "file.path", &self.path)?,
        )?;
        let field = match &self.content_from {
            Some(from) => format!("file.content_from ({from})"),
            None => "file.content".to_owned(),
        };
        let content = render_field(renderer, &field, &self.content)?;
        let mode = match &self.mode {
            Some(m) => Some(
                u32::from_str_radix(m.trim_start_matches("0o"), 8).map_err(|_| {
                    StepError::Value(format!(
                        "`file.mode` must be an octal string such as \"0644\", got `{m}`"
                    ))
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
}
