//! The `nginx` step: ensure directives/blocks exist exactly once in a context of an nginx
//! file (structural, include-aware).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit, NginxContext};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "nginx";

/// Ensure nginx directives/blocks exist exactly once in a context of a file.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NginxSpec {
    /// Absolute path of the nginx file to edit (a template).
    pub file: String,
    /// `main`, `http` or `server`.
    pub context: String,
    /// With `context: server`: pick the server block whose `server_name` has this name.
    pub server_name: Option<String>,
    /// With `context: server`: pick the server block with this `listen` value.
    pub listen: Option<String>,
    /// With `context: server`: the host name users open (`{{ public_host }}`); without `server_name`/`listen`, the
    /// server block nginx uses for it (on `port`) is edited, as nginx picks it across every file it loads.
    pub host: Option<String>,
    /// With `host`: the port users reach nginx on (`{{ public_port }}`; default 80).
    pub port: Option<String>,
    /// The directives/blocks that must exist, in nginx syntax.
    pub ensure: String,
    /// With `context: server`: an `upstream` of `ensure` is not defined when the chosen server block already
    /// proxies (`proxy_pass http://NAME`) to an upstream nginx loads whose every `server` is on the same port;
    /// the snippet's `proxy_pass` lines then name that upstream. Several such upstreams: the snippet's is added,
    /// with a comment naming them.
    #[serde(default)]
    pub reuse_upstream: bool,
}

impl NginxSpec {
    /// The spec, when its context is known and server selectors go with `context: server`.
    ///
    /// # Errors
    /// An unknown context, or a server selector in another context.
    pub fn checked(self) -> Result<Self, String> {
        if !matches!(self.context.as_str(), "main" | "http" | "server") {
            return Err(format!(
                "nginx context `{}` is not one of main, http, server",
                self.context
            ));
        }
        if self.context != "server" && (self.server_name.is_some() || self.listen.is_some()) {
            return Err(
                "`server_name`/`listen` select a server block: use them with `context: server`"
                    .to_owned(),
            );
        }
        if self.context != "server" && self.reuse_upstream {
            return Err(
                "`reuse_upstream` reuses an upstream of the chosen server block: use it with `context: server`"
                    .to_owned(),
            );
        }
        Ok(self)
    }

    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path, a port that is not a number.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute(
            "nginx.file",
            render_field(renderer, "nginx.file", &self.file)?,
        )?;
        // A selector that renders empty selects nothing (plans pass
        // `listen: "{{ site_listen }}"` whether or not it is set).
        let optional = |field: &str, value: &Option<String>| -> Result<Option<String>, StepError> {
            Ok(value
                .as_deref()
                .map(|s| render_field(renderer, field, s))
                .transpose()?
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()))
        };
        let context = match self.context.as_str() {
            "main" => NginxContext::Main,
            "http" => NginxContext::Http,
            _ => NginxContext::Server {
                server_name: optional("nginx.server_name", &self.server_name)?,
                listen: optional("nginx.listen", &self.listen)?,
                request: request_of(
                    optional("nginx.host", &self.host)?,
                    optional("nginx.port", &self.port)?,
                )?,
            },
        };
        let ensure = render_field(renderer, "nginx.ensure", &self.ensure)?;
        Ok((
            format!("nginx {} in {path}", self.context),
            Action::Edit(FileEdit {
                path,
                kind: EditKind::Nginx {
                    context,
                    ensure,
                    reuse_upstream: self.reuse_upstream,
                },
            }),
        ))
    }
}

/// The request of an nginx step (`host` and `port`): a port that is not a number is an error.
fn request_of(
    host: Option<String>,
    port: Option<String>,
) -> Result<Option<(String, u16)>, StepError> {
    let port = match port {
        Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            StepError::Value(format!("`nginx.port`: {port:?} is not a port number (1-65535); set public_port to the port users reach nginx on"))
        })?,
        None => 80,
    };
    Ok(host.map(|host| (host, port)))
}
