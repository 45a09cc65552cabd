//! `-k` and `-K` ask on the terminal (a real pseudo-terminal made by util-linux
//! `script`), without echo, once per run; the answer is used (offered as password
//! authentication to a real sshd; the become password reaching the become settings) and
//! never printed. A password that logs in is tested in `tests/lab_bastion.rs` (the lab
//! host's sshd accepts passwords for a user the test creates).

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::project::Project;
use support::reliability::local_host_guard;
use support::sshd::Sshd;

const TYPED: &str = "typed-s3cret-never-shown";

/// Runs `wsdeploy ARGS` inside `script` (a pty), typing `input`; returns (code, transcript).
fn on_a_terminal(project: &Project, args: &[&str], input: &str) -> (i32, String) {
    let binary = assert_cmd::cargo::cargo_bin("wsdeploy");
    let mut words = vec![
        binary.display().to_string(),
        "-C".to_owned(),
        project.path().display().to_string(),
    ];
    words.extend(args.iter().map(|a| (*a).to_owned()));
    let command_line = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &command_line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("WSDEPLOY_SSH_PASSWORD")
        .env_remove("WSDEPLOY_BECOME_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("these tests need util-linux `script` (Debian: bsdutils)");
    // Typed once the prompt is up; the pty buffers it until then.
    std::thread::sleep(std::time::Duration::from_millis(500));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("type");
    let output = child.wait_with_output().expect("script ends");
    let mut transcript = String::from_utf8_lossy(&output.stdout).into_owned();
    transcript.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), transcript)
}

#[cfg(feature = "host-tests")]
#[test]
fn ask_pass_offers_the_typed_password_to_sshd_and_never_shows_it() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let stranger = sshd.keygen("stranger", "ed25519", "");
    let project = Project::new();
    project
        .file(
            "plans/site.yml",
            "name: p\nhosts: web\nsteps:\n  - ini: {file: /nonexistent/app.conf, set: {a: b}}\n",
        )
        .file(
            "inventories/test/hosts.yml",
            &format!(
                "all:\n  children:\n    web:\n      hosts:\n        h: {{ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {}, ansible_ssh_private_key_file: {}}}\n",
                sshd.port,
                sshd.user,
                stranger.display()
            ),
        );
    let known_hosts = sshd.trusted_known_hosts();
    let (code, transcript) = on_a_terminal(
        &project,
        &[
            "apply",
            "-i",
            "test",
            "--dry-run",
            "-k",
            "--known-hosts",
            &known_hosts.display().to_string(),
        ],
        &format!("{TYPED}\n"),
    );
    assert_eq!(code, 1, "{transcript}");
    assert!(transcript.contains("SSH password:"), "{transcript}");
    assert!(
        transcript.contains(&format!("(tried: key {}, password)", stranger.display())),
        "{transcript}"
    );
    assert!(
        !transcript.contains(TYPED),
        "the password was shown:\n{transcript}"
    );
}

#[test]
fn ask_become_pass_reads_the_terminal_before_any_host_is_contacted() {
    let project = Project::new();
    project
        .file(
            "plans/site.yml",
            "name: p\nhosts: web\nsteps:\n  - ini: {file: /nonexistent/app.conf, set: {a: b}}\n",
        )
        .file(
            "inventories/test/hosts.yml",
            "all:\n  children:\n    web:\n      hosts:\n        box: {ansible_connection: local, ansible_become: true, ansible_become_user: someone-else}\n",
        );
    let (code, transcript) = on_a_terminal(
        &project,
        &["apply", "-i", "test", "--dry-run", "-K"],
        &format!("{TYPED}\n"),
    );
    assert_eq!(code, 3, "{transcript}");
    assert!(transcript.contains("BECOME password:"), "{transcript}");
    assert!(
        transcript.contains(
            "host `box`: a become password with ansible_connection local is not supported"
        ),
        "{transcript}"
    );
    assert!(
        !transcript.contains(TYPED),
        "the password was shown:\n{transcript}"
    );
}
