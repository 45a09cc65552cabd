//! Structural editors (pure: text in, text out) and the one dispatch point that applies a
//! plan's [`EditKind`] to a file's current content.

pub mod compose;
mod edit_error;
pub mod ini;
pub mod json;
pub mod lossless;
#[cfg(test)]
mod lossless_properties;
pub mod nginx;
pub mod text;

use crate::plan::{EditKind, NginxContext};

pub use edit_error::EditError;

/// What the nginx editor needs to know about the rest of the host's configuration.
pub struct EditContext<'a> {
    /// The effective nginx configuration (`nginx -T`), for include-aware duplicate checks.
    pub nginx: &'a nginx::Effective,
}

/// Applies one edit to `current` (`None`: the file does not exist) and returns the new text.
///
/// # Errors
/// The editor's own error (a parse error with its line and column, a missing context, a
/// conflicting definition elsewhere), shown with the file's path by [`EditError::in_file`].
pub fn apply(
    kind: &EditKind,
    path: &str,
    current: Option<&str>,
    ctx: &EditContext<'_>,
) -> Result<String, EditError> {
    match kind {
        EditKind::Whole { content, .. } => Ok(content.clone()),
        EditKind::Line { line, matches } => {
            let re = matches
                .as_deref()
                .map(regex::Regex::new)
                .transpose()
                .map_err(|e| format!("bad `match` regular expression: {e}"))?;
            Ok(text::ensure_line(
                current.unwrap_or_default(),
                line,
                re.as_ref(),
            ))
        }
        EditKind::Requirements { ensure } => {
            let mut out = current.unwrap_or_default().to_owned();
            for requirement in ensure {
                out = text::ensure_lines_requirements(&out, requirement);
            }
            Ok(out)
        }
        EditKind::Ini {
            section,
            set,
            create_section,
        } => {
            let text = current.ok_or_else(|| missing(path))?;
            if !create_section && !ini::has_section(text, section)? {
                return Err(EditError::from(format!(
                    "there is no [{section}] section: is this the right file? (set `create_section: true` on the step to add it)"
                )));
            }
            Ok(ini::set_keys(text, section, set)?)
        }
        EditKind::ComposePorts {
            service,
            container_port,
            bind,
        } => {
            let text = current.ok_or_else(|| missing(path))?;
            Ok(compose::bind_ports(text, service, *container_port, bind)?)
        }
        EditKind::Json { set } => {
            let text = current.ok_or_else(|| missing(path))?;
            Ok(json::set_keys(text, set)?)
        }
        EditKind::Nginx {
            context,
            ensure,
            reuse_upstream,
        } => {
            let text = current.ok_or_else(|| missing(path))?;
            let file_top = file_top(path, ctx);
            let edit = if *reuse_upstream {
                nginx::ensure_reusing_upstreams
            } else {
                nginx::ensure
            };
            edit(
                path,
                text,
                file_top,
                &nginx_context(context),
                ensure,
                ctx.nginx,
            )
            .map_err(EditError::from)
        }
    }
}

/// For an nginx edit into a server block: which block of `path` (as `current` has it) it
/// goes into and why, for the run's output. `None` for other edits (and when the edit
/// itself fails, which reports why).
#[must_use]
pub fn server_choice(
    kind: &EditKind,
    path: &str,
    current: Option<&str>,
    ctx: &EditContext<'_>,
) -> Option<String> {
    let EditKind::Nginx { context, .. } = kind else {
        return None;
    };
    let text = current?;
    nginx::chosen_server(
        path,
        text,
        file_top(path, ctx),
        &nginx_context(context),
        ctx.nginx,
    )
    .ok()
    .flatten()
}

/// The context nginx loads `path`'s top level in (nginx.conf's own when the dump does not
/// name the file).
fn file_top(path: &str, ctx: &EditContext<'_>) -> nginx::ContextKind {
    ctx.nginx
        .context_of(path)
        .unwrap_or(nginx::ContextKind::Main)
}

fn nginx_context(context: &NginxContext) -> nginx::Context {
    match context {
        NginxContext::Main => nginx::Context::Main,
        NginxContext::Http => nginx::Context::Http,
        NginxContext::Server {
            server_name,
            listen,
            request,
        } => nginx::Context::Server {
            server_name: server_name.clone(),
            listen: listen.clone(),
            request: request.as_ref().map(|(host, port)| nginx::Request {
                host: host.clone(),
                port: *port,
            }),
        },
    }
}

fn missing(path: &str) -> String {
    format!(
        "{path} does not exist on the host (this step edits an existing file; check the path variable)"
    )
}
