//! The websocket opening handshake as Odoo 17 checks it
//! (`odoo/addons/bus/websocket.py`, `WebsocketConnectionHandler._assert_handshake_validity`).

use crate::base64;
use crate::http::Request;
use crate::sha1::sha1;

/// RFC 6455's GUID appended to the key before hashing.
const HANDSHAKE_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Headers Odoo requires, in the order the error message lists them.
const REQUIRED_HEADERS: [&str; 6] = [
    "connection",
    "host",
    "sec-websocket-key",
    "sec-websocket-version",
    "upgrade",
    "origin",
];

/// A handshake Odoo would refuse, with the status and message it would answer.
#[derive(Debug, PartialEq, Eq)]
pub enum HandshakeError {
    MissingHeaders(Vec<&'static str>),
    InvalidUpgrade,
    InvalidConnection,
    UnsupportedVersion,
    KeyNotBase64,
    KeyWrongLength,
}

impl HandshakeError {
    /// HTTP status: 426 for a wrong version (werkzeug's `UpgradeRequired`), 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::UnsupportedVersion => 426,
            _ => 400,
        }
    }

    /// The message Odoo puts in the error page.
    pub fn message(&self) -> String {
        match self {
            HandshakeError::MissingHeaders(names) => {
                format!("Empty or missing header(s): {}", names.join(", "))
            }
            HandshakeError::InvalidUpgrade => "Invalid upgrade header".to_owned(),
            HandshakeError::InvalidConnection => "Invalid connection header".to_owned(),
            HandshakeError::UnsupportedVersion => {
                "Wrong websocket version was given during the handshake".to_owned()
            }
            HandshakeError::KeyNotBase64 => "Sec-WebSocket-Key should be b64 encoded".to_owned(),
            HandshakeError::KeyWrongLength => {
                "Sec-WebSocket-Key should be of length 16 once decoded".to_owned()
            }
        }
    }
}

/// A handshake that passed: what the 101 answer needs.
#[derive(Debug)]
pub struct AcceptedHandshake {
    pub accept: String,
    pub origin: String,
}

/// Checks `request` in Odoo's order and computes `Sec-WebSocket-Accept`.
pub fn validate(request: &Request) -> Result<AcceptedHandshake, HandshakeError> {
    let missing: Vec<&'static str> = REQUIRED_HEADERS
        .into_iter()
        .filter(|name| request.header(name).is_none_or(str::is_empty))
        .collect();
    if !missing.is_empty() {
        return Err(HandshakeError::MissingHeaders(missing));
    }
    let header = |name: &str| request.header(name).unwrap_or_default();
    if !header("upgrade").eq_ignore_ascii_case("websocket") {
        return Err(HandshakeError::InvalidUpgrade);
    }
    if !header("connection")
        .to_ascii_lowercase()
        .contains("upgrade")
    {
        return Err(HandshakeError::InvalidConnection);
    }
    if header("sec-websocket-version") != "13" {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = header("sec-websocket-key");
    let decoded = base64::decode(key).ok_or(HandshakeError::KeyNotBase64)?;
    if decoded.len() != 16 {
        return Err(HandshakeError::KeyWrongLength);
    }
    Ok(AcceptedHandshake {
        accept: accept_key(key),
        origin: header("origin").to_owned(),
    })
}

/// `Sec-WebSocket-Accept` for `key` (RFC 6455 section 4.2.2).
pub fn accept_key(key: &str) -> String {
    base64::encode(&sha1(format!("{key}{HANDSHAKE_GUID}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::{HandshakeError, accept_key, validate};
    use crate::http::Request;

    fn request(extra: &str) -> Request {
        let head = format!("GET /websocket HTTP/1.1\r\nHost: h\r\n{extra}");
        Request::parse(head.trim_end().as_bytes()).unwrap()
    }

    const GOOD: &str = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    #[test]
    fn rfc6455_sample_accept() {
        // RFC 6455 section 1.3; also what Python's hashlib + base64 give.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn missing_origin_is_named() {
        let error = validate(&request(GOOD)).unwrap_err();
        assert_eq!(error.message(), "Empty or missing header(s): origin");
        assert_eq!(error.status(), 400);
        let error = validate(&request("")).unwrap_err();
        assert_eq!(
            error.message(),
            "Empty or missing header(s): connection, sec-websocket-key, sec-websocket-version, upgrade, origin"
        );
    }

    #[test]
    fn checks_in_odoo_order() {
        let with = |replace: &str, by: &str| {
            request(&format!(
                "{}Origin: http://x\r\n",
                GOOD.replace(replace, by)
            ))
        };
        assert_eq!(
            validate(&with("Upgrade: websocket", "Upgrade: h2c")).unwrap_err(),
            HandshakeError::InvalidUpgrade
        );
        assert_eq!(
            validate(&with("Connection: Upgrade", "Connection: close")).unwrap_err(),
            HandshakeError::InvalidConnection
        );
        let error = validate(&with("Version: 13", "Version: 8")).unwrap_err();
        assert_eq!(
            (error.status(), error,),
            (426, HandshakeError::UnsupportedVersion)
        );
        assert_eq!(
            validate(&with("dGhlIHNhbXBsZSBub25jZQ==", "not base64!")).unwrap_err(),
            HandshakeError::KeyNotBase64
        );
        assert_eq!(
            validate(&with("dGhlIHNhbXBsZSBub25jZQ==", "Zm9v")).unwrap_err(),
            HandshakeError::KeyWrongLength
        );
        let accepted = validate(&with(
            "Connection: Upgrade",
            "Connection: keep-alive, Upgrade",
        ))
        .unwrap();
        assert_eq!(accepted.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(accepted.origin, "http://x");
    }
}
