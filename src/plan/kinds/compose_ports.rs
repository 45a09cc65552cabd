//! The `compose_ports` step: bind a port a docker-compose service publishes on all
//! addresses to one address.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{StepError, absolute, render_field};
use crate::plan::step::{Action, EditKind, FileEdit};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "compose_ports";

/// Bind every `ports:` entry of a docker-compose service that publishes `container_port`
/// on all addresses to `bind`, changing only those entries' bytes (comments, quoting and
/// layout stay). The container keeps its old ports until it is recreated
/// (`docker compose up -d SERVICE`; a restart is not enough).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposePortsSpec {
    /// Absolute path of the docker-compose file (a template).
    pub file: String,
    /// The service whose `ports:` are edited (a template).
    pub service: String,
    /// The container port (a number, or a template such as `"{{ odoo_http_port }}"`).
    pub container_port: Value,
    /// The address to publish on (default `127.0.0.1`).
    #[serde(default = "default_bind")]
    pub bind: String,
}

fn default_bind() -> String {
    "127.0.0.1".to_owned()
}

impl ComposePortsSpec {
    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a relative path, an empty service, a port that is
    /// not a number, an address that is not an IP address.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let path = absolute(
            "compose_ports.file",
            render_field(renderer, "compose_ports.file", &self.file)?,
        )?;
        let service = render_field(renderer, "compose_ports.service", &self.service)?
            .trim()
            .to_owned();
        if service.is_empty() {
            return Err(StepError::Value(
                "`compose_ports.service` is empty: name the docker-compose service".to_owned(),
            ));
        }
        let port = renderer
            .render_typed(&self.container_port)
            .map_err(|source| StepError::Template {
                field: "compose_ports.container_port".to_owned(),
                source,
            })?;
        let container_port = match &port {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse::<u16>().ok(),
            _ => None,
        }
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            StepError::Value(format!(
                "`compose_ports.container_port` must be a port number (1-65535), got `{port}`"
            ))
        })?;
        let bind = render_field(renderer, "compose_ports.bind", &self.bind)?
            .trim()
            .to_owned();
        if bind.parse::<std::net::IpAddr>().is_err() {
            return Err(StepError::Value(format!(
                "`compose_ports.bind` must be an IP address such as 127.0.0.1, got `{bind}`"
            )));
        }
        Ok((
            format!("{service}'s port {container_port} on {bind} in {path}"),
            Action::Edit(FileEdit {
                path,
                kind: EditKind::ComposePorts {
                    service,
                    container_port,
                    bind,
                },
            }),
        ))
    }
}
