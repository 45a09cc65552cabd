//! Health checks, run from the host's point of view: WebSocket handshakes and HTTP
//! requests travel through the transport's TCP tunnel (no curl needed on the host);
//! command checks run on the host.

use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::host;
use crate::plan::{Check, Endpoint, Probe};
use crate::transport::{Stream, Transport};

/// Runs a check with its retries; `Ok(evidence)` or `Err(last failure)`.
///
/// # Errors
/// The last attempt's failure, described for a person.
pub async fn run_check(
    transport: &Transport,
    become_user: Option<&host::Become>,
    check: &Check,
) -> Result<String, String> {
    let mut last;
    // The first retries come sooner (a service that is back after 0.3 s is seen then,
    // not a whole `delay` later); the patience stays `retries` attempts and at least
    // `(retries - 1) * delay`.
    let patience = check.delay * check.retries.saturating_sub(1);
    let started = tokio::time::Instant::now();
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        match tokio::time::timeout(
            check.timeout,
            probe(transport, become_user, &check.probe, check.timeout),
        )
        .await
        {
            Ok(Ok(evidence)) => return Ok(evidence),
            Ok(Err(e)) => last = e,
            Err(_) => last = format!("no answer within {}s", check.timeout.as_secs_f64()),
        }
        if attempts >= check.retries && started.elapsed() >= patience {
            break;
        }
        tokio::time::sleep(retry_pause(check.delay, attempts)).await;
    }
    Err(format!(
        "{last} (after {attempts} attempt{})",
        if attempts == 1 { "" } else { "s" }
    ))
}

/// The pause after failed attempt `attempt` (1-based): 0.25 s, 0.5 s, 1 s… capped at `delay`.
fn retry_pause(delay: Duration, attempt: u32) -> Duration {
    let quick = Duration::from_millis(250).saturating_mul(1 << attempt.saturating_sub(1).min(16));
    quick.min(delay)
}

async fn probe(
    transport: &Transport,
    become_user: Option<&host::Become>,
    probe: &Probe,
    bound: Duration,
) -> Result<String, String> {
    match probe {
        Probe::WebSocket {
            target,
            origin,
            host_header,
            headers,
            status,
        } => {
            websocket(
                transport,
                target,
                origin.as_deref(),
                host_header.as_deref(),
                headers,
                *status,
            )
            .await
        }
        Probe::Http {
            target,
            headers,
            status,
            contains,
        } => http(transport, target, headers, *status, contains.as_deref()).await,
        Probe::Command {
            run,
            contains,
            not_contains,
            expect_exit,
        } => {
            let out = transport
                .run(&host::plan_command(run, become_user, bound))
                .await
                .map_err(|e| e.to_string())?;
            let text = out.combined();
            if !expect_exit.contains(&out.code()) {
                return Err(format!(
                    "`{run}` ended with {}: {}",
                    out.status_text(),
                    excerpt(&text)
                ));
            }
            if let Some(needle) = contains
                && !text.contains(needle.as_str())
            {
                return Err(format!(
                    "output of `{run}` does not contain `{needle}`: {}",
                    excerpt(&text)
                ));
            }
            if let Some(needle) = not_contains
                && text.contains(needle.as_str())
            {
                return Err(format!(
                    "output of `{run}` contains `{needle}`: {}",
                    excerpt(&text)
                ));
            }
            Ok(excerpt(&text))
        }
    }
}

/// `; over TLS, SNI x, certificate verified against …` for a TLS target, else nothing.
fn tls_evidence(target: &Endpoint) -> String {
    target.tls.as_ref().map_or_else(String::new, |tls| {
        format!(
            "; over TLS, SNI {}, certificate verified against {}",
            tls.server_name,
            tls.ca_file.as_deref().unwrap_or("the Mozilla root store")
        )
    })
}

/// A TCP connection to `target` as the host sees it, with TLS when the URL asks for it.
async fn connect(transport: &Transport, target: &Endpoint) -> Result<Pin<Box<dyn Stream>>, String> {
    let stream = transport
        .open_tcp(&target.host, target.port)
        .await
        .map_err(|e| {
            format!(
                "cannot reach {}:{} on the host: {e}",
                target.host, target.port
            )
        })?;
    match &target.tls {
        Some(tls) => Ok(Box::pin(
            crate::tls::connect(stream, tls)
                .await
                .map_err(|e| format!("{}: {e}", target.url))?,
        )),
        None => Ok(stream),
    }
}

async fn websocket(
    transport: &Transport,
    target: &Endpoint,
    origin: Option<&str>,
    host_header: Option<&str>,
    headers: &[(String, String)],
    expected: u16,
) -> Result<String, String> {
    let stream = connect(transport, target).await?;
    let scheme = if target.tls.is_some() { "wss" } else { "ws" };
    let url = format!("{scheme}://{}{}", target.authority(), target.path);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad WebSocket URL {url}: {e}"))?;
    let h = request.headers_mut();
    let value =
        |v: &str| HeaderValue::from_str(v).map_err(|e| format!("bad header value `{v}`: {e}"));
    if let Some(o) = origin {
        h.insert("Origin", value(o)?);
    }
    if let Some(host) = host_header {
        h.insert("Host", value(host)?);
    }
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| format!("bad header name `{k}`: {e}"))?;
        h.insert(name, value(v)?);
    }
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((mut ws, response)) => {
            let got = response.status().as_u16();
            let _ = ws.close(None).await;
            if got == expected {
                Ok(format!(
                    "{} {} (Sec-WebSocket-Accept verified{})",
                    got,
                    response.status().canonical_reason().unwrap_or(""),
                    tls_evidence(target)
                ))
            } else {
                Err(format!(
                    "WebSocket handshake to {} returned {got}, expected {expected}",
                    target.url
                ))
            }
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let got = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            if got == expected {
                Ok(format!(
                    "{got} as expected{}: {}",
                    tls_evidence(target),
                    excerpt(&body)
                ))
            } else {
                Err(format!(
                    "WebSocket handshake to {} returned {got} {}, expected {expected}: {}",
                    target.url,
                    response.status().canonical_reason().unwrap_or(""),
                    excerpt(&body)
                ))
            }
        }
        Err(e) => Err(format!("WebSocket handshake to {} failed: {e}", target.url)),
    }
}

async fn http(
    transport: &Transport,
    target: &Endpoint,
    headers: &[(String, String)],
    expected: u16,
    contains: Option<&str>,
) -> Result<String, String> {
    let mut stream = connect(transport, target).await?;
    let mut request = format!("GET {} HTTP/1.1\r\n", target.path);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {}\r\n", target.authority()));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("User-Agent: wsdeploy\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending request to {}: {e}", target.url))?;
    let mut raw = Vec::new();
    let limit = 4 * 1024 * 1024;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // A TLS peer that closes without close_notify after a whole response.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => 0,
            Err(e) => return Err(format!("reading response from {}: {e}", target.url)),
        };
        if n == 0 || raw.len() > limit {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let (status, body) = parse_http_response(&raw).ok_or_else(|| {
        format!(
            "{} answered something that is not HTTP: {}",
            target.url,
            excerpt(&String::from_utf8_lossy(&raw))
        )
    })?;
    if status != expected {
        return Err(format!(
            "GET {} returned {status}, expected {expected}: {}",
            target.url,
            excerpt(&body)
        ));
    }
    if let Some(needle) = contains
        && !body.contains(needle)
    {
        return Err(format!(
            "GET {} body does not contain `{needle}`: {}",
            target.url,
            excerpt(&body)
        ));
    }
    Ok(format!("{status}: {}", excerpt(&body)))
}

/// Splits a raw HTTP/1.x response into status and (de-chunked) body.
#[must_use]
pub fn parse_http_response(raw: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size_line, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 || rest.len() < size {
            out.push_str(rest.get(..size.min(rest.len())).unwrap_or_default());
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    let mut short: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        short.push('…');
    }
    short.replace('\n', " | ")
}

/// Default pause between retries, exposed for callers building checks.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_quick_and_settle_at_the_delay() {
        let d = Duration::from_secs(1);
        let pauses: Vec<u128> = (1..=5).map(|a| retry_pause(d, a).as_millis()).collect();
        assert_eq!(pauses, vec![250, 500, 1000, 1000, 1000]);
        assert_eq!(retry_pause(Duration::from_millis(100), 1).as_millis(), 100);
    }

    #[test]
    fn parses_plain_and_chunked_responses() {
        let (s, b) =
            parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert_eq!((s, b.as_str()), (200, "ok"));
        let (s, b) = parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n0{\"\r\n4\r\nsid\"\r\n0\r\n\r\n").unwrap();
        assert_eq!((s, b.as_str()), (200, "0{\"sid\""));
        assert!(parse_http_response(b"garbage").is_none());
    }
}
