//! Progress events emitted while hosts run, consumed by the progress printer and the
//! `--json` stream. Sending never blocks and never fails the run.

use crate::run::ActionStatus;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

/// One thing that happened on one host.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The connection to a host starts (before any handshake): `to` is `user@address:port`
    /// (or `local`), `via` the jump hosts in connection order.
    Connecting {
        host: String,
        to: String,
        via: Vec<String>,
    },
    HostStarted {
        host: String,
    },
    Phase {
        host: String,
        phase: String,
    },
    StepDone {
        host: String,
        step: String,
        label: String,
        status: ActionStatus,
        detail: String,
    },
    Note {
        host: String,
        message: String,
    },
}

/// Where events go (nowhere, in tests and library use).
#[derive(Clone, Default)]
pub struct Events {
    sender: Option<UnboundedSender<Event>>,
    secrets: Vec<String>,
}

impl Events {
    /// Events sent to `sender`.
    #[must_use]
    pub fn to(sender: UnboundedSender<Event>) -> Self {
        Self {
            sender: Some(sender),
            secrets: Vec::new(),
        }
    }

    /// The same sink, masking these values in every event.
    #[must_use]
    pub fn masking(&self, secrets: &[String]) -> Self {
        Self {
            sender: self.sender.clone(),
            secrets: secrets.to_vec(),
        }
    }

    /// Masked and safe for a terminal (`report::sanitize`).
    fn clean(&self, text: &str) -> String {
        crate::report::mask(&crate::report::sanitize(text), &self.secrets)
    }

    /// Sends an event (masked, control characters removed).
    pub fn send(&self, event: Event) {
        if let Some(s) = &self.sender {
            let event = match event {
                Event::StepDone {
                    host,
                    step,
                    label,
                    status,
                    detail,
                } => Event::StepDone {
                    host,
                    step,
                    label: self.clean(&label),
                    status,
                    detail: self.clean(&detail),
                },
                Event::Note { host, message } => Event::Note {
                    host,
                    message: self.clean(&message),
                },
                other => other,
            };
            let _ = s.send(event);
        }
    }
}
