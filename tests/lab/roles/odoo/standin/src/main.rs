//! Odoo 17 stand-in for the wsdeploy lab.
//!
//! Reads `/etc/odoo/odoo.conf` (or `-c PATH`, or `$ODOO_RC`) like Odoo, then serves:
//! the threaded HTTP server on `http_port` (8069) and the evented server on `gevent_port`
//! (8072), where `/websocket` performs Odoo's handshake checks and echoes messages.
//! One thread per connection; bad input gets an error answer, never a crash.

mod base64;
mod config;
mod connection;
mod frame;
mod handshake;
mod http;
mod log;
mod sha1;
mod signal;
mod websocket;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use config::OdooConfig;
use connection::{Context, Service};
use log::Level;

const DEFAULT_CONFIG: &str = "/etc/odoo/odoo.conf";
const THREAD_STACK_BYTES: usize = 256 * 1024;

fn config_path() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-c" || arg == "--config" {
            if let Some(path) = args.next() {
                return path;
            }
        } else if let Some(path) = arg.strip_prefix("--config=") {
            return path.to_owned();
        }
    }
    std::env::var("ODOO_RC").unwrap_or_else(|_| DEFAULT_CONFIG.to_owned())
}

fn die(message: &str) -> ExitCode {
    eprintln!(
        "Traceback (most recent call last):\n  File \"/usr/bin/odoo\", line 8, in <module>\n    odoo.cli.main()\n  File \"/usr/lib/python3/dist-packages/odoo/tools/config.py\", line 470, in load\n    p.read([self.rcfile])\n{message}"
    );
    ExitCode::from(1)
}

fn bind(port: u16) -> Result<TcpListener, String> {
    TcpListener::bind(("0.0.0.0", port))
        .map_err(|error| format!("OSError: [Errno 98] cannot listen on 0.0.0.0:{port}: {error}"))
}

fn accept_loop(listener: &TcpListener, service: Service, context: &Arc<Context>) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let context = Arc::clone(context);
                let spawned = thread::Builder::new()
                    .stack_size(THREAD_STACK_BYTES)
                    .spawn(move || connection::serve(stream, peer, service, &context));
                if let Err(error) = spawned {
                    log::log(
                        Level::Warning,
                        "odoo.service.server",
                        &format!("cannot serve {peer}: {error}"),
                    );
                }
            }
            Err(error) => {
                log::log(
                    Level::Warning,
                    "odoo.service.server",
                    &format!("accept failed: {error}"),
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn main() -> ExitCode {
    signal::exit_on_terminate();
    let path = config_path();
    let config = match OdooConfig::load(&path) {
        Ok(config) => config,
        Err(error) => return die(&error.to_string()),
    };
    let (Ok(http_port), Ok(gevent_port)) = (config.http_port(), config.gevent_port()) else {
        return die("odoo: error: invalid port in the configuration");
    };
    log::info("odoo", "Odoo version 17.0 (wsdeploy lab stand-in)");
    log::info("odoo", &format!("Using configuration file at {path}"));
    log::info(
        "odoo",
        &format!(
            "proxy_mode: {}, websocket_url: {}",
            config.get("proxy_mode").unwrap_or("(not set)"),
            config.get("websocket_url").unwrap_or("(not set)")
        ),
    );
    let (http_listener, evented_listener) = match (bind(http_port), bind(gevent_port)) {
        (Ok(http), Ok(evented)) => (http, evented),
        (Err(error), _) | (_, Err(error)) => return die(&error),
    };
    let context = Arc::new(Context {
        config,
        gevent_port,
    });
    log::info(
        "odoo.service.server",
        &format!("HTTP service (werkzeug) running on 0.0.0.0:{http_port}"),
    );
    log::info(
        "odoo.service.server",
        &format!("Evented Service (longpolling) running on 0.0.0.0:{gevent_port}"),
    );
    let http_context = Arc::clone(&context);
    let http_thread = thread::Builder::new()
        .name("http".to_owned())
        .spawn(move || accept_loop(&http_listener, Service::Http, &http_context));
    if let Err(error) = http_thread {
        return die(&format!(
            "RuntimeError: cannot start the HTTP service: {error}"
        ));
    }
    accept_loop(&evented_listener, Service::Evented, &context);
    ExitCode::SUCCESS
}
