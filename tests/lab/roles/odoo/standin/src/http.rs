//! Just enough HTTP/1.x: read one request head (bounded), parse it, write one response.
//! Every connection serves one request and is then closed (or upgraded to a websocket).

use std::fmt::Write as _;
use std::io::{self, Read, Write};

/// Largest request head accepted (request line + headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A parsed request head. Header names are lowercase; repeated headers are joined by ", ".
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    headers: Vec<(String, String)>,
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed, timed out or the socket failed before a full head arrived.
    Closed,
    /// Bytes arrived but they are not an HTTP request head (or it is too large).
    Malformed(&'static str),
}

impl Request {
    /// The value of header `name` (lowercase), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }

    /// Parses a head (everything before the blank line).
    pub fn parse(head: &[u8]) -> Result<Request, ReadError> {
        let text = std::str::from_utf8(head)
            .map_err(|_| ReadError::Malformed("request head is not UTF-8"))?;
        let mut lines = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line));
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ReadError::Malformed("bad request line"));
        };
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ReadError::Malformed("bad request method"));
        }
        if !target.starts_with('/') && target != "*" {
            return Err(ReadError::Malformed("bad request target"));
        }
        if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
            return Err(ReadError::Malformed("unsupported HTTP version"));
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(ReadError::Malformed("header line without ':'"));
            };
            if name.is_empty() || name.starts_with([' ', '\t']) || name.contains([' ', '\t']) {
                return Err(ReadError::Malformed("bad header name"));
            }
            let name = name.to_ascii_lowercase();
            let value = value.trim();
            if let Some((_, existing)) = headers.iter_mut().find(|(n, _)| *n == name) {
                existing.push_str(", ");
                existing.push_str(value);
            } else {
                headers.push((name, value.to_owned()));
            }
        }
        Ok(Request {
            method: method.to_owned(),
            target: target.to_owned(),
            version: version.to_owned(),
            headers,
        })
    }
}

/// Reads one request head from `stream`; returns it with any bytes that followed it.
pub fn read_request(stream: &mut impl Read) -> Result<(Request, Vec<u8>), ReadError> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).map_err(|_| ReadError::Closed)?;
        if read == 0 {
            return Err(ReadError::Closed);
        }
        let search_from = buffer.len().saturating_sub(3);
        buffer.extend_from_slice(&chunk[..read]);
        if let Some((head_end, body_start)) = find_head_end(&buffer, search_from) {
            let request = Request::parse(&buffer[..head_end])?;
            return Ok((request, buffer[body_start..].to_vec()));
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(ReadError::Malformed("request head too large"));
        }
    }
}

/// End of the head (`\r\n\r\n` or `\n\n`) at or after `from`: (head length, body start).
fn find_head_end(buffer: &[u8], from: usize) -> Option<(usize, usize)> {
    (from..buffer.len()).find_map(|i| {
        if buffer[i..].starts_with(b"\r\n\r\n") {
            Some((i, i + 4))
        } else if buffer[i..].starts_with(b"\n\n") {
            Some((i, i + 2))
        } else {
            None
        }
    })
}

/// The reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Writes a complete response and flushes it (`Connection: close` unless it is a 101).
pub fn write_response(
    stream: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nServer: Werkzeug/2.0.2 Python/3.11.2\r\n",
        reason(status)
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if status != 101 {
        let _ = write!(
            head,
            "Content-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Werkzeug's HTML error page.
pub fn error_page(status: u16, title: &str, description: &str) -> Vec<u8> {
    format!(
        "<!doctype html>\n<html lang=en>\n<title>{status} {title}</title>\n<h1>{title}</h1>\n<p>{}</p>\n",
        escape_html(description)
    )
    .into_bytes()
}

/// Escapes text for HTML.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::{ReadError, Request, read_request};

    #[test]
    fn parses_a_request_and_keeps_trailing_bytes() {
        let raw = b"GET /websocket?version=17.0-3 HTTP/1.1\r\nHost: x\r\nUPGRADE:  websocket \r\nX-A: 1\r\nx-a: 2\r\n\r\n\x81\x80";
        let (request, rest) = read_request(&mut &raw[..]).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path(), "/websocket");
        assert_eq!(request.header("upgrade"), Some("websocket"));
        assert_eq!(request.header("x-a"), Some("1, 2"));
        assert_eq!(rest, b"\x81\x80");
    }

    #[test]
    fn rejects_garbage() {
        for raw in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n"[..],
            b"GET\n\n",
            b"get / HTTP/1.1\n\n",
            b"GET / HTTP/2\n\n",
            b"GET / HTTP/1.1\nno colon\n\n",
        ] {
            assert!(
                matches!(read_request(&mut &raw[..]), Err(ReadError::Malformed(_))),
                "{raw:?}"
            );
        }
        assert!(matches!(
            read_request(&mut &b"GET / HTTP/1.1\r\n"[..]),
            Err(ReadError::Closed)
        ));
        let huge = vec![b'a'; 70_000];
        assert!(matches!(
            read_request(&mut &huge[..]),
            Err(ReadError::Malformed(_))
        ));
        assert!(Request::parse(b"GET / HTTP/1.1").is_ok());
    }
}
