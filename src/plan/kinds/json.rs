//! The `json` step: set top-level keys of a JSON object file, keeping key order and
//! indentation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "json";

/// Set top-level keys of a JSON object file, keeping key order and indentation.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSpec {
    /// Absolute path of the JSON file (a template).
    pub file: String,
    /// Top-level keys and values to set (a lone `{{ var }}` keeps the variable's type).
    pub set: Map<String, Value>,
}

impl JsonSpec {
    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute(
            "json.file",
            render_field(renderer, "json.file", &self.file)?,
        )?;
        let mut set = Vec::new();
        for (k, v) in &self.set {
            let value = renderer
                .render_typed(v)
                .map_err(|source| StepError::Template {
                    field: format!("json.set.{k}"),
                    source,
                })?;
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
}
