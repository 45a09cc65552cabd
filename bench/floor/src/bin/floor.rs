//! The SSH floor: the least work any SSH-based tool must do to learn a host's state.
//!
//! For every host at once: one TCP connect, one SSH handshake (host key checked against
//! `known_hosts`), one public-key authentication, one `exec` of `cat FILE...`, read to the
//! end. Nothing else. A converged-state check by a deployment tool cannot be cheaper than
//! this, so the benchmark reports every tool's time as a multiple of it.
//!
//! ```text
//! floor --key ID_ED25519 --known-hosts KNOWN_HOSTS [--user root] \
//!       [--file PATH]... [--command CMD [--stdin FILE]] HOST[:PORT]...
//! ```
//!
//! `--command` replaces `cat FILE...` by any command (with `--stdin`, that file's bytes
//! are its input): this decomposes a tool's time into "one exec of its script" and the rest.
//!
//! Prints one line per host (`host bytes elapsed_ms`) on stderr and a final summary line
//! `floor hosts=N ok=N bytes=N wall_ms=N` on stdout. Exit 1 if any host failed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::ChannelMsg;
use russh::client::{self, AuthResult, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};

const DEFAULT_FILES: [&str; 3] = [
    "/etc/nginx/nginx.conf",
    "/etc/nginx/sites-available/odoo.conf",
    "/etc/opticserp/odoo.conf",
];

struct Options {
    key: PathBuf,
    known_hosts: PathBuf,
    user: String,
    files: Vec<String>,
    command: Option<String>,
    stdin: Option<Vec<u8>>,
    hosts: Vec<(String, u16)>,
    timeout: Duration,
}

fn usage() -> String {
    "usage: floor --key FILE --known-hosts FILE [--user NAME] [--file PATH]... [--command CMD [--stdin FILE]] [--timeout SECS] HOST[:PORT]...".to_owned()
}

fn parse_args() -> Result<Options, String> {
    let mut key = None;
    let mut known_hosts = None;
    let mut user = "root".to_owned();
    let mut files = Vec::new();
    let mut command = None;
    let mut stdin = None;
    let mut hosts = Vec::new();
    let mut timeout = Duration::from_secs(30);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            "--key" => key = Some(PathBuf::from(value("--key")?)),
            "--known-hosts" => known_hosts = Some(PathBuf::from(value("--known-hosts")?)),
            "--user" => user = value("--user")?,
            "--file" => files.push(value("--file")?),
            "--command" => command = Some(value("--command")?),
            "--stdin" => {
                let path = value("--stdin")?;
                stdin = Some(std::fs::read(&path).map_err(|e| format!("--stdin {path}: {e}"))?);
            }
            "--timeout" => {
                let secs: u64 = value("--timeout")?
                    .parse()
                    .map_err(|_| format!("--timeout: whole seconds expected\n{}", usage()))?;
                timeout = Duration::from_secs(secs);
            }
            "-h" | "--help" => return Err(usage()),
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}\n{}", usage()));
            }
            host => hosts.push(parse_host(host)?),
        }
    }
    if files.is_empty() {
        files = DEFAULT_FILES.iter().map(|f| (*f).to_owned()).collect();
    }
    if hosts.is_empty() {
        return Err(format!("no host given\n{}", usage()));
    }
    Ok(Options {
        key: key.ok_or_else(|| format!("--key is required\n{}", usage()))?,
        known_hosts: known_hosts
            .ok_or_else(|| format!("--known-hosts is required\n{}", usage()))?,
        user,
        files,
        command,
        stdin,
        hosts,
        timeout,
    })
}

fn parse_host(text: &str) -> Result<(String, u16), String> {
    match text.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse()
                .map_err(|_| format!("bad port in {text}: expected HOST:PORT"))?;
            Ok((host.to_owned(), port))
        }
        None => Ok((text.to_owned(), 22)),
    }
}

/// Accepts the server only if `known_hosts` vouches for its key (`[host]:port` form for
/// ports other than 22, as OpenSSH writes it).
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

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

async fn one_host(
    host: String,
    port: u16,
    options: Arc<Options>,
    key: Arc<PrivateKey>,
) -> Result<usize, String> {
    let config = Arc::new(client::Config {
        nodelay: true,
        ..client::Config::default()
    });
    let check = KnownHostsCheck {
        host: host.clone(),
        port,
        known_hosts: options.known_hosts.clone(),
    };
    let mut handle: Handle<KnownHostsCheck> = client::connect(config, (host.as_str(), port), check)
        .await
        .map_err(|e| format!("connect/handshake: {e}"))?;
    let auth = handle
        .authenticate_publickey(options.user.clone(), PrivateKeyWithHashAlg::new(key, None))
        .await
        .map_err(|e| format!("authentication: {e}"))?;
    if !matches!(auth, AuthResult::Success) {
        return Err("public key refused".to_owned());
    }
    let mut channel = handle
        .channel_open_session()
        .await
        .map_err(|e| format!("channel: {e}"))?;
    let command = options.command.clone().unwrap_or_else(|| {
        std::iter::once("cat".to_owned())
            .chain(options.files.iter().map(|f| quote(f)))
            .collect::<Vec<_>>()
            .join(" ")
    });
    channel
        .exec(true, command)
        .await
        .map_err(|e| format!("exec: {e}"))?;
    if let Some(input) = &options.stdin {
        channel
            .data(&input[..])
            .await
            .map_err(|e| format!("stdin: {e}"))?;
        channel.eof().await.map_err(|e| format!("eof: {e}"))?;
    }
    let mut bytes = 0;
    let mut status = None;
    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::Data { data } => bytes += data.len(),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    let _ = handle
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    match status {
        Some(0) => Ok(bytes),
        other => Err(format!("cat exited with {other:?}")),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = match parse_args() {
        Ok(o) => Arc::new(o),
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let key = match russh::keys::load_secret_key(&options.key, None) {
        Ok(k) => Arc::new(k),
        Err(e) => {
            eprintln!("cannot load key {}: {e}", options.key.display());
            return std::process::ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let tasks: Vec<_> = options
        .hosts
        .iter()
        .map(|(host, port)| {
            let (host, port) = (host.clone(), *port);
            let options = Arc::clone(&options);
            let key = Arc::clone(&key);
            let timeout = options.timeout;
            tokio::spawn(async move {
                let t0 = Instant::now();
                let result =
                    tokio::time::timeout(timeout, one_host(host.clone(), port, options, key))
                        .await
                        .unwrap_or_else(|_| Err("timed out".to_owned()));
                (host, port, result, t0.elapsed())
            })
        })
        .collect();
    let mut ok = 0;
    let mut total_bytes = 0;
    for task in tasks {
        match task.await {
            Ok((host, port, Ok(bytes), elapsed)) => {
                ok += 1;
                total_bytes += bytes;
                eprintln!("{host}:{port} {bytes} {}", elapsed.as_millis());
            }
            Ok((host, port, Err(e), _)) => eprintln!("{host}:{port} FAILED: {e}"),
            Err(e) => eprintln!("task failed: {e}"),
        }
    }
    let wall = started.elapsed();
    println!(
        "floor hosts={} ok={ok} bytes={total_bytes} wall_ms={}",
        options.hosts.len(),
        wall.as_millis()
    );
    if ok == options.hosts.len() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
