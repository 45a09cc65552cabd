//! `ssh_config` (`-F`), jump hosts and `ansible_ssh_common_args` against real OpenSSH
//! servers started for each test: a chain of two jump hosts in front of a target, the
//! Ansible bastion idiom (`ProxyCommand="ssh -W %h:%p ..."`), and the errors and
//! warnings a person sees for settings wsdeploy cannot use.

use crate::support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use support::project::Project;
use support::reliability::local_host_guard;
use support::sshd::Sshd;
use wsdeploy::transport::ssh::SshSession;
use wsdeploy::transport::ssh_config::{RouteDefaults, RouteRequest, SshConfig, resolve_target};

/// Three servers: two jump hosts and the target, all trusting `key`, and a known_hosts
/// file listing the three.
struct Chain {
    hop_a: Sshd,
    hop_b: Sshd,
    target: Sshd,
    key: PathBuf,
    known_hosts: PathBuf,
}

fn chain() -> Chain {
    let hop_a = Sshd::start();
    let hop_b = Sshd::start();
    let target = Sshd::start();
    let key = target.client_key.clone();
    hop_a.authorize(&key);
    hop_b.authorize(&key);
    let known_hosts = target.dir.path().join("known_hosts_all");
    let lines: String = [&hop_a, &hop_b, &target]
        .iter()
        .fold(String::new(), |mut text, sshd| {
            let _ = writeln!(text, "{}", sshd.known_hosts_line());
            text
        });
    std::fs::write(&known_hosts, lines).expect("write known_hosts");
    Chain {
        hop_a,
        hop_b,
        target,
        key,
        known_hosts,
    }
}

impl Chain {
    /// An ssh_config where `app` sits behind `hop-b`, itself behind `hop-a`.
    fn config(&self) -> String {
        format!(
            "# jump hosts\n\
             Host hop-a\n  HostName 127.0.0.1\n  Port {a}\n\
             Host hop-b\n  HostName 127.0.0.1\n  Port {b}\n  ProxyJump hop-a\n\
             Host app app-*\n  HostName 127.0.0.1\n  Port {t}\n  ProxyJump hop-b\n\
             Host *\n  User {user}\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {kh}\n",
            a = self.hop_a.port,
            b = self.hop_b.port,
            t = self.target.port,
            user = self.target.user,
            key = self.key.display(),
            kh = self.known_hosts.display(),
        )
    }

    fn write_config(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ssh_config");
        std::fs::write(&path, self.config()).expect("write ssh_config");
        path
    }
}

fn defaults() -> RouteDefaults {
    RouteDefaults {
        known_hosts: None,
        accept_new_host_keys: false,
        connect_timeout: std::time::Duration::from_secs(10),
        connect_timeout_chosen: false,
        local_user: "nobody-local".to_owned(),
    }
}

/// Logins each server accepted with a public key.
fn accepted(sshd: &Sshd) -> usize {
    sshd.log().matches("Accepted publickey").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_jump_chain_from_ssh_config_reaches_the_target_through_both_hops() {
    let chain = chain();
    let config = SshConfig::load(Some(&chain.write_config(chain.target.dir.path())))
        .expect("the config parses");
    let request = RouteRequest {
        alias: "app".to_owned(),
        ..RouteRequest::default()
    };
    let target = resolve_target(&config, &request, &defaults()).expect("the route resolves");
    assert_eq!(target.jumps.len(), 2, "{target:?}");
    let session = SshSession::connect(&target).await.unwrap_or_else(|error| {
        panic!(
            "connect through the chain failed: {error}\nhop a:\n{}\nhop b:\n{}\ntarget:\n{}",
            chain.hop_a.log(),
            chain.hop_b.log(),
            chain.target.log()
        )
    });
    assert!(
        session.label().contains("via 127.0.0.1:"),
        "{}",
        session.label()
    );
    let output = session.exec("echo reached", None).await.expect("exec");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "reached\n");
    // Each server saw exactly one login: the hops carried the next connection inside.
    assert_eq!(
        (
            accepted(&chain.hop_a),
            accepted(&chain.hop_b),
            accepted(&chain.target)
        ),
        (1, 1, 1)
    );
    // A sibling connection (the run lock's) rides the same open chain.
    let sibling = session.sibling().await.expect("sibling through the chain");
    assert_eq!(
        sibling
            .exec("echo sibling", None)
            .await
            .expect("exec")
            .stdout,
        b"sibling\n"
    );
    assert_eq!(
        (
            accepted(&chain.hop_a),
            accepted(&chain.hop_b),
            accepted(&chain.target)
        ),
        (1, 1, 2)
    );
    sibling.close().await;
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jump_host_that_cannot_reach_the_target_is_named() {
    let chain = chain();
    let mut config_text = chain.config();
    // Nothing listens on port 1 behind hop-a.
    config_text.push_str("Host nowhere\n  HostName 127.0.0.1\n  Port 1\n  ProxyJump hop-a\n");
    let config = SshConfig::from_text(&config_text, "cfg").expect("parses");
    let request = RouteRequest {
        alias: "nowhere".to_owned(),
        ..RouteRequest::default()
    };
    let target = resolve_target(&config, &request, &defaults()).expect("resolves");
    let error = support::sshd::connect_error(&target).await.to_string();
    assert!(
        error.starts_with(&format!(
            "cannot reach 127.0.0.1:1 through jump host {}@127.0.0.1:{}: the jump host could not connect there",
            chain.target.user, chain.hop_a.port
        )),
        "{error}"
    );
}

const PLAN: &str = "name: reach\nhosts: web\nsteps:\n  - id: conf\n    ini: {file: \"{{ root }}/app.conf\", set: {proxy_mode: \"True\"}}\n";

/// A project whose plan edits `root/app.conf` (a dry run only reads it).
fn project(inventory: &str) -> Project {
    let project = Project::new();
    project
        .file("plans/site.yml", PLAN)
        .file("root/app.conf", "[options]\nworkers = 2\n")
        .file("inventories/test/hosts.yml", inventory);
    project
}

#[test]
fn dry_run_through_ssh_config_aliases_and_the_ansible_bastion_idiom() {
    let _guard = local_host_guard();
    let chain = chain();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = chain.write_config(dir.path());
    let project_root = tempfile::tempdir().expect("tempdir");
    let inventory = format!(
        "all:\n  vars:\n    root: {root}\n    ansible_python_interpreter: /usr/bin/python3\n  children:\n    web:\n      hosts:\n        app: {{}}\n        bastioned:\n          ansible_host: 127.0.0.1\n          ansible_port: {t}\n          ansible_user: {user}\n          ansible_ssh_private_key_file: {key}\n          ansible_ssh_common_args: >-\n            -o ProxyCommand=\"ssh -W %h:%p -q -p {b} -i {key} {user}@127.0.0.1\"\n            -o UserKnownHostsFile={kh} -o ControlMaster=auto\n",
        root = project_root.path().display(),
        t = chain.target.port,
        b = chain.hop_b.port,
        user = chain.target.user,
        key = chain.key.display(),
        kh = chain.known_hosts.display(),
    );
    let p = project(&inventory);
    std::fs::create_dir_all(project_root.path()).expect("mkdir");
    std::fs::write(
        project_root.path().join("app.conf"),
        "[options]\nworkers = 2\n",
    )
    .expect("write app.conf");
    let config_arg = config.to_string_lossy().into_owned();
    let run = p.run(&["apply", "-i", "test", "-F", &config_arg, "--dry-run"]);
    run.code(0)
        .stdout_has("── app (would change)")
        .stdout_has("── bastioned (would change)")
        .stdout_has("+proxy_mode = True")
        .stderr_has(
            "warning: ansible_python_interpreter is set in the inventory but wsdeploy does not use it (hosts: app, bastioned)",
        )
        .stderr_has("warning: ansible_ssh_common_args: `-o ControlMaster=auto` does not change how wsdeploy connects and is ignored (host: bastioned)");
    assert_eq!(
        run.stderr
            .matches("ansible_python_interpreter is set")
            .count(),
        1,
        "one warning per run:\n{}",
        run.stderr
    );
    // app went through hop-a and hop-b; bastioned through hop-b only.
    assert_eq!(accepted(&chain.hop_a), 1, "{}", chain.hop_a.log());
    assert_eq!(accepted(&chain.hop_b), 2, "{}", chain.hop_b.log());
    assert_eq!(accepted(&chain.target), 2, "{}", chain.target.log());
}

#[test]
fn bad_ssh_settings_stop_the_run_before_any_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory =
        "all:\n  children:\n    web:\n      hosts:\n        app: {root: /nonexistent}\n";
    let p = project(inventory);

    let missing = dir.path().join("no_such_config");
    let missing_arg = missing.to_string_lossy().into_owned();
    p.run(&["apply", "-i", "test", "-F", &missing_arg, "--dry-run"])
        .code(3)
        .stderr_has(&format!(
            "error: {missing_arg}: cannot read this ssh config file"
        ))
        .stderr_has("nothing was changed on any host.");

    let bad_port = dir.path().join("bad_port");
    std::fs::write(&bad_port, "Host app\n  HostName 127.0.0.1\n  Port ssh\n").expect("write");
    let bad_port_arg = bad_port.to_string_lossy().into_owned();
    p.run(&["apply", "-i", "test", "-F", &bad_port_arg, "--dry-run"])
        .code(3)
        .stderr_has(&format!(
            "error: {bad_port_arg}:3: `Port ssh`: `ssh` is not a port number 1-65535 (OpenSSH: Bad port)"
        ));

    let proxy = dir.path().join("proxy_command");
    std::fs::write(
        &proxy,
        "Match host app\n  User x\nHost app\n  ProxyCommand nc -X connect -x proxy:3128 %h %p\n",
    )
    .expect("write");
    let proxy_arg = proxy.to_string_lossy().into_owned();
    p.run(&["apply", "-i", "test", "-F", &proxy_arg, "--dry-run"])
        .code(3)
        .stderr_has(&format!("error: host `app`: {proxy_arg}:4: ProxyCommand `nc -X connect -x proxy:3128 %h %p` is not supported (the command is not `ssh`)"));

    let unclosed = dir.path().join("unclosed");
    std::fs::write(&unclosed, "Host app\n  IdentityFile \"~/key\n").expect("write");
    let unclosed_arg = unclosed.to_string_lossy().into_owned();
    p.run(&["apply", "-i", "test", "-F", &unclosed_arg, "--dry-run"])
        .code(3)
        .stderr_has(&format!("error: {unclosed_arg}:2:16: unclosed quote"));

    let args_inventory = "all:\n  children:\n    web:\n      hosts:\n        app: {root: /x, ansible_ssh_extra_args: \"-F /etc/other\"}\n";
    let p = project(args_inventory);
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").expect("write");
    let empty_arg = empty.to_string_lossy().into_owned();
    p.run(&["apply", "-i", "test", "-F", &empty_arg, "--dry-run"])
        .code(3)
        .stderr_has("error: ansible_ssh_extra_args of host app: `-F` cannot be given per host; pass the file to wsdeploy's command instead: `wsdeploy apply -F FILE ...`");
}

#[test]
fn include_globs_and_inactive_includes_follow_openssh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir_all(&conf_d).expect("mkdir");
    std::fs::write(
        conf_d.join("10-web.conf"),
        "Host web\n  User from-include\n",
    )
    .expect("write");
    std::fs::write(conf_d.join("20-other.conf"), "Port 2022\n").expect("write");
    std::fs::write(conf_d.join("README"), "not a config: User nobody\n").expect("write");
    let main = dir.path().join("config");
    std::fs::write(
        &main,
        format!(
            "Host never-matches\n  Include {d}/20-*.conf\nHost *\n  Include {d}/*.conf\n  User fallback\n",
            d = conf_d.display()
        ),
    )
    .expect("write");
    let config = SshConfig::load(Some(&main)).expect("parses");
    let web = config.options_for("web", &[]).expect("resolves");
    assert_eq!(web.user.expect("user").first(), "from-include");
    // `Port 2022` in 20-other.conf is active only through the second (active) Include.
    assert_eq!(web.port.expect("port").at.line, 1);
    let db = config.options_for("db", &[]).expect("resolves");
    // After 10-web.conf's `Host web`, the include restores the `Host *` state.
    assert_eq!(db.user.expect("user").first(), "fallback");
}

#[test]
fn schedule_passes_the_ssh_config_on_and_refuses_password_prompts() {
    let p = Project::new();
    p.file(
        "inventories/production/hosts.yml",
        "all:\n  children:\n    odoo:\n      hosts:\n        odoo-1:\n          ansible_connection: local\n",
    )
    .file(
        "plans/site.yml",
        "name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("ssh_config");
    std::fs::write(&config, "Host *\n  User ops\n").expect("write");
    let canonical = config.canonicalize().expect("canonical");
    let config_arg = config.to_string_lossy().into_owned();
    p.run(&[
        "schedule",
        "-i",
        "production",
        "--every",
        "15m",
        "-F",
        &config_arg,
    ])
    .code(0)
    .stdout_has(&format!(" -F {}", canonical.display()));
    for flag in ["-k", "-K"] {
        p.run(&["schedule", "-i", "production", "--every", "15m", flag])
            .code(3)
            .stderr_has("a scheduled run has no terminal to ask for a password (-k/-K)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jump_host_throttling_new_connections_is_retried() {
    let hop = Sshd::start_with(&support::sshd::SshdOptions {
        max_startups: "1:100:1".to_owned(),
        extra_config: "LoginGraceTime 30\n".to_owned(),
        ..support::sshd::SshdOptions::default()
    });
    let target = Sshd::start();
    hop.authorize(&target.client_key);
    let known_hosts = target.dir.path().join("known_hosts_both");
    std::fs::write(
        &known_hosts,
        format!(
            "{}\n{}\n",
            hop.known_hosts_line(),
            target.known_hosts_line()
        ),
    )
    .expect("write known_hosts");
    let config = SshConfig::from_text(
        &format!(
            "Host hop\n  HostName 127.0.0.1\n  Port {}\nHost *\n  User {}\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
            hop.port,
            target.user,
            target.client_key.display(),
            known_hosts.display()
        ),
        "cfg",
    )
    .expect("parses");
    let request = RouteRequest {
        alias: "127.0.0.1".to_owned(),
        port: Some(target.port),
        front: wsdeploy::transport::ssh_config::parse_ssh_args("-J hop", "args")
            .expect("args")
            .front,
        ..RouteRequest::default()
    };
    let resolved = resolve_target(&config, &request, &defaults()).expect("resolves");
    // An unauthenticated connection (a scanner) fills the jump host's MaxStartups for 2 s.
    let hog = std::net::TcpStream::connect(("127.0.0.1", hop.port)).expect("hog connects");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        drop(hog);
    });
    let session = SshSession::connect(&resolved)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "connect through the throttling hop failed: {error}\n{}",
                hop.log()
            )
        });
    release.await.expect("release");
    assert!(
        hop.log().contains("MaxStartups") || hop.log().contains("drop connection"),
        "the jump host did not throttle: the test proves nothing\n{}",
        hop.log()
    );
    assert_eq!(
        session.exec("echo ok", None).await.expect("exec").stdout,
        b"ok\n"
    );
}
