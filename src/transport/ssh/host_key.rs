//! The russh client handler: verifies the server's host key against `known_hosts`
//! (learning it when allowed) and remembers why the connection ended.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use russh::client::{DisconnectReason, Handler};
use russh::keys::ssh_key::Fingerprint;
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Certificate, HashAlg, PublicKey, PublicKeyOrCertificate};

use super::error::SshError;
use super::known_hosts::{self, HostKeyStatus};
use super::known_hosts_store;

/// Shared slot the handler fills with an explanation; read after the handshake fails
/// or the connection drops.
pub(super) type Verdict = Arc<Mutex<Option<SshError>>>;
pub(super) type DisconnectNote = Arc<Mutex<Option<String>>>;

pub(super) struct HostKeyVerifier {
    pub host: String,
    pub port: u16,
    pub known_hosts: PathBuf,
    pub accept_new: bool,
    pub verdict: Verdict,
    pub disconnect_note: DisconnectNote,
}

impl HostKeyVerifier {
    fn verify(&self, presented: &PublicKey) -> Result<(), SshError> {
        let known = known_hosts_store::known(&self.known_hosts)?;
        let host = known_hosts::host_port_name(&self.host, self.port);
        match known_hosts::check(&known, &self.host, self.port, presented) {
            HostKeyStatus::Trusted => Ok(()),
            HostKeyStatus::Unknown { .. } if self.accept_new => {
                known_hosts_store::append(&self.known_hosts, &self.host, self.port, presented)
                    .map_err(|source| SshError::KnownHosts {
                        action: "append to",
                        path: self.known_hosts.clone(),
                        source,
                    })
            }
            HostKeyStatus::Unknown { other_types } => Err(SshError::HostKeyUnknown {
                host,
                known_hosts: self.known_hosts.clone(),
                key: known_hosts::describe_key(presented),
                note: if other_types.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (keys of other types are recorded for it at line {})",
                        join_numbers(&other_types)
                    )
                },
            }),
            HostKeyStatus::Changed { line, known } => Err(SshError::HostKeyChanged {
                host,
                known_hosts: self.known_hosts.clone(),
                line,
                known: known_hosts::describe_key(&known),
                presented: known_hosts::describe_key(presented),
            }),
            HostKeyStatus::Revoked { line } => Err(SshError::HostKeyRevoked {
                host,
                known_hosts: self.known_hosts.clone(),
                line,
                presented: known_hosts::describe_key(presented),
            }),
        }
    }
}

impl HostKeyVerifier {
    /// A host certificate is trusted when an `@cert-authority` line for this host holds
    /// the CA that signed it, it is a host certificate, valid now, for this host name (or
    /// for any, when it lists no principal), and neither it nor its CA is `@revoked`.
    fn verify_certificate(&self, certificate: &Certificate) -> Result<(), SshError> {
        let known = known_hosts_store::known(&self.known_hosts)?;
        let refuse = |detail: String| SshError::HostCertificate {
            host: known_hosts::host_port_name(&self.host, self.port),
            known_hosts: self.known_hosts.clone(),
            detail,
        };
        let authorities = known_hosts::cert_authorities(&known, &self.host, self.port);
        if authorities.is_empty() {
            return Err(refuse(
                "no @cert-authority line covers this host".to_owned(),
            ));
        }
        if certificate.cert_type() != CertType::Host {
            return Err(refuse(
                "it is a user certificate, not a host certificate".to_owned(),
            ));
        }
        for key in [certificate.public_key(), certificate.signature_key()] {
            if let Some(line) = known_hosts::revoked_line(&known, &self.host, self.port, key) {
                return Err(refuse(format!("its key or CA is @revoked at line {line}")));
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        if !(certificate.valid_after() <= now && now < certificate.valid_before()) {
            return Err(refuse(format!(
                "it is valid only between {} and {} (Unix time; now {now})",
                certificate.valid_after(),
                certificate.valid_before()
            )));
        }
        let trusted: Vec<Fingerprint> = authorities
            .iter()
            .map(|(_, key)| key.fingerprint(HashAlg::Sha256))
            .collect();
        if certificate.validate_at(now, trusted.iter()).is_err() {
            let lines: Vec<usize> = authorities.iter().map(|(line, _)| *line).collect();
            return Err(refuse(format!(
                "it is not signed by a CA trusted for this host (CA {}; @cert-authority at line {})",
                certificate.signature_key().fingerprint(HashAlg::Sha256),
                join_numbers(&lines)
            )));
        }
        let principals = certificate.valid_principals();
        let name = self.host.to_ascii_lowercase();
        if !principals.is_empty() && !principals.iter().any(|p| p.to_ascii_lowercase() == name) {
            return Err(refuse(format!(
                "it is for {}, not {}",
                principals.join(", "),
                self.host
            )));
        }
        Ok(())
    }
}

impl Handler for HostKeyVerifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let outcome = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.verify(key),
            PublicKeyOrCertificate::Certificate(certificate) => {
                self.verify_certificate(certificate)
            }
        };
        match outcome {
            Ok(()) => Ok(true),
            Err(error) => {
                *self.verdict.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                Ok(false)
            }
        }
    }

    async fn disconnected(
        &mut self,
        reason: DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let (note, result) = match reason {
            DisconnectReason::ReceivedDisconnect(info) => (
                if info.message.is_empty() {
                    format!("the server disconnected ({:?})", info.reason_code)
                } else {
                    format!("the server disconnected: {}", info.message)
                },
                Ok(()),
            ),
            DisconnectReason::Error(error) => (describe_russh_error(&error), Err(error)),
        };
        *self
            .disconnect_note
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(note);
        result
    }
}

/// A person-readable account of a russh failure.
pub(super) fn describe_russh_error(error: &russh::Error) -> String {
    match error {
        russh::Error::KeepaliveTimeout => {
            "the server stopped answering keepalives (network down or host frozen)".to_owned()
        }
        russh::Error::InactivityTimeout => "nothing was received for too long".to_owned(),
        russh::Error::HUP | russh::Error::Disconnect => {
            "the connection was closed by the remote side".to_owned()
        }
        russh::Error::IO(io) => format!("network error: {io}"),
        other => other.to_string(),
    }
}

fn join_numbers(numbers: &[usize]) -> String {
    numbers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
