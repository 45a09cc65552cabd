//! The error of rendering a play for one host (`render`, and the fact paths `facts`
//! renders first): where in the plan, which step, which host, what. A leaf of `plan`.

/// A rendering error for one host.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: step `{step}` for host {host}: {message}")]
pub struct RenderError {
    pub origin: String,
    pub step: String,
    pub host: String,
    pub message: String,
}
