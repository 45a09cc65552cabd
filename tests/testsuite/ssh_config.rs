//! `ssh_config` (`-F`), jump hosts and `ansible_ssh_common_args` against real OpenSSH
//! servers started for each test: a chain of two jump hosts in front of a target, the
//! Ansible bastion idiom (`ProxyCommand="ssh -W %h:%p ..."`), and the errors and
//! warnings a person sees for settings wsdeploy cannot use.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

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

#[cfg(feature = "host-tests")]
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

#[cfg(feature = "host-tests")]
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

#[cfg(feature = "host-tests")]
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
    assert_eq!(web.port.expect("port").at.line, Some(1));
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

#[cfg(feature = "host-tests")]
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

// ---- ssh_config as OpenSSH reads it, with `ssh -G` (OpenSSH 9.2) as the oracle ----

/// `ssh -G -F config host` with `HOME=home`: each keyword's values (`Err`: ssh's error).
fn ssh_g(config: &Path, host: &str, home: &Path) -> Result<Vec<(String, String)>, String> {
    let version = std::process::Command::new("ssh").arg("-V").output();
    assert!(
        version.as_ref().is_ok_and(|out| out.status.success()),
        "ssh (openssh-client) is this test's oracle and is missing: {version:?}"
    );
    let out = std::process::Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(config)
        .arg(host)
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("ssh -G runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `wsdeploy ssh-config` output of one host: its own lines and each jump's.
struct Resolved {
    own: Vec<(String, String)>,
    jumps: Vec<(String, Vec<(String, String)>)>,
}

fn parse_resolved(stdout: &str) -> Resolved {
    let mut resolved = Resolved {
        own: Vec::new(),
        jumps: Vec::new(),
    };
    for line in stdout.lines() {
        if let Some(jump) = line.strip_prefix("  jump ") {
            resolved.jumps.push((jump.to_owned(), Vec::new()));
        } else if let Some(hop_line) = line.strip_prefix("    ") {
            let (k, v) = hop_line.split_once(' ').expect("key value");
            let (_, hop) = resolved.jumps.last_mut().expect("a jump line first");
            hop.push((k.to_owned(), v.to_owned()));
        } else if let Some(own) = line.strip_prefix("  ") {
            let (k, v) = own.split_once(' ').expect("key value");
            resolved.own.push((k.to_owned(), v.to_owned()));
        }
    }
    resolved
}

/// The home directory ssh uses (the passwd entry's), from its default known_hosts.
fn passwd_home() -> String {
    let pairs = ssh_g(Path::new("/dev/null"), "x", Path::new("/nonexistent")).expect("ssh -G");
    first(&pairs, "userknownhostsfile")
        .and_then(|files| files.split(' ').next())
        .and_then(|file| file.strip_suffix("/.ssh/known_hosts"))
        .expect("ssh's default known_hosts")
        .to_owned()
}

/// Checks wsdeploy's resolution of `host` against `ssh -G`'s, field by field.
fn agree(ours: &[(String, String)], theirs: &[(String, String)], home: &Path, what: &str) {
    let home = home.display().to_string();
    // ssh's `~` and defaults are the passwd entry's home; wsdeploy's are $HOME.
    let passwd_home = passwd_home();
    let expand = |value: &str| match value.strip_prefix("~/") {
        Some(rest) => format!("{home}/{rest}"),
        None => match value.strip_prefix(&format!("{passwd_home}/")) {
            Some(rest) => format!("{home}/{rest}"),
            None => value.to_owned(),
        },
    };
    for key in [
        "hostname",
        "user",
        "port",
        "identitiesonly",
        "addressfamily",
        "hostkeyalias",
    ] {
        assert_eq!(first(ours, key), first(theirs, key), "{what}: {key}");
    }
    let their_keys: Vec<String> = all(theirs, "identityfile")
        .into_iter()
        .map(expand)
        .collect();
    let our_keys: Vec<String> = all(ours, "identityfile")
        .into_iter()
        .map(|k| k.split(" (").next().unwrap_or(k).to_owned())
        .collect();
    if our_keys.iter().any(|k| k.starts_with('/')) {
        assert_eq!(our_keys, their_keys, "{what}: identityfile");
    } else {
        assert_eq!(
            their_keys[0],
            format!("{home}/.ssh/id_rsa"),
            "{what}: ssh's defaults"
        );
    }
    let agent = first(theirs, "identityagent").map_or("SSH_AUTH_SOCK".to_owned(), expand);
    assert_eq!(
        first(ours, "identityagent"),
        Some(agent.as_str()),
        "{what}: identityagent"
    );
    let known = first(theirs, "userknownhostsfile")
        .and_then(|files| files.split(' ').next())
        .map(expand);
    assert_eq!(
        first(ours, "userknownhostsfile").map(str::to_owned),
        known,
        "{what}: userknownhostsfile"
    );
    let timeout = match first(theirs, "connecttimeout") {
        Some("none") | None => "10",
        Some(seconds) => seconds,
    };
    assert_eq!(
        first(ours, "connecttimeout"),
        Some(timeout),
        "{what}: connecttimeout"
    );
    let strict = match first(theirs, "stricthostkeychecking") {
        Some("false" | "accept-new") => "accept-new",
        _ => "yes",
    };
    assert_eq!(
        first(ours, "stricthostkeychecking"),
        Some(strict),
        "{what}: strict"
    );
}

/// Resolves `hosts` with `wsdeploy ssh-config` and `ssh -G` and compares them, jump
/// hosts included (a `ProxyJump NAME` is compared with `ssh -G NAME`).
fn compare_with_openssh(config: &Path, home: &Path, hosts: &[&str]) {
    let config_arg = config.to_string_lossy().into_owned();
    for host in hosts {
        let run = wsdeploy_ssh_config(&["-F", &config_arg, host], home, &[]);
        agree_with_ssh_g(&run.stdout, config, home, host);
    }
}

/// `wsdeploy ssh-config ARGS` with `HOME=home` and `env`; it must succeed.
fn wsdeploy_ssh_config(args: &[&str], home: &Path, env: &[(&str, &str)]) -> support::project::Run {
    let home_arg = home.to_string_lossy().into_owned();
    let mut all_env = vec![("HOME", home_arg.as_str())];
    all_env.extend_from_slice(env);
    let mut all_args = vec!["ssh-config"];
    all_args.extend_from_slice(args);
    let run = Project::new().run_with_env(&all_args, &all_env);
    run.code(0);
    run
}

/// Compares one host's `wsdeploy ssh-config` output with `ssh -G -F config host`.
fn agree_with_ssh_g(stdout: &str, config: &Path, home: &Path, host: &str) {
    assert!(stdout.contains(&format!("host {host}\n")), "{stdout}");
    let ours = parse_resolved(stdout);
    let theirs = ssh_g(config, host, home).expect("ssh -G accepts the config");
    agree(&ours.own, &theirs, home, host);
    match first(&theirs, "proxyjump") {
        None => assert!(ours.jumps.is_empty(), "{host}: no jump for ssh\n{stdout}"),
        Some(jump) => {
            assert_eq!(ours.jumps.len(), 1, "{host}: one hop as ssh\n{stdout}");
            let hop = ssh_g(config, jump, home).expect("ssh -G resolves the hop");
            assert!(first(&hop, "proxyjump").is_none(), "the cases use one hop");
            agree(&ours.jumps[0].1, &hop, home, &format!("{host} via {jump}"));
        }
    }
}

/// A fresh HOME with `~/.ssh/` holding `files` (name, corpus path).
fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join(".ssh")).expect("mkdir .ssh");
    for (name, corpus) in files {
        let source = support::project::corpus_dir().join(corpus);
        std::fs::copy(&source, home.path().join(".ssh").join(name))
            .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
    }
    home
}

#[test]
fn the_real_world_configs_resolve_as_ssh_g_resolves_them() {
    let akashisn =
        "real-world/ssh-config/akashisn-host-star-first-match-not-exec-proxyjump/ssh/config";
    let home = home_with(&[("config", akashisn)]);
    let config = home.path().join(".ssh/config");
    compare_with_openssh(
        &config,
        home.path(),
        &[
            "s2s-vpn-lightsail",
            "gitlab.com",
            "gist.github.com",
            "gl-axt1800",
            "isec-github",
            "unlisted.example",
        ],
    );

    let years = "real-world/ssh-config/9999years-host-trailing-comment-include-relative";
    let home = home_with(&[
        ("config", &format!("{years}/ssh/config")),
        (
            "config_1password_agent",
            &format!("{years}/macos/ssh/config_1password_agent"),
        ),
    ]);
    let config = home.path().join(".ssh/config");
    compare_with_openssh(
        &config,
        home.path(),
        &[
            "pi",
            "Raspberry",
            "steamdeck",
            "fraktur-locked",
            "fraktur",
            "gerrit.lix.systems",
            "foo.lix.systems",
        ],
    );

    let global = "real-world/ssh-config/2n3906-global-before-host-blank-line-in-block/ssh/config";
    let home = home_with(&[("config", global)]);
    compare_with_openssh(
        &home.path().join(".ssh/config"),
        home.path(),
        &["anything.example"],
    );
}

#[test]
fn match_blocks_follow_openssh_order_criteria_and_final_pass() {
    let home = home_with(&[]);
    let config = home.path().join(".ssh/config");
    std::fs::write(
        &config,
        "Host bastion\n  HostName 192.0.2.10\n  User jump\n  Port 2201\n\
         Host web\n  HostName 10.0.0.5\n\
         Host db\n  HostName 10.9.0.7\n  User postgres\n\
         Host api\n  HostName %h.internal.example\n\
         Match host 10.0.0.* originalhost web\n  ProxyJump bastion\n\
         Match user postgres !host 10.0.*\n  Port 2222\n\
         Match originalhost API\n  User api-deploy\n\
         Match localuser root,nobody-here\n  IdentityFile ~/.ssh/local-user\n\
         Match !all\n  User never\n\
         Host *.internal.example\n  ProxyJump bastion\n\
         Match canonical host *.internal.example\n  Port 2022\n\
         Match final host 10.9.*\n  IdentitiesOnly yes\n",
    )
    .expect("write");
    compare_with_openssh(&config, home.path(), &["web", "db", "api", "other"]);

    // Case: `Host` patterns are case-sensitive against the name as given, `Match host`
    // is not; `=` and quotes in Match lines; `Match all` after earlier blocks.
    std::fs::write(
        &config,
        "Host Upper\n  User up\n\
         Host web*  !web-internal\n  HostName %h.example.com\n\
         Match host=\"*.example.com\" user root\n  Port 2200\n\
         Match originalhost=db,cache !localuser nobody\n  User dbadmin\n\
         Host db\n  HostName 10.1.2.3\n\
         Match host 10.1.*\n  IdentityFile ~/.ssh/ten\n  IdentitiesOnly yes\n\
         Match all\n  IdentityFile ~/.ssh/all\n\
         Host *\n  ConnectTimeout 1m\n  AddressFamily inet\n",
    )
    .expect("write");
    compare_with_openssh(
        &config,
        home.path(),
        &[
            "upper",
            "Upper",
            "web1",
            "WEB2",
            "web-internal",
            "db",
            "cache",
            "other",
        ],
    );
}

#[test]
fn match_exec_is_refused_naming_the_host_and_the_setting_also_with_q() {
    let akashisn =
        "real-world/ssh-config/akashisn-host-star-first-match-not-exec-proxyjump/ssh/config";
    let home = home_with(&[("config", akashisn)]);
    let config = home
        .path()
        .join(".ssh/config")
        .to_string_lossy()
        .into_owned();
    let p = project(
        "all:\n  children:\n    web:\n      hosts:\n        truenas-suita: {root: /nonexistent}\n",
    );
    // OpenSSH reaches truenas-suita through gw-suita when the ping fails: never directly.
    p.run(&["-q", "apply", "-i", "test", "-F", &config, "--dry-run"])
        .code(3)
        .stderr_has(&format!(
            "error: host `truenas-suita`: {config}:173: `Match host 172.16.0.*,172.16.10.* !Exec \"ping -c1 -t1 172.16.0.1\"` would run `ping -c1 -t1 172.16.0.1` to decide, for truenas-suita, ProxyJump gw-suita ({config}:174)"
        ))
        .stderr_has("nothing was changed on any host.");
    // Deciding it in the inventory lifts the refusal (first value wins, as in ssh).
    let p = project(
        "all:\n  children:\n    web:\n      hosts:\n        truenas-suita: {root: /nonexistent, ansible_ssh_common_args: '-o ProxyJump=none'}\n",
    );
    let run = p.run(&["ssh-config", "-i", "test", "-F", &config, "truenas-suita"]);
    run.code(0).stdout_has("  hostname 172.16.10.10\n");
    assert!(!run.stdout.contains("jump 1"), "{}", run.stdout);
}

#[test]
fn what_openssh_refuses_is_refused_with_its_line() {
    let years = "real-world/ssh-config/9999years-host-trailing-comment-include-relative";
    let home = home_with(&[
        ("config", &format!("{years}/ssh/config")),
        (
            "config_1password_agent",
            &format!("{years}/linux/ssh/config_1password_agent"),
        ),
    ]);
    let config = home.path().join(".ssh/config");
    let home_arg = home.path().to_string_lossy().into_owned();
    let config_arg = config.to_string_lossy().into_owned();
    let include = home.path().join(".ssh/config_1password_agent");
    assert!(
        ssh_g(&config, "pi", home.path()).is_err(),
        "ssh refuses the linux include"
    );
    Project::new()
        .run_with_env(&["ssh-config", "-F", &config_arg, "pi"], &[("HOME", &home_arg)])
        .code(3)
        .stderr_has(&format!(
            "error: {}:3: `Match Host * exec \"test -n \\\"$SSH_AGENT\\\"\"`: `$SSH_AGENT\\` needs an argument (Missing Match criteria)",
            include.display()
        ));
    for (text, line, why) in [
        (
            "Host *\n  LocalForward 8080 80\n",
            2,
            "(OpenSSH: Bad forwarding specification)",
        ),
        (
            "Host zz\n  DynamicForward 0\n",
            2,
            "(OpenSSH: Bad forwarding specification)",
        ),
        (
            "Host *\n  UseKeychain yes\n",
            2,
            "`UseKeychain` is not an option OpenSSH knows",
        ),
        (
            "Match host x user y all\n  User a\n",
            1,
            "cannot be combined with other Match criteria",
        ),
        (
            "Match foo x\n  User a\n",
            1,
            "`foo` is not a Match criterion",
        ),
        (
            "Host zz\n  IdentitiesOnly maybe\n",
            2,
            "(OpenSSH: unsupported option)",
        ),
    ] {
        let file = home.path().join("bad");
        std::fs::write(&file, text).expect("write");
        assert!(
            ssh_g(&file, "x", home.path()).is_err(),
            "ssh accepts {text:?}"
        );
        let file_arg = file.to_string_lossy().into_owned();
        let run = Project::new().run_with_env(
            &["ssh-config", "-F", &file_arg, "x"],
            &[("HOME", &home_arg)],
        );
        run.code(3)
            .stderr_has(&format!("{file_arg}:{line}"))
            .stderr_has(why);
    }
}

#[test]
fn strict_host_key_checking_no_is_said_to_be_accept_new_once() {
    let inventory = "all:\n  vars:\n    ansible_ssh_common_args: '-o StrictHostKeyChecking=no'\n    ansible_host: 127.0.0.1\n    ansible_port: 1\n  children:\n    web:\n      hosts:\n        a: {root: /x}\n        b: {root: /x}\n";
    let p = project(inventory);
    let empty = p.path().join("empty_ssh_config");
    std::fs::write(&empty, "").expect("write");
    let empty_arg = empty.to_string_lossy().into_owned();
    let notice = "warning: StrictHostKeyChecking=no (ansible_ssh_common_args) is treated as accept-new: an unknown host key is recorded in the known_hosts file, a changed one is still refused (hosts: a, b)";
    // A run says it once, before connecting (nothing listens on port 1), also with -q.
    let run = p.run(&["-q", "apply", "-i", "test", "-F", &empty_arg, "--dry-run"]);
    run.code(1).stderr_has(notice);
    assert_eq!(
        run.stderr.matches("StrictHostKeyChecking=no").count(),
        1,
        "{}",
        run.stderr
    );
    let run = p.run(&["ssh-config", "-i", "test", "-F", &empty_arg, "web"]);
    run.code(0)
        .stdout_has("host a\n")
        .stdout_has("  stricthostkeychecking accept-new\n")
        .stderr_has(notice);
    assert_eq!(
        run.stderr.matches("StrictHostKeyChecking=no").count(),
        1,
        "{}",
        run.stderr
    );
}

/// An ssh-agent of its own (killed on drop) holding `key`.
struct Agent {
    socket: PathBuf,
    pid: u32,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn with_key(key: &Path) -> Agent {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("agent.sock");
        let out = std::process::Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .arg("-s")
            .output()
            .expect("ssh-agent (openssh-client) is needed for this test");
        assert!(out.status.success(), "ssh-agent failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let pid = text
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no agent pid in {text}"));
        let agent = Agent {
            socket,
            pid,
            _dir: dir,
        };
        let added = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .output()
            .expect("ssh-add runs");
        assert!(added.status.success(), "ssh-add failed: {added:?}");
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .status();
    }
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pub_identity_file_signs_with_the_agent_named_by_identity_agent() {
    let sshd = Sshd::start();
    let agent = Agent::with_key(&sshd.client_key);
    let public = format!("{}.pub", sshd.client_key.display());
    // The host key is known only under the HostKeyAlias.
    let known_hosts = sshd.dir.path().join("known_hosts_alias");
    std::fs::write(
        &known_hosts,
        format!("lab-alias {}\n", sshd.host_key_line()),
    )
    .expect("write");
    let config = SshConfig::from_text(
        &format!(
            "Host app\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {public}\n  IdentitiesOnly yes\n  IdentityAgent {}\n  HostKeyAlias lab-alias\n  UserKnownHostsFile {}\n  ConnectTimeout 7\n  AddressFamily inet\n",
            sshd.port,
            sshd.user,
            agent.socket.display(),
            known_hosts.display()
        ),
        "cfg",
    )
    .expect("parses");
    let request = RouteRequest {
        alias: "app".to_owned(),
        ..RouteRequest::default()
    };
    let target = resolve_target(&config, &request, &defaults()).expect("resolves");
    assert_eq!(target.connect_timeout, std::time::Duration::from_secs(7));
    let session = SshSession::connect(&target)
        .await
        .unwrap_or_else(|error| panic!("agent key login failed: {error}\n{}", sshd.log()));
    assert_eq!(
        session.exec("echo agent", None).await.expect("exec").stdout,
        b"agent\n"
    );
    session.close().await;

    // AddressFamily inet6: the IPv4 address of the name is not tried.
    let mut inet6 = target.clone();
    inet6.address_family = wsdeploy::transport::ssh::AddressFamily::Inet6;
    let error = support::sshd::connect_error(&inet6).await.to_string();
    assert!(
        error.contains("no IPv6 address found (AddressFamily inet6)"),
        "{error}"
    );
    // --connect-timeout wins over ConnectTimeout.
    let mut chosen = defaults();
    chosen.connect_timeout_chosen = true;
    let target = resolve_target(&config, &request, &chosen).expect("resolves");
    assert_eq!(target.connect_timeout, std::time::Duration::from_secs(10));

    // Without the key in that agent, the error says so.
    let empty_agent_dir = tempfile::tempdir().expect("tempdir");
    let other = empty_agent_dir.path().join("other_key");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen runs");
    assert!(keygen.success());
    let config = SshConfig::from_text(
        &format!(
            "Host app\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}.pub\n  IdentitiesOnly yes\n  IdentityAgent {}\n  HostKeyAlias lab-alias\n  UserKnownHostsFile {}\n",
            sshd.port,
            sshd.user,
            other.display(),
            agent.socket.display(),
            known_hosts.display()
        ),
        "cfg",
    )
    .expect("parses");
    let target = resolve_target(&config, &request, &defaults()).expect("resolves");
    let error = support::sshd::connect_error(&target).await.to_string();
    assert!(
        error.contains("the ssh-agent does not hold this key"),
        "{error}"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_dry_run_follows_a_match_jump_with_an_agent_key_and_a_host_key_alias() {
    let _guard = local_host_guard();
    let chain = chain();
    let agent = Agent::with_key(&chain.key);
    let known_hosts = chain.target.dir.path().join("known_hosts_alias");
    std::fs::write(
        &known_hosts,
        format!(
            "hop-alias {}\n{}\n",
            chain.hop_a.host_key_line(),
            chain.target.known_hosts_line()
        ),
    )
    .expect("write known_hosts");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host app\n  HostName 127.0.0.1\n  Port {t}\n\
             Match originalhost app host 127.0.0.1\n  ProxyJump hop-a\n\
             Host hop-a\n  HostName 127.0.0.1\n  Port {a}\n  HostKeyAlias hop-alias\n\
             Host *\n  User {user}\n  IdentityFile {key}.pub\n  IdentitiesOnly yes\n  IdentityAgent {socket}\n  UserKnownHostsFile {kh}\n",
            t = chain.target.port,
            a = chain.hop_a.port,
            user = chain.target.user,
            key = chain.key.display(),
            socket = agent.socket.display(),
            kh = known_hosts.display(),
        ),
    )
    .expect("write ssh_config");
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("app.conf"), "[options]\nworkers = 2\n").expect("write");
    let p = project(&format!(
        "all:\n  children:\n    web:\n      hosts:\n        app: {{root: {}}}\n",
        root.path().display()
    ));
    let config_arg = config.to_string_lossy().into_owned();
    p.run_with_env(
        &["apply", "-i", "test", "-F", &config_arg, "--dry-run"],
        &[("SSH_AUTH_SOCK", "")],
    )
    .code(0)
    .stdout_has("── app (would change)");
    // Through the jump host the Match block named, never directly.
    assert_eq!(accepted(&chain.hop_a), 1, "{}", chain.hop_a.log());
    assert_eq!(accepted(&chain.target), 1, "{}", chain.target.log());
}

#[test]
fn without_f_the_system_file_is_read_after_the_users_with_its_own_blocks() {
    let home = home_with(&[]);
    let user = "Host web\n  HostName 10.0.0.5\nHost db\n";
    std::fs::write(home.path().join(".ssh/config"), user).expect("write");
    let etc = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        etc.path().join("crypto.conf"),
        "Ciphers aes256-gcm@openssh.com\n",
    )
    .expect("write");
    // A `Match final` (as Fedora's ssh_config.d ships) makes the second pass, where
    // `Host 10.0.0.*` matches web's HostName. The user file's last `Host db` does not
    // make the system file's first lines inactive: each file starts afresh.
    let system = format!(
        "User ops\nMatch final all\n  Include {}/crypto.conf\nHost 10.0.0.*\n  ProxyJump bastion\nHost bastion\n  HostName 192.0.2.1\n  User jump\n",
        etc.path().display()
    );
    let system_file = etc.path().join("ssh_config");
    std::fs::write(&system_file, &system).expect("write");
    let system_arg = system_file.to_string_lossy().into_owned();
    // The oracle: one file where `Host *` starts the system part afresh.
    let combined = etc.path().join("combined");
    std::fs::write(&combined, format!("{user}Host *\n{system}")).expect("write");
    for host in ["web", "db", "other"] {
        let run = wsdeploy_ssh_config(
            &[host],
            home.path(),
            &[("WSDEPLOY_SYSTEM_SSH_CONFIG", &system_arg)],
        );
        agree_with_ssh_g(&run.stdout, &combined, home.path(), host);
    }
    let run = wsdeploy_ssh_config(
        &["web"],
        home.path(),
        &[("WSDEPLOY_SYSTEM_SSH_CONFIG", &system_arg)],
    );
    run.stdout_has("  jump 1 ops@192.0.2.1:22\n");
    // With -F, as with ssh, the system file is not read.
    let user_file = home
        .path()
        .join(".ssh/config")
        .to_string_lossy()
        .into_owned();
    let run = wsdeploy_ssh_config(
        &["-F", &user_file, "web"],
        home.path(),
        &[("WSDEPLOY_SYSTEM_SSH_CONFIG", &system_arg)],
    );
    assert!(!run.stdout.contains("jump 1"), "{}", run.stdout);
}
