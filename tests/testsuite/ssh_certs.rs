//! OpenSSH certificates against a real sshd: user certificates (`<key>-cert.pub` next to
//! the key, signed by a CA in sshd's `TrustedUserCAKeys`) and host certificates
//! (`HostCertificate`, trusted through an `@cert-authority` line in known_hosts). The CAs
//! are made with `ssh-keygen -s` for each test. Certificates held in ssh-agent are
//! tested in `tests/ssh_isolated.rs` (they need the agent's environment).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::sshd::{Sshd, SshdOptions, connect_error, keygen};
use wsdeploy::transport::ssh::{SshErrorKind, SshSession};

/// `ssh-keygen -s ca -I id -n principals [-h] [-V validity] key.pub` → `key-cert.pub`.
pub fn sign(ca: &Path, public_key: &Path, principals: &str, host: bool, validity: Option<&str>) {
    let mut command = Command::new("ssh-keygen");
    command
        .args(["-q", "-s"])
        .arg(ca)
        .args(["-I", "wsdeploy-test", "-n", principals]);
    if host {
        command.arg("-h");
    }
    if let Some(validity) = validity {
        command.args(["-V", validity]);
    }
    let output = command.arg(public_key).output().expect("run ssh-keygen -s");
    assert!(
        output.status.success(),
        "ssh-keygen -s failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn public(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.pub", path.display()))
}

fn public_key_text(path: &Path) -> String {
    std::fs::read_to_string(public(path)).expect("read public key")
}

struct Cas {
    dir: tempfile::TempDir,
    user_ca: PathBuf,
    host_ca: PathBuf,
}

fn cas() -> Cas {
    let dir = tempfile::tempdir().expect("tempdir");
    let user_ca = dir.path().join("user_ca");
    let host_ca = dir.path().join("host_ca");
    keygen(&user_ca, "ed25519", "");
    keygen(&host_ca, "ed25519", "");
    Cas {
        dir,
        user_ca,
        host_ca,
    }
}

/// A server trusting `user_ca` for user certificates and presenting a host certificate
/// signed by `host_ca` for `host_principals`.
fn server(cas: &Cas, host_principals: &str) -> Sshd {
    Sshd::start_with(&SshdOptions {
        extra_config: format!("TrustedUserCAKeys {}\n", public(&cas.user_ca).display()),
        host_certificate: Some((cas.host_ca.clone(), host_principals.to_owned())),
        ..SshdOptions::default()
    })
}

/// A client key that is NOT in authorized_keys, with a certificate for `principals`.
fn certified_key(cas: &Cas, sshd: &Sshd, name: &str, principals: &str) -> PathBuf {
    let key = sshd.keygen(name, "ed25519", "");
    sign(&cas.user_ca, &public(&key), principals, false, None);
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_certificate_next_to_the_key_logs_in() {
    let cas = cas();
    let sshd = server(&cas, "127.0.0.1");
    let key = certified_key(&cas, &sshd, "certified", &sshd.user);
    let mut target = sshd.target();
    target.key_files = vec![key.clone()];
    let session = SshSession::connect(&target)
        .await
        .unwrap_or_else(|error| panic!("connect failed: {error}\n{}", sshd.log()));
    assert_eq!(
        session.exec("echo ok", None).await.expect("exec").stdout,
        b"ok\n"
    );
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    assert!(sshd.log().contains("ED25519-CERT"), "{}", sshd.log());

    // Without its certificate the same key is refused: it is not in authorized_keys.
    std::fs::remove_file(format!("{}-cert.pub", key.display())).expect("remove cert");
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::Auth, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_principal_is_named_in_the_failure() {
    let cas = cas();
    let sshd = server(&cas, "127.0.0.1");
    let key = certified_key(&cas, &sshd, "other", "somebody-else");
    let mut target = sshd.target();
    target.key_files = vec![key.clone()];
    let error = connect_error(&target).await.to_string();
    assert!(
        error.contains(&format!("certificate {}-cert.pub", key.display())),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_certificate_is_trusted_through_a_cert_authority_line() {
    let cas = cas();
    let sshd = server(&cas, "127.0.0.1");
    let known_hosts = cas.dir.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "# only the CA, no key of the host itself\n@cert-authority 127.0.0.1,[127.0.0.1]:* {}",
            public_key_text(&cas.host_ca)
        ),
    )
    .expect("write known_hosts");
    let mut target = sshd.target();
    target.known_hosts = known_hosts.clone();
    let session = SshSession::connect(&target)
        .await
        .unwrap_or_else(|error| panic!("connect failed: {error}\n{}", sshd.log()));
    assert_eq!(
        session.exec("echo ok", None).await.expect("exec").stdout,
        b"ok\n"
    );
    session.close().await;

    // A CA that did not sign the host's certificate is refused, naming the file.
    let stranger = cas.dir.path().join("stranger_ca");
    keygen(&stranger, "ed25519", "");
    std::fs::write(
        &known_hosts,
        format!("@cert-authority * {}", public_key_text(&stranger)),
    )
    .expect("write known_hosts");
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::HostKeyChanged, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("not signed by a CA trusted")
            && text.contains(&known_hosts.display().to_string()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_certificate_for_another_name_is_refused() {
    let cas = cas();
    let sshd = server(&cas, "db.example.com");
    let known_hosts = cas.dir.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("@cert-authority * {}", public_key_text(&cas.host_ca)),
    )
    .expect("write known_hosts");
    let mut target = sshd.target();
    target.known_hosts = known_hosts;
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::HostKeyChanged, "{error}");
    assert!(
        error
            .to_string()
            .contains("is for db.example.com, not 127.0.0.1"),
        "{error}"
    );
}
