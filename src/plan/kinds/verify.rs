//! The `verify` step: a health check (a WebSocket handshake, an HTTP request or a
//! command) with its retry policy.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{StepError, render_field};
use crate::plan::step::{Action, Check, Endpoint, Probe};
use crate::template::Renderer;

/// The key of the kind in a step.
pub const KEY: &str = "verify";

/// A health check. Exactly one of `websocket`, `http`, `command`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// A WebSocket handshake.
    pub websocket: Option<WebSocketCheckSpec>,
    /// An HTTP request.
    pub http: Option<HttpCheckSpec>,
    /// A command and its output.
    pub command: Option<CommandCheckSpec>,
}

/// A real WebSocket handshake sent from the host's point of view (through the SSH tunnel).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSocketCheckSpec {
    /// `http://127.0.0.1/websocket?version=17.0-3` or `ws://...`: the address as the host sees it.
    pub url: String,
    /// The `Origin` header to send; omit to send none.
    pub origin: Option<String>,
    /// The `Host` header, when it must differ from the URL's host.
    pub host: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// Expected status (default 101).
    pub status: Option<u16>,
    /// With an `https://`/`wss://` URL: the name sent as SNI and checked in the certificate
    /// (default: the URL's host; plans pass `public_host`).
    pub tls_name: Option<String>,
    /// With an `https://`/`wss://` URL: PEM CA certificates (on the machine running
    /// wsdeploy) to trust instead of the Mozilla root store; empty means the root store.
    pub ca_file: Option<String>,
}

/// An HTTP request sent from the host's point of view.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckSpec {
    /// `http://127.0.0.1/web/health`: the address as the host sees it.
    pub url: String,
    /// Extra request headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// Expected status (default 200).
    pub status: Option<u16>,
    /// Text the body must contain.
    pub contains: Option<String>,
    /// With an `https://`/`wss://` URL: the name sent as SNI and checked in the certificate
    /// (default: the URL's host; plans pass `public_host`).
    pub tls_name: Option<String>,
    /// With an `https://`/`wss://` URL: PEM CA certificates (on the machine running
    /// wsdeploy) to trust instead of the Mozilla root store; empty means the root store.
    pub ca_file: Option<String>,
}

/// A command run on the host whose output must (not) contain a text.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandCheckSpec {
    /// The command (a template).
    pub run: String,
    /// Text the output (stdout and stderr) must contain.
    pub contains: Option<String>,
    /// Text the output must not contain.
    pub not_contains: Option<String>,
    /// Exit codes that pass (default `[0]`).
    pub expect_exit: Option<Vec<i32>>,
}

/// The one check of a loaded `verify` step.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckSpec {
    WebSocket(WebSocketCheckSpec),
    Http(HttpCheckSpec),
    Command(CommandCheckSpec),
}

impl VerifySpec {
    /// Its one check.
    ///
    /// # Errors
    /// None or several of `websocket`, `http`, `command`.
    pub fn check(self) -> Result<CheckSpec, String> {
        match (self.websocket, self.http, self.command) {
            (Some(ws), None, None) => Ok(CheckSpec::WebSocket(ws)),
            (None, Some(http), None) => Ok(CheckSpec::Http(http)),
            (None, None, Some(command)) => Ok(CheckSpec::Command(command)),
            _ => Err("a `verify` step needs exactly one of websocket, http, command".to_owned()),
        }
    }
}

/// A loaded `verify` step: its check and the step fields only it takes.
#[derive(Debug)]
pub struct VerifyStep {
    pub check: CheckSpec,
    pub retries: Option<u32>,
    pub delay: Option<f64>,
    pub timeout: Option<u64>,
    pub warn_only: bool,
}

impl VerifyStep {
    /// The default label and the action for a host.
    ///
    /// # Errors
    /// A value that cannot be rendered, a URL that is not one, a delay out of range.
    pub fn render(&self, renderer: &Renderer) -> Result<(String, Action), StepError> {
        let (label, probe) = self.check.render(renderer)?;
        let delay = self.delay.unwrap_or(1.0);
        if !(0.0..=600.0).contains(&delay) {
            return Err(StepError::Value(format!(
                "`delay` must be between 0 and 600 seconds, got {delay}"
            )));
        }
        Ok((
            label,
            Action::Verify(Check {
                probe,
                retries: self.retries.unwrap_or(10).max(1),
                delay: Duration::from_secs_f64(delay),
                timeout: self
                    .timeout
                    .map_or(Duration::from_secs(10), Duration::from_secs),
                warn_only: self.warn_only,
            }),
        ))
    }

    /// Its template fields as written, keyed as in the step.
    pub(super) fn written(&self) -> Vec<(&'static str, Value)> {
        vec![(KEY, super::value(&self.check))]
    }
}

impl CheckSpec {
    /// The default label and the probe for a host.
    fn render(&self, renderer: &Renderer) -> Result<(String, Probe), StepError> {
        match self {
            Self::WebSocket(ws) => ws.render(renderer),
            Self::Http(http) => http.render(renderer),
            Self::Command(cmd) => cmd.render(renderer),
        }
    }
}

impl WebSocketCheckSpec {
    fn render(&self, renderer: &Renderer) -> Result<(String, Probe), StepError> {
        let url = render_field(renderer, "verify.websocket.url", &self.url)?;
        let mut target = Endpoint::parse(&url)
            .map_err(|e| StepError::Value(format!("`verify.websocket.url`: {e}")))?;
        tls_settings(
            renderer,
            "verify.websocket",
            &mut target,
            self.tls_name.as_deref(),
            self.ca_file.as_deref(),
        )?;
        let origin = self
            .origin
            .as_deref()
            .map(|o| render_field(renderer, "verify.websocket.origin", o))
            .transpose()?;
        let host_header = self
            .host
            .as_deref()
            .map(|o| render_field(renderer, "verify.websocket.host", o))
            .transpose()?;
        Ok((
            format!("websocket handshake {url}"),
            Probe::WebSocket {
                target,
                origin,
                host_header,
                headers: headers(renderer, "verify.websocket.headers", &self.headers)?,
                status: self.status.unwrap_or(101),
            },
        ))
    }
}

impl HttpCheckSpec {
    fn render(&self, renderer: &Renderer) -> Result<(String, Probe), StepError> {
        let url = render_field(renderer, "verify.http.url", &self.url)?;
        let mut target = Endpoint::parse(&url)
            .map_err(|e| StepError::Value(format!("`verify.http.url`: {e}")))?;
        tls_settings(
            renderer,
            "verify.http",
            &mut target,
            self.tls_name.as_deref(),
            self.ca_file.as_deref(),
        )?;
        Ok((
            format!("http {url}"),
            Probe::Http {
                target,
                headers: headers(renderer, "verify.http.headers", &self.headers)?,
                status: self.status.unwrap_or(200),
                contains: self
                    .contains
                    .as_deref()
                    .map(|c| render_field(renderer, "verify.http.contains", c))
                    .transpose()?,
            },
        ))
    }
}

impl CommandCheckSpec {
    fn render(&self, renderer: &Renderer) -> Result<(String, Probe), StepError> {
        let run = render_field(renderer, "verify.command.run", &self.run)?;
        Ok((
            format!("check `{run}`"),
            Probe::Command {
                run,
                contains: self
                    .contains
                    .as_deref()
                    .map(|c| render_field(renderer, "verify.command.contains", c))
                    .transpose()?,
                not_contains: self
                    .not_contains
                    .as_deref()
                    .map(|c| render_field(renderer, "verify.command.not_contains", c))
                    .transpose()?,
                expect_exit: self.expect_exit.clone().unwrap_or_else(|| vec![0]),
            },
        ))
    }
}

fn headers(
    renderer: &Renderer,
    field: &str,
    map: &Map<String, Value>,
) -> Result<Vec<(String, String)>, StepError> {
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => render_field(renderer, &format!("{field}.{k}"), s)?,
                other => other.to_string(),
            };
            if text.contains(['\r', '\n']) || k.contains(['\r', '\n', ':']) {
                return Err(StepError::Value(format!(
                    "`{field}.{k}`: header names/values cannot contain newlines"
                )));
            }
            Ok((k.clone(), text))
        })
        .collect()
}

/// Applies a check's `tls_name` and `ca_file` to an `https://`/`wss://` target; a plain
/// `http://`/`ws://` target ignores them, so one plan serves both schemes
/// (`url: "{{ check_base_url }}/..."`, `tls_name: "{{ public_host }}"`).
fn tls_settings(
    renderer: &Renderer,
    field: &str,
    target: &mut Endpoint,
    tls_name: Option<&str>,
    ca_file: Option<&str>,
) -> Result<(), StepError> {
    let Some(tls) = &mut target.tls else {
        return Ok(());
    };
    if let Some(name) = tls_name {
        let name = render_field(renderer, &format!("{field}.tls_name"), name)?;
        if !name.trim().is_empty() {
            tls.server_name = name.trim().to_owned();
        }
    }
    if let Some(file) = ca_file {
        let file = render_field(renderer, &format!("{field}.ca_file"), file)?;
        tls.ca_file = Some(file.trim().to_owned()).filter(|f| !f.is_empty());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        let mut vars = Map::new();
        vars.insert("public_host".into(), Value::from("erp.example.com"));
        vars.insert("check_ca_file".into(), Value::from(""));
        vars.insert("lab_ca".into(), Value::from("/etc/wsdeploy/ca.pem"));
        Renderer::new(vars)
    }

    #[test]
    fn tls_name_and_ca_file_apply_to_tls_urls_only() {
        let r = renderer();
        let mut https = Endpoint::parse("https://127.0.0.1/websocket").unwrap();
        tls_settings(
            &r,
            "verify.websocket",
            &mut https,
            Some("{{ public_host }}"),
            Some("{{ check_ca_file }}"),
        )
        .unwrap();
        let tls = https.tls.unwrap();
        assert_eq!(
            (tls.server_name.as_str(), tls.ca_file),
            ("erp.example.com", None)
        );
        let mut wss = Endpoint::parse("wss://127.0.0.1/websocket").unwrap();
        tls_settings(&r, "verify.websocket", &mut wss, None, Some("{{ lab_ca }}")).unwrap();
        let tls = wss.tls.unwrap();
        assert_eq!(tls.server_name, "127.0.0.1");
        assert_eq!(tls.ca_file.as_deref(), Some("/etc/wsdeploy/ca.pem"));
        let mut plain = Endpoint::parse("http://127.0.0.1/websocket").unwrap();
        tls_settings(
            &r,
            "verify.http",
            &mut plain,
            Some("{{ public_host }}"),
            Some("{{ lab_ca }}"),
        )
        .unwrap();
        assert!(plain.tls.is_none());
    }
}
