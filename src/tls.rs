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

/// Runs the TLS handshake on `stream` for `target`.
///
/// # Errors
/// An unreadable CA file, a server name that is neither a DNS name nor an IP address, or a
/// failed handshake (certificate not trusted, wrong name…), described for a person.
pub async fn connect<S>(stream: S, target: &TlsTarget) -> Result<TlsStream<S>, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = client_config(target.ca_file.as_deref())?;
    let name = ServerName::try_from(target.server_name.clone())
        .map_err(|e| format!("`{}` cannot be a TLS server name: {e}", target.server_name))?;
    TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| {
            let trust = target.ca_file.as_deref().map_or_else(
                || "the Mozilla root store".to_owned(),
                |f| format!("the CA file {f}"),
            );
            format!(
                "TLS handshake with SNI `{}` failed: {e} (trusting {trust})",
                target.server_name
            )
        })
}

fn client_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {path}: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("the CA file {path} is not valid PEM: {e}"))?;
            if certs.is_empty() {
                return Err(format!(
                    "the CA file {path} holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks)"
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    format!("the CA file {path} holds an unusable certificate: {e}")
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let e = client_config(Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let e = client_config(Some(empty.to_str().unwrap())).unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        assert!(client_config(None).is_ok());
    }
}
