//! The error of rendering a play for one host (`render`, and the fact paths `facts`
//! renders first): where in the plan, which step, which host, what. A leaf of `plan`.

use crate::location::Location;

/// A rendering error for one host.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: step `{step}` for host {host}: {message}")]
pub struct RenderError {
    /// Boxed: the error stays small (`clippy::result_large_err`).
    pub origin: Box<Location>,
    pub step: String,
    pub host: String,
    pub message: String,
}
