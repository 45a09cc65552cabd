//! The error of rendering a play for one host (`render`, and the fact paths `facts`
//! renders first): where in the plan, which step, which host, what. A leaf of `plan`.

use super::kinds::StepError;
use crate::location::Location;
use crate::template::TemplateError;

/// A rendering error for one host.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: step `{step}` for host {host}: {message}")]
pub struct RenderError {
    /// Boxed: the error stays small (`clippy::result_large_err`).
    pub origin: Box<Location>,
    pub step: String,
    pub host: String,
    /// What went wrong, secrets masked: the text users see.
    pub message: String,
    /// What kind of problem it is, for callers that treat some apart.
    pub cause: Cause,
}

/// The kind of problem behind a [`RenderError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A template uses a filter wsdeploy does not have (`validate` reports those once,
    /// for every host, from the plan's text).
    UnknownFilter,
    /// Any other template error (undefined variable, syntax, unsupported function, …).
    Template,
    /// A rendered value that is not what its field takes.
    Value,
}

impl Cause {
    /// The kind of a template error.
    #[must_use]
    pub fn of_template(error: &TemplateError) -> Self {
        match error {
            TemplateError::UnknownFilter(_) => Self::UnknownFilter,
            _ => Self::Template,
        }
    }

    /// The kind of a step's rendering error.
    #[must_use]
    pub fn of_step(error: &StepError) -> Self {
        error.template().map_or(Self::Value, Self::of_template)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::Cause;
    use crate::plan::kinds::ini::IniSpec;
    use crate::template::Renderer;

    fn ini_file(file: &str) -> Cause {
        let spec = IniSpec {
            file: file.to_owned(),
            section: "options".to_owned(),
            set: Map::new(),
            create_section: false,
        };
        let mut vars = Map::new();
        vars.insert("x".to_owned(), json!("unknown filter.conf"));
        let error = spec
            .render(&Renderer::new(vars))
            .expect_err("the step cannot be rendered");
        Cause::of_step(&error)
    }

    #[test]
    fn an_unknown_filter_is_told_by_its_type_not_its_text() {
        assert_eq!(
            ini_file("/etc/{{ x | to_nice_yaml }}"),
            Cause::UnknownFilter
        );
        assert_eq!(ini_file("{{ x }}"), Cause::Value);
        assert_eq!(ini_file("/etc/{{ y }}"), Cause::Template);
    }
}
