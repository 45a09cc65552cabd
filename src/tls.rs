//! TLS for health checks: a check to an `https://` or `wss://` URL speaks TLS over the
//! host's TCP tunnel, sends the public host name as SNI and verifies the certificate for
//! that name against a CA file (a private CA, e.g. the one a lab or an intranet uses) or
//! the Mozilla root store.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::plan::TlsTarget;

/// Why a check's TLS connection failed, described for a person.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {path}: {error}")]
    CaFileUnreadable {
        path: String,
        error: rustls::pki_types::pem::Error,
    },
    #[error("the CA file {path} is not valid PEM: {error}")]
    CaFileNotPem {
        path: String,
        error: rustls::pki_types::pem::Error,
    },
    #[error("the CA file {path} holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks)")]
    CaFileEmpty { path: String },
    #[error("the CA file {path} holds an unusable certificate: {error}")]
    CaFileUnusable { path: String, error: rustls::Error },
    /// rustls refused its own default settings.
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
    /// The check's host name is neither a DNS name nor an IP address.
    #[error("`{name}` cannot be a TLS server name: {error}")]
    ServerName {
        name: String,
        error: rustls::pki_types::InvalidDnsNameError,
    },
    /// The handshake failed (`trust`: the CA file or the Mozilla root store).
    #[error("TLS handshake with SNI `{name}` failed: {error} (trusting {trust})")]
    Handshake {
        name: String,
        error: std::io::Error,
        trust: String,
    },
}

/// Runs the TLS handshake on `stream` for `target`.
///
/// # Errors
/// An unreadable CA file, a server name that is neither a DNS name nor an IP address, or a
/// failed handshake (certificate not trusted, wrong name…), described for a person.
pub async fn connect<S>(stream: S, target: &TlsTarget) -> Result<TlsStream<S>, TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = client_config(target.ca_file.as_deref())?;
    let name =
        ServerName::try_from(target.server_name.clone()).map_err(|error| TlsError::ServerName {
            name: target.server_name.clone(),
            error,
        })?;
    TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|error| TlsError::Handshake {
            name: target.server_name.clone(),
            error,
            trust: target.ca_file.as_deref().map_or_else(
                || "the Mozilla root store".to_owned(),
                |f| format!("the CA file {f}"),
            ),
        })
}

fn client_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|error| TlsError::CaFileUnreadable {
                    path: path.to_owned(),
                    error,
                })?
                .collect::<Result<_, _>>()
                .map_err(|error| TlsError::CaFileNotPem {
                    path: path.to_owned(),
                    error,
                })?;
            if certs.is_empty() {
                return Err(TlsError::CaFileEmpty {
                    path: path.to_owned(),
                });
            }
            for cert in certs {
                roots.add(cert).map_err(|error| TlsError::CaFileUnusable {
                    path: path.to_owned(),
                    error,
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let e = client_config(Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(
            matches!(&e, TlsError::CaFileUnreadable { path, .. } if path == "/nonexistent/ca.pem"),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("cannot read the CA file /nonexistent/ca.pem: "),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let e = client_config(Some(empty.to_str().unwrap())).unwrap_err();
        assert!(matches!(e, TlsError::CaFileEmpty { .. }), "{e}");
        assert!(client_config(None).is_ok());
    }
}
