//! The step kinds, one file each (`nginx`, `ini`, `json`, `file`, `line`, `requirements`,
//! `compose_ports`, `command`, `verify`): the kind's YAML fields (its `…Spec`, strict, whose
//! doc comments are the JSON Schema's descriptions), the checks that need no variables, and
//! its rendering for a host into a typed [`Action`].
//!
//! [`StepKind`] is a loaded step's kind with its spec, decided once by `load`; [`Kind`]
//! names the kinds. Every list of kinds (the keys, the "no kind" message, the schema and
//! docs tests) comes from [`Kind::ALL`] or an exhaustive `match`, so a new variant is a
//! compile error until each place is filled in; `Kind` and `Kind::ALL` are written as one
//! list (`kinds!`), so no kind can be missing from `ALL`.

pub mod command;
pub mod compose_ports;
pub mod file;
pub mod ini;
pub mod json;
pub mod line;
pub mod nginx;
pub mod requirements;
mod step_error;
pub mod verify;

use serde_json::Value;

pub use step_error::StepError;

use super::step::Action;
use crate::template::Renderer;

/// A loaded step's kind, with the spec it was written with (checked, `content_from` read).
#[derive(Debug)]
pub enum StepKind {
    Nginx(nginx::NginxSpec),
    Ini(ini::IniSpec),
    Json(json::JsonSpec),
    File(file::FileStep),
    Line(line::LineSpec),
    Requirements(requirements::RequirementsSpec),
    ComposePorts(compose_ports::ComposePortsSpec),
    Command(command::CommandStep),
    Verify(verify::VerifyStep),
}

/// Declares [`Kind`] and [`Kind::ALL`] from one list, so that a kind cannot be left out
/// of `ALL`: a `Kind` exists only by being written here.
macro_rules! kinds {
    ($($name:ident),+ $(,)?) => {
        /// The name of a step kind, without its spec.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $($name),+
        }

        impl Kind {
            /// Every kind, in the order of the step's fields (the order messages list
            /// them in).
            pub const ALL: [Self; [$(stringify!($name)),+].len()] = [$(Self::$name),+];
        }
    };
}

// In the order of `StepSpec`'s fields.
kinds![
    Nginx,
    Ini,
    Json,
    File,
    Line,
    Requirements,
    ComposePorts,
    Command,
    Verify,
];

impl Kind {
    /// The key that selects this kind in YAML.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Nginx => nginx::KEY,
            Self::Ini => ini::KEY,
            Self::Json => json::KEY,
            Self::File => file::KEY,
            Self::Line => line::KEY,
            Self::Requirements => requirements::KEY,
            Self::ComposePorts => compose_ports::KEY,
            Self::Command => command::KEY,
            Self::Verify => verify::KEY,
        }
    }

    /// Whether a step of this kind edits a file (else it runs or checks something).
    #[must_use]
    pub fn edits_file(self) -> bool {
        match self {
            Self::Nginx
            | Self::Ini
            | Self::Json
            | Self::File
            | Self::Line
            | Self::Requirements
            | Self::ComposePorts => true,
            Self::Command | Self::Verify => false,
        }
    }

    /// The keys of the kinds `which` keeps, comma-separated
    /// (`nginx, ini, json, …, command, verify`).
    #[must_use]
    pub fn keys(which: impl Fn(Self) -> bool) -> String {
        Self::ALL
            .into_iter()
            .filter(|k| which(*k))
            .map(Self::key)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl StepKind {
    /// The kind's name.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Self::Nginx(_) => Kind::Nginx,
            Self::Ini(_) => Kind::Ini,
            Self::Json(_) => Kind::Json,
            Self::File(_) => Kind::File,
            Self::Line(_) => Kind::Line,
            Self::Requirements(_) => Kind::Requirements,
            Self::ComposePorts(_) => Kind::ComposePorts,
            Self::Command(_) => Kind::Command,
            Self::Verify(_) => Kind::Verify,
        }
    }

    /// The key that selects this kind in YAML.
    #[must_use]
    pub fn key(&self) -> &'static str {
        self.kind().key()
    }

    /// The default label and the action of the step for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered or is not what the field takes, naming the field.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        match self {
            Self::Nginx(spec) => spec.render(renderer),
            Self::Ini(spec) => spec.render(renderer),
            Self::Json(spec) => spec.render(renderer),
            Self::File(spec) => spec.render(renderer),
            Self::Line(spec) => spec.render(renderer),
            Self::Requirements(spec) => spec.render(renderer),
            Self::ComposePorts(spec) => spec.render(renderer),
            Self::Command(spec) => spec.render(renderer),
            Self::Verify(spec) => spec.render(renderer),
        }
    }

    /// The step's own fields as written (`(key, value)`, keys as in YAML, in the order of
    /// the step's fields): what `validate` looks for templates in.
    #[must_use]
    pub fn written(&self) -> Vec<(&'static str, Value)> {
        match self {
            Self::Nginx(spec) => vec![(nginx::KEY, value(spec))],
            Self::Ini(spec) => vec![(ini::KEY, value(spec))],
            Self::Json(spec) => vec![(json::KEY, value(spec))],
            Self::File(spec) => vec![(file::KEY, value(spec))],
            Self::Line(spec) => vec![(line::KEY, value(spec))],
            Self::Requirements(spec) => vec![(requirements::KEY, value(spec))],
            Self::ComposePorts(spec) => vec![(compose_ports::KEY, value(spec))],
            Self::Command(spec) => spec.written(),
            Self::Verify(spec) => spec.written(),
        }
    }
}

/// A spec as written, as a JSON value.
fn value(spec: &impl serde::Serialize) -> Value {
    serde_json::to_value(spec).unwrap_or_default()
}

/// `value` rendered; an error names the field (`nginx.file`).
pub(super) fn render_field(
    renderer: &Renderer,
    field: &str,
    value: &str,
) -> Result<String, StepError> {
    renderer
        .render(value)
        .map_err(|source| StepError::Template {
            field: field.to_owned(),
            source,
        })
}

/// `path` when it is absolute and has no `..`.
fn absolute(field: &str, path: String) -> Result<String, StepError> {
    if path.starts_with('/') && !path.split('/').any(|part| part == "..") {
        Ok(path)
    } else {
        Err(StepError::NotAbsolute {
            field: field.to_owned(),
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn messages_list_the_kinds_in_the_order_of_a_steps_fields() {
        assert_eq!(
            Kind::keys(|_| true),
            "nginx, ini, json, file, line, requirements, compose_ports, command, verify"
        );
        assert_eq!(
            Kind::keys(Kind::edits_file),
            "nginx, ini, json, file, line, requirements, compose_ports"
        );
    }
}
