//! The `ini` step: set keys in an INI section (odoo.conf), keeping comments and order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "ini";

/// Set keys in an INI section (odoo.conf), keeping comments and order.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IniSpec {
    /// Absolute path of the INI file (a template).
    pub file: String,
    /// Section to edit (default `options`).
    #[serde(default = "default_ini_section")]
    pub section: String,
    /// Keys and values to set (strings are templates; booleans become True/False).
    pub set: Map<String, Value>,
    /// Add the section when the file lacks it (default: a missing section is an error,
    /// since it usually means the path points at the wrong file).
    #[serde(default)]
    pub create_section: bool,
}

fn default_ini_section() -> String {
    "options".to_owned()
}

impl IniSpec {
    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path, a value that is not a scalar.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute("ini.file", render_field(renderer, "ini.file", &self.file)?)?;
        let section = render_field(renderer, "ini.section", &self.section)?;
        let mut set = Vec::new();
        for (k, v) in &self.set {
            set.push((k.clone(), ini_value(renderer, k, v)?));
        }
        Ok((
            format!("ini [{section}] in {path}"),
            Action::Edit(FileEdit {
                path,
                kind: EditKind::Ini {
                    section,
                    set,
                    create_section: self.create_section,
                },
            }),
        ))
    }
}

fn ini_value(renderer: &Renderer, key: &str, value: &Value) -> Result<String, StepError> {
    Ok(match value {
        Value::String(s) => render_field(renderer, &format!("ini.set.{key}"), s)?,
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => {
            return Err(StepError::Value(format!(
                "`ini.set.{key}` must be a string, number or boolean, got {other}"
            )));
        }
    })
}
