//! The error of rendering one step's fields for a host ([`StepError`]): a template that
//! cannot be rendered stays a [`TemplateError`] with the field it is in, so a caller can
//! tell an unknown filter from an undefined variable by type, not by the message's text.

use crate::template::TemplateError;

/// Why a step cannot be rendered for a host. Each message names the field.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A field's template cannot be rendered (`nginx.file`, `ini.set.KEY`, `hint`, …).
    #[error("`{field}`: {source}")]
    Template {
        field: String,
        #[source]
        source: TemplateError,
    },
    /// A `when:` expression cannot be evaluated.
    #[error("`when: {expression}`: {source}")]
    Condition {
        expression: String,
        #[source]
        source: TemplateError,
    },
    /// A path field that renders to a relative path or one with `..`.
    #[error("`{field}` must be an absolute path without `..`, got `{path}`")]
    NotAbsolute { field: String, path: String },
    /// A rendered value that is not what its field takes (a port that is not a number, a
    /// URL that is not one, …); the text names the field and what it takes.
    #[error("{0}")]
    Value(String),
}

impl StepError {
    /// The template error behind this one, if any.
    #[must_use]
    pub fn template(&self) -> Option<&TemplateError> {
        match self {
            Self::Template { source, .. } | Self::Condition { source, .. } => Some(source),
            Self::NotAbsolute { .. } | Self::Value(_) => None,
        }
    }
}
