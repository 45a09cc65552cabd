//! SSH authentication cases that depend on the process environment (ssh-agent socket,
//! `WSDEPLOY_KEY_PASSPHRASE`, `HOME`). Each scenario runs in a child copy of this binary
//! with exactly the environment it needs, so parallel tests never see each other's
//! variables. A plain harness: it prints one line per scenario and `N passed, N failed`.

#[path = "testsuite/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::sshd::{Sshd, connect_error, keygen};
use wsdeploy::transport::ssh::{SshErrorKind, SshSession, SshTarget};

const SCENARIO: &str = "WSDEPLOY_TEST_SCENARIO";

fn target(sshd: &Sshd) -> SshTarget {
    sshd.target()
}

async fn isolated_wrong_key_gives_one_actionable_line() {
    let sshd = Sshd::start();
    let stranger = sshd.keygen("stranger", "ed25519", "");
    let missing = sshd.dir.path().join("no_such_key");
    let mut target = target(&sshd);
    target.key_files = vec![stranger.clone(), missing.clone()];
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::Auth);
    assert_eq!(
        error.to_string(),
        format!(
            "authentication failed for {}@127.0.0.1:{} (tried: key {}, key {} (file not found)): check ansible_user / ansible_ssh_private_key_file",
            sshd.user,
            sshd.port,
            stranger.display(),
            missing.display()
        )
    );
}

async fn isolated_encrypted_key_is_decrypted_with_the_passphrase_from_the_environment() {
    let sshd = Sshd::start();
    let encrypted = sshd.keygen("encrypted", "ed25519", "correct horse battery");
    sshd.authorize(&encrypted);
    let mut target = target(&sshd);
    target.key_files = vec![encrypted];
    let session = SshSession::connect(&target).await.unwrap();
    assert_eq!(session.exec("echo ok", None).await.unwrap().stdout, b"ok\n");

    let other = sshd.keygen("other_passphrase", "ed25519", "something else");
    sshd.authorize(&other);
    target.key_files = vec![other.clone()];
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::Auth);
    assert_eq!(
        error.to_string(),
        format!(
            "authentication failed for {}@127.0.0.1:{} (tried: key {} (encrypted, and the passphrase in WSDEPLOY_KEY_PASSPHRASE does not decrypt it)): check ansible_user / ansible_ssh_private_key_file",
            sshd.user,
            sshd.port,
            other.display()
        )
    );
}

async fn isolated_ssh_agent_is_used_when_no_key_file_is_configured() {
    let sshd = Sshd::start();
    let mut target = target(&sshd);
    target.key_files = Vec::new();

    // The agent's key is not authorized yet: agent, then the (empty) ~/.ssh.
    let error = connect_error(&target).await;
    let home = std::env::var("HOME").unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "authentication failed for {}@127.0.0.1:{} (tried: ssh-agent, no key in {home}/.ssh (id_ed25519, id_ecdsa, id_rsa)): check ansible_user / ansible_ssh_private_key_file",
            sshd.user, sshd.port
        )
    );

    sshd.authorize(Path::new(
        &std::env::var("WSDEPLOY_TEST_AGENT_KEY").unwrap(),
    ));
    let session = SshSession::connect(&target).await.unwrap();
    assert_eq!(session.exec("echo ok", None).await.unwrap().stdout, b"ok\n");
}

/// The agent holds a key that no authorized_keys lists and its certificate, signed by a
/// CA that sshd trusts (`TrustedUserCAKeys`): the certificate logs in.
async fn isolated_a_certificate_held_in_the_agent_logs_in() {
    let ca_public = std::env::var("WSDEPLOY_TEST_USER_CA").unwrap();
    let sshd = Sshd::start_with(&support::sshd::SshdOptions {
        extra_config: format!("TrustedUserCAKeys {ca_public}\n"),
        ..support::sshd::SshdOptions::default()
    });
    let mut target = target(&sshd);
    target.key_files = Vec::new();
    let session = SshSession::connect(&target)
        .await
        .unwrap_or_else(|error| panic!("connect failed: {error}\n{}", sshd.log()));
    assert_eq!(session.exec("echo ok", None).await.unwrap().stdout, b"ok\n");
    assert!(sshd.log().contains("ED25519-CERT"), "{}", sshd.log());
}

/// Runs a scenario in a child process with the given environment; true when it passed.
fn run_child(name: &str, set: &[(&str, &str)], remove: &[&str]) -> bool {
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command.env(SCENARIO, name);
    for key in remove {
        command.env_remove(key);
    }
    for (key, value) in set {
        command.env(key, value);
    }
    let output = command.output().expect("child runs");
    if !output.status.success() {
        eprintln!(
            "---- {name}\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output.status.success()
}

/// Starts `ssh-agent -D -a SOCKET`, waiting for its socket.
fn start_agent(socket: &Path) -> std::process::Child {
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("these tests need ssh-agent (Debian/Ubuntu: apt-get install openssh-client)");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    agent
}

fn agent_certificate_scenario() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("agent.sock");
    let mut agent = start_agent(&socket);
    let ca = dir.path().join("user_ca");
    keygen(&ca, "ed25519", "");
    let key = dir.path().join("certified_key");
    keygen(&key, "ed25519", "");
    let signed = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(&ca)
        .args(["-I", "agent-cert", "-n"])
        .arg(
            String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id").stdout)
                .trim(),
        )
        .arg(format!("{}.pub", key.display()))
        .output()
        .expect("ssh-keygen -s runs");
    assert!(
        signed.status.success(),
        "ssh-keygen -s: {}",
        String::from_utf8_lossy(&signed.stderr)
    );
    // ssh-add loads `certified_key-cert.pub` along with the key.
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .expect("ssh-add runs");
    assert!(
        added.status.success()
            && String::from_utf8_lossy(&added.stderr).contains("Certificate added"),
        "ssh-add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let passed = run_child(
        "isolated_a_certificate_held_in_the_agent_logs_in",
        &[
            ("SSH_AUTH_SOCK", &socket.display().to_string()),
            ("WSDEPLOY_TEST_USER_CA", &format!("{}.pub", ca.display())),
            ("HOME", &home.display().to_string()),
        ],
        &[],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    passed
}

fn agent_scenario() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("these tests need ssh-agent (Debian/Ubuntu: apt-get install openssh-client)");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let key = dir.path().join("agent_key");
    keygen(&key, "ed25519", "");
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .expect("ssh-add runs");
    assert!(
        added.status.success(),
        "ssh-add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let passed = run_child(
        "isolated_ssh_agent_is_used_when_no_key_file_is_configured",
        &[
            ("SSH_AUTH_SOCK", &socket.display().to_string()),
            ("WSDEPLOY_TEST_AGENT_KEY", &key.display().to_string()),
            ("HOME", &home.display().to_string()),
        ],
        &[],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    passed
}

fn main() {
    if let Ok(name) = std::env::var(SCENARIO) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        match name.as_str() {
            "isolated_wrong_key_gives_one_actionable_line" => {
                runtime.block_on(isolated_wrong_key_gives_one_actionable_line())
            }
            "isolated_encrypted_key_is_decrypted_with_the_passphrase_from_the_environment" => {
                runtime.block_on(
                    isolated_encrypted_key_is_decrypted_with_the_passphrase_from_the_environment(),
                );
            }
            "isolated_ssh_agent_is_used_when_no_key_file_is_configured" => {
                runtime.block_on(isolated_ssh_agent_is_used_when_no_key_file_is_configured());
            }
            "isolated_a_certificate_held_in_the_agent_logs_in" => {
                runtime.block_on(isolated_a_certificate_held_in_the_agent_logs_in());
            }
            other => panic!("unknown scenario {other}"),
        }
        return;
    }
    let results = [
        (
            "wrong_key_gives_one_actionable_line",
            run_child(
                "isolated_wrong_key_gives_one_actionable_line",
                &[],
                &["SSH_AUTH_SOCK"],
            ),
        ),
        (
            "encrypted_key_is_decrypted_with_the_passphrase_from_the_environment",
            run_child(
                "isolated_encrypted_key_is_decrypted_with_the_passphrase_from_the_environment",
                &[("WSDEPLOY_KEY_PASSPHRASE", "correct horse battery")],
                &["SSH_AUTH_SOCK"],
            ),
        ),
        (
            "ssh_agent_is_used_when_no_key_file_is_configured",
            agent_scenario(),
        ),
        (
            "a_certificate_held_in_the_agent_logs_in",
            agent_certificate_scenario(),
        ),
    ];
    let mut failed = 0;
    for (name, ok) in &results {
        println!("test {name} ... {}", if *ok { "ok" } else { "FAILED" });
        if !ok {
            failed += 1;
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
