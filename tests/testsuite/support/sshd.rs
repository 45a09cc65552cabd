//! A throwaway OpenSSH server for integration tests.
//!
//! [`Sshd::start`] generates a host key and an authorized ed25519 client key in a
//! temporary directory, writes an `sshd_config` there and runs `/usr/sbin/sshd -D` on
//! a free port of 127.0.0.1 as the current user. Dropping the value stops the server
//! and every connection process it forked. A missing `sshd` or `ssh-keygen` is a
//! test failure with instructions, never a skip.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD_CANDIDATES: [&str; 2] = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"];
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Settings of a test server.
#[derive(Debug, Clone)]
pub struct SshdOptions {
    /// sshd's `MaxSessions`.
    pub max_sessions: u32,
    /// Extra `sshd_config` lines.
    pub extra_config: String,
    /// sshd's `MaxStartups` (`start:rate:full` or a number).
    pub max_startups: String,
    /// Sign the host key with this CA (private key file) for these principals
    /// (`ssh-keygen -s CA -h -n PRINCIPALS`) and present the certificate (`HostCertificate`).
    pub host_certificate: Option<(PathBuf, String)>,
}

impl Default for SshdOptions {
    fn default() -> Self {
        SshdOptions {
            max_sessions: 10,
            extra_config: String::new(),
            max_startups: "100".to_owned(),
            host_certificate: None,
        }
    }
}

/// A running test sshd.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The account to log in as (the current user).
    pub user: String,
    /// An unencrypted ed25519 private key listed in `authorized_keys`.
    pub client_key: PathBuf,
    /// The server's public host key file (`ssh-ed25519 AAAA... comment`).
    pub host_key_public: PathBuf,
    child: Child,
    log: PathBuf,
}

impl Sshd {
    /// A strict target for this server: the client key, the trusted known_hosts.
    pub fn target(&self) -> wsdeploy::transport::ssh::SshTarget {
        wsdeploy::transport::ssh::SshTarget {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            user: self.user.clone(),
            key_files: vec![self.client_key.clone()],
            known_hosts: self.trusted_known_hosts(),
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            max_channels: 10,
            jumps: Vec::new(),
            identities_only: false,
            password: None,
            become_password: None,
            identity_agent: wsdeploy::transport::ssh::IdentityAgent::Environment,
            host_key_alias: None,
            address_family: wsdeploy::transport::ssh::AddressFamily::Any,
        }
    }

    /// Starts a server with default options.
    pub fn start() -> Sshd {
        Sshd::start_with(&SshdOptions::default())
    }

    /// Starts a server; panics with sshd's log if it does not come up.
    pub fn start_with(options: &SshdOptions) -> Sshd {
        let sshd = sshd_binary();
        require_tool("ssh-keygen");
        prepare_privilege_separation_dir();

        let dir = tempfile::Builder::new()
            .prefix("wsdeploy-sshd-")
            .tempdir()
            .expect("create a temporary directory for sshd");
        let host_key = dir.path().join("ssh_host_ed25519_key");
        keygen(&host_key, "ed25519", "");
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key, "ed25519", "");
        fs::write(dir.path().join("authorized_keys"), "").expect("create authorized_keys");

        let user = current_user();
        let mut options = options.clone();
        if let Some((ca, principals)) = &options.host_certificate {
            let output = Command::new("ssh-keygen")
                .args(["-q", "-s"])
                .arg(ca)
                .args(["-I", "wsdeploy-test-host", "-h", "-n", principals])
                .arg(host_key.with_extension("pub"))
                .output()
                .expect("run ssh-keygen -s");
            assert!(
                output.status.success(),
                "ssh-keygen -s (host certificate) failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let certificate = dir.path().join("ssh_host_ed25519_key-cert.pub");
            options
                .extra_config
                .push_str(&format!("\nHostCertificate {}\n", certificate.display()));
        }
        let config = dir.path().join("sshd_config");
        fs::write(&config, config_text(dir.path(), &host_key, &options))
            .expect("write sshd_config");
        for _ in 0..5 {
            let port = free_port();
            let log = dir.path().join(format!("sshd-{port}.log"));
            let mut child = Command::new(&sshd)
                .arg("-D")
                .arg("-f")
                .arg(&config)
                .arg("-p")
                .arg(port.to_string())
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|error| panic!("cannot run {}: {error}", sshd.display()));
            match wait_until_listening(&mut child, &log, port) {
                Ok(()) => {
                    let server = Sshd {
                        host_key_public: host_key.with_extension("pub"),
                        dir,
                        port,
                        user,
                        client_key,
                        child,
                        log,
                    };
                    server.authorize(&server.client_key);
                    return server;
                }
                Err(log_text) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Another process may have taken the port since it was picked.
                    assert!(
                        log_text.contains("Address already in use"),
                        "sshd did not start:\n{log_text}"
                    );
                }
            }
        }
        panic!("sshd did not start: no free port after 5 attempts");
    }

    /// Appends the public half of `private_key` to `authorized_keys`.
    pub fn authorize(&self, private_key: &Path) {
        let public = fs::read_to_string(format!("{}.pub", private_key.display()))
            .expect("read the public key next to the private key");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))
            .expect("open authorized_keys");
        writeln!(file, "{}", public.trim_end()).expect("append to authorized_keys");
    }

    /// Generates a key pair named `name` in the server's directory (not authorized).
    pub fn keygen(&self, name: &str, key_type: &str, passphrase: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        keygen(&path, key_type, passphrase);
        path
    }

    /// `ssh-ed25519 AAAA...` of the host key, without comment.
    pub fn host_key_line(&self) -> String {
        let text = fs::read_to_string(&self.host_key_public).expect("read host public key");
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The host key's fingerprint as `ssh-keygen -l` prints it (`SHA256:...`).
    pub fn host_key_fingerprint(&self) -> String {
        fingerprint(&self.host_key_public)
    }

    /// A `known_hosts` line for this server: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_key_line())
    }

    /// Writes a `known_hosts` file trusting this server and returns its path.
    pub fn trusted_known_hosts(&self) -> PathBuf {
        let path = self.dir.path().join("known_hosts");
        fs::write(&path, format!("{}\n", self.known_hosts_line())).expect("write known_hosts");
        path
    }

    /// Process ids of the sshd processes serving connections (not the listener).
    pub fn connection_pids(&self) -> Vec<u32> {
        descendants(self.child.id())
            .into_iter()
            .filter(|&pid| process_name(pid).as_deref() == Some("sshd"))
            .collect()
    }

    /// Kills (SIGKILL) every sshd process serving a connection, as a network cut
    /// would end them; the commands they started are left to notice on their own.
    pub fn kill_connections(&self) {
        for pid in self.connection_pids() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let connections = self.connection_pids();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in connections {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn wait_until_listening(child: &mut Child, log: &Path, port: u16) -> Result<(), String> {
    let started = Instant::now();
    let ready = format!("Server listening on 127.0.0.1 port {port}");
    let read_log = || fs::read_to_string(log).unwrap_or_default();
    while started.elapsed() < START_TIMEOUT {
        if read_log().contains(&ready) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("sshd exited with {status}:\n{}", read_log()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "sshd not listening after {START_TIMEOUT:?}:\n{}",
        read_log()
    ))
}

fn config_text(dir: &Path, host_key: &Path, options: &SshdOptions) -> String {
    format!(
        "ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {authorized}\n\
         StrictModes no\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PermitRootLogin prohibit-password\n\
         UsePAM no\n\
         AllowTcpForwarding yes\n\
         MaxSessions {max_sessions}\n\
         MaxStartups {max_startups}\n\
         LogLevel VERBOSE\n\
         {extra}\n",
        host_key = host_key.display(),
        pid = dir.join("sshd.pid").display(),
        authorized = dir.join("authorized_keys").display(),
        max_sessions = options.max_sessions,
        max_startups = options.max_startups,
        extra = options.extra_config,
    )
}

/// Runs `ssh-keygen` to create a key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path, key_type: &str, passphrase: &str) {
    let mut command = Command::new("ssh-keygen");
    command
        .args([
            "-q",
            "-t",
            key_type,
            "-N",
            passphrase,
            "-C",
            "wsdeploy-test",
            "-f",
        ])
        .arg(path);
    if key_type == "rsa" {
        command.args(["-b", "3072"]);
    }
    let output = command.output().expect("run ssh-keygen");
    assert!(
        output.status.success(),
        "ssh-keygen -t {key_type} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `SHA256:...` of a public key file, from `ssh-keygen -l`.
pub fn fingerprint(public_key: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(public_key)
        .output()
        .expect("run ssh-keygen -l");
    assert!(output.status.success(), "ssh-keygen -l failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint field in ssh-keygen -l output")
        .to_owned()
}

/// Whether a process exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn sshd_binary() -> PathBuf {
    SSHD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "these tests need OpenSSH's sshd ({} not found): install it (Debian/Ubuntu: apt-get install openssh-server)",
                SSHD_CANDIDATES.join(" or ")
            )
        })
}

fn require_tool(name: &str) {
    let found = Command::new(name)
        .arg("-?")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "these tests need `{name}` on PATH: install it (Debian/Ubuntu: apt-get install openssh-client)"
    );
}

/// sshd running as root insists on its privilege separation directory.
fn prepare_privilege_separation_dir() {
    if current_uid() == Some(0) {
        let _ = fs::create_dir_all("/run/sshd");
    }
}

fn current_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
}

fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port on 127.0.0.1")
}

/// Parent pid and name of a process, from `/proc/<pid>/stat`.
fn stat_of(pid: u32) -> Option<(u32, String)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let parent = stat
        .get(close + 1..)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((parent, name))
}

fn process_name(pid: u32) -> Option<String> {
    stat_of(pid).map(|(_, name)| name)
}

fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat_of(pid).map(|(parent, _)| (pid, parent)))
        .collect();
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let current = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, parent)| *parent == current)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}

/// Connects to `target`, which must fail, and returns the error.
pub async fn connect_error(
    target: &wsdeploy::transport::ssh::SshTarget,
) -> wsdeploy::transport::ssh::SshError {
    match wsdeploy::transport::ssh::SshSession::connect(target).await {
        Ok(_) => panic!(
            "connecting to {}:{} should have failed",
            target.host, target.port
        ),
        Err(error) => error,
    }
}
