//! One client connection: read the request, route it, answer, and for an accepted
//! websocket handshake on the evented port, run the session.

use std::io::{BufReader, Cursor, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::config::OdooConfig;
use crate::handshake::{self, HandshakeError};
use crate::http::{self, ReadError, Request};
use crate::log::{self, Level};
use crate::websocket::{SessionEnd, run_session};

/// Time allowed for a request head to arrive.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A websocket with no traffic for this long is dropped.
const SESSION_IDLE_TIMEOUT: Duration = Duration::from_mins(10);

/// Which Odoo server a listener plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The threaded HTTP server (`http_port`, 8069): websockets cannot be bound here.
    Http,
    /// The gevent server (`gevent_port`, 8072): serves `/websocket`.
    Evented,
}

/// Everything a connection handler needs.
pub struct Context {
    pub config: OdooConfig,
    pub gevent_port: u16,
}

/// Serves one connection to completion; never panics on peer input.
pub fn serve(mut stream: TcpStream, peer: SocketAddr, service: Service, context: &Arc<Context>) {
    let _ = stream.set_read_timeout(Some(HEAD_TIMEOUT));
    let _ = stream.set_write_timeout(Some(HEAD_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let (request, leftover) = match http::read_request(&mut stream) {
        Ok(parsed) => parsed,
        Err(ReadError::Closed) => return,
        Err(ReadError::Malformed(reason)) => {
            let body = http::error_page(
                400,
                "Bad Request",
                &format!("Bad request syntax ({reason})"),
            );
            let _ = http::write_response(
                &mut stream,
                400,
                &[("Content-Type", "text/html; charset=utf-8".to_owned())],
                &body,
            );
            log::log(
                Level::Warning,
                "werkzeug",
                &format!(
                    "{} - - code 400, message Bad request syntax ({reason})",
                    peer.ip()
                ),
            );
            return;
        }
    };
    let status = route(&mut stream, &request, leftover, peer, service, context);
    log::info(
        "werkzeug",
        &format!(
            "{} - - [{}] \"{} {} {}\" {status} -",
            client_address(&request, peer, &context.config),
            log::access_timestamp(),
            request.method,
            request.target,
            request.version
        ),
    );
}

/// With `proxy_mode`, Odoo trusts the first `X-Forwarded-For` address.
fn client_address(request: &Request, peer: SocketAddr, config: &OdooConfig) -> String {
    if config.proxy_mode()
        && let Some(forwarded) = request
            .header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
    {
        return forwarded.trim().to_owned();
    }
    peer.ip().to_string()
}

fn route(
    stream: &mut TcpStream,
    request: &Request,
    leftover: Vec<u8>,
    peer: SocketAddr,
    service: Service,
    context: &Arc<Context>,
) -> u16 {
    let html = || ("Content-Type", "text/html; charset=utf-8".to_owned());
    let (status, headers, body) = match (request.method.as_str(), request.path()) {
        (_, "/websocket") => return websocket(stream, request, leftover, service, context),
        ("GET" | "HEAD", "/web/health") => (
            200,
            vec![("Content-Type", "application/json".to_owned())],
            b"{\"status\": \"pass\"}".to_vec(),
        ),
        // One database, so the login page is served (no database selector).
        ("GET" | "HEAD", "/web/login") => (
            200,
            vec![html()],
            b"<!DOCTYPE html>\n<html><head><title>Odoo</title></head><body><form class=\"oe_login_form\"></form></body></html>\n".to_vec(),
        ),
        ("GET" | "HEAD", "/") => (
            200,
            vec![html()],
            home_page(request, peer, service, context).into_bytes(),
        ),
        ("GET" | "HEAD" | "POST", _) => (
            404,
            vec![html()],
            http::error_page(
                404,
                "Not Found",
                "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
            ),
        ),
        _ => (
            405,
            vec![html(), ("Allow", "GET, HEAD, POST".to_owned())],
            http::error_page(
                405,
                "Method Not Allowed",
                "The method is not allowed for the requested URL.",
            ),
        ),
    };
    let body = if request.method == "HEAD" {
        Vec::new()
    } else {
        body
    };
    let _ = http::write_response(stream, status, &headers, &body);
    status
}

fn home_page(
    request: &Request,
    peer: SocketAddr,
    service: Service,
    context: &Arc<Context>,
) -> String {
    let config = &context.config;
    let shown = |value: Option<&str>| http::escape_html(value.unwrap_or("(not set)"));
    format!(
        "<!DOCTYPE html>\n<html><head><title>Odoo</title></head><body>\n<h1>Odoo 17.0 (wsdeploy lab stand-in)</h1>\n<ul>\n\
<li>service: {}</li>\n<li>websocket_url: {}</li>\n<li>proxy_mode: {} ({})</li>\n<li>gevent_port: {}</li>\n\
<li>host: {}</li>\n<li>remote_addr: {}</li>\n<li>x-forwarded-host: {}</li>\n<li>x-forwarded-proto: {}</li>\n\
<li>config: {}</li>\n</ul>\n</body></html>\n",
        if service == Service::Evented {
            "evented (gevent)"
        } else {
            "http (threaded)"
        },
        shown(config.get("websocket_url")),
        shown(config.get("proxy_mode")),
        if config.proxy_mode() {
            "enabled"
        } else {
            "disabled"
        },
        context.gevent_port,
        shown(request.header("host")),
        http::escape_html(&client_address(request, peer, config)),
        shown(request.header("x-forwarded-host")),
        shown(request.header("x-forwarded-proto")),
        http::escape_html(&config.path),
    )
}

fn refuse(stream: &mut TcpStream, error: &HandshakeError) -> u16 {
    let status = error.status();
    let mut headers = vec![("Content-Type", "text/html; charset=utf-8".to_owned())];
    if status == 426 {
        headers.push(("Sec-WebSocket-Version", "13".to_owned()));
    }
    let title = http::reason(status);
    let _ = http::write_response(
        stream,
        status,
        &headers,
        &http::error_page(status, title, &error.message()),
    );
    status
}

fn websocket(
    stream: &mut TcpStream,
    request: &Request,
    leftover: Vec<u8>,
    service: Service,
    context: &Arc<Context>,
) -> u16 {
    let accepted = match handshake::validate(request) {
        Ok(accepted) => accepted,
        Err(error) => return refuse(stream, &error),
    };
    if service == Service::Http {
        log::log(
            Level::Error,
            "odoo.http",
            &format!(
                "Exception during request handling.\nRuntimeError: Couldn't bind the websocket. Is the connection opened on the evented port ({})?",
                context.gevent_port
            ),
        );
        let body = http::error_page(
            500,
            "Internal Server Error",
            "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
        );
        let _ = http::write_response(
            stream,
            500,
            &[("Content-Type", "text/html; charset=utf-8".to_owned())],
            &body,
        );
        return 500;
    }
    let headers = [
        ("Upgrade", "websocket".to_owned()),
        ("Connection", "Upgrade".to_owned()),
        ("Sec-WebSocket-Accept", accepted.accept),
    ];
    if http::write_response(stream, 101, &headers, &[]).is_err() {
        return 101;
    }
    log::info(
        "odoo.addons.bus.websocket",
        &format!("websocket connection from {}", accepted.origin),
    );
    let _ = stream.set_read_timeout(Some(SESSION_IDLE_TIMEOUT));
    let Ok(mut writer) = stream.try_clone() else {
        return 101;
    };
    let mut reader = BufReader::new(Cursor::new(leftover).chain(&mut *stream));
    let (end, echoed) = run_session(&mut reader, &mut writer);
    let _ = writer.flush();
    let description = match end {
        SessionEnd::ClosedByPeer(code) => format!("closed by the client with code {code}"),
        SessionEnd::ProtocolError(code) => format!("closed with code {code} (protocol error)"),
        SessionEnd::Disconnected => "disconnected".to_owned(),
    };
    log::info(
        "odoo.addons.bus.websocket",
        &format!(
            "websocket from {} {description} after {echoed} message(s)",
            accepted.origin
        ),
    );
    101
}
