//! Shows how russh 0.65 ends a session channel whose remote process waits for EOF on
//! stdin (wsdeploy's run lock: `flock ... cat >/dev/null`), in two ways:
//!
//! - `eof+close`: EOF then CHANNEL_CLOSE at once (what `RemoteChild::close` does);
//! - `eof-only`: EOF, then wait for the server's exit-status and CLOSE.
//!
//! ```text
//! close-probe --key ID_ED25519 --known-hosts KNOWN_HOSTS HOST[:PORT]
//! ```
//!
//! Prints, for each way, whether the channel's reader ended within 6 s, how long it took,
//! and which messages arrived.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::ChannelMsg;
use russh::client::{self, AuthResult};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};

struct KnownHostsCheck {
    host: String,
    port: u16,
    known_hosts: PathBuf,
}

impl client::Handler for KnownHostsCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => Ok(
                russh::keys::check_known_hosts_path(&self.host, self.port, key, &self.known_hosts)?,
            ),
            PublicKeyOrCertificate::Certificate(_) => Ok(false),
        }
    }
}

fn message_name(message: &ChannelMsg) -> &'static str {
    match message {
        ChannelMsg::Data { .. } => "data",
        ChannelMsg::ExtendedData { .. } => "extended-data",
        ChannelMsg::Eof => "eof",
        ChannelMsg::Close => "close",
        ChannelMsg::ExitStatus { .. } => "exit-status",
        ChannelMsg::ExitSignal { .. } => "exit-signal",
        ChannelMsg::WindowAdjusted { .. } => "window-adjusted",
        ChannelMsg::Success => "success",
        ChannelMsg::Failure => "failure",
        _ => "other",
    }
}

async fn run(key: PathBuf, known_hosts: PathBuf, host: String, port: u16) -> Result<(), String> {
    let key = Arc::new(russh::keys::load_secret_key(&key, None).map_err(|e| format!("key: {e}"))?);
    let check = KnownHostsCheck {
        host: host.clone(),
        port,
        known_hosts,
    };
    let mut handle = client::connect(
        Arc::new(client::Config::default()),
        (host.as_str(), port),
        check,
    )
    .await
    .map_err(|e| format!("connect: {e}"))?;
    let auth = handle
        .authenticate_publickey("root", PrivateKeyWithHashAlg::new(key, None))
        .await
        .map_err(|e| format!("auth: {e}"))?;
    if !matches!(auth, AuthResult::Success) {
        return Err("public key refused".to_owned());
    }
    for mode in ["eof+close", "eof-only"] {
        let channel = handle
            .channel_open_session()
            .await
            .map_err(|e| format!("channel: {e}"))?;
        let (mut reader, writer) = channel.split();
        writer
            .exec(true, "sh -c 'echo READY; exec cat >/dev/null'")
            .await
            .map_err(|e| format!("exec: {e}"))?;
        while let Some(message) = reader.wait().await {
            if matches!(message, ChannelMsg::Data { .. }) {
                break;
            }
        }
        let started = Instant::now();
        writer.eof().await.map_err(|e| format!("eof: {e}"))?;
        if mode == "eof+close" {
            writer.close().await.map_err(|e| format!("close: {e}"))?;
        }
        let mut seen = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(6), async {
            while let Some(message) = reader.wait().await {
                seen.push(format!(
                    "{}@{}ms",
                    message_name(&message),
                    started.elapsed().as_millis()
                ));
            }
        })
        .await
        .is_ok();
        println!(
            "{mode}: reader ended: {ended}, after {} ms; messages: {}",
            started.elapsed().as_millis(),
            if seen.is_empty() {
                "none".to_owned()
            } else {
                seen.join(", ")
            }
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut key = None;
    let mut known_hosts = None;
    let mut target = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--key" => key = args.next().map(PathBuf::from),
            "--known-hosts" => known_hosts = args.next().map(PathBuf::from),
            other => target = Some(other.to_owned()),
        }
    }
    let (Some(key), Some(known_hosts), Some(target)) = (key, known_hosts, target) else {
        eprintln!("usage: close-probe --key FILE --known-hosts FILE HOST[:PORT]");
        return std::process::ExitCode::from(2);
    };
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) => match p.parse() {
            Ok(p) => (h.to_owned(), p),
            Err(_) => {
                eprintln!("bad port in {target}");
                return std::process::ExitCode::from(2);
            }
        },
        None => (target, 22),
    };
    match run(key, known_hosts, host, port).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("close-probe: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
