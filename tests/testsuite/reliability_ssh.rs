//! SSH under a hostile or throttling server, end to end through the `wsdeploy` binary and
//! a real throwaway `sshd` (tests/support/sshd.rs) on 127.0.0.1 whose "host" is this
//! machine's temporary copies of real configurations.
//!
//! - `MaxSessions 1` / `2` (one SSH connection may hold only that many sessions: the run
//!   lock holds one for the whole transaction) must still converge, or fail untouched.
//! - `MaxStartups` throttling (sshd drops new connections while others are unauthenticated,
//!   as during a scan) must be retried, not reported as an unreachable host.
//! - unknown host key, wrong user: refused with one clear line, nothing touched.
//!
//! Host keys, wrong keys and passphrases at the transport level are covered by
//! tests/ssh_transport.rs, tests/ssh_isolated.rs and tests/lab_faults.rs.

use crate::support;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;
use support::project::Run;
use support::reliability::{LocalHost, local_host_guard, local_run_state, local_runs, tree_diff};
use support::sshd::{Sshd, SshdOptions};

fn plan() -> serde_json::Value {
    json!({
        "name": "ssh",
        "hosts": "odoo",
        "steps": [
            {"id": "odoo_conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True", "websocket_url": "ws://{{ public_host }}/websocket"}}},
            {"id": "site_config", "json": {"file": "{{ site_config }}", "set": {"socketio_port": 9000}}},
            {"id": "site", "nginx": {"file": "{{ site_conf }}", "context": "server", "ensure": "location /websocket {\n    proxy_pass http://127.0.0.1:8072;\n}\n"}},
            {"id": "nginx_test", "command": "{{ nginx_test_cmd }}", "if_changed": ["site"]},
            {"id": "restart", "command": "true", "if_changed": ["odoo_conf", "site_config"]},
            {"id": "check", "verify": {"command": {"run": "grep -c proxy_mode {{ odoo_conf | quote }}", "contains": "1"}}, "retries": 3},
        ],
    })
}

/// A host tree reached over SSH through `sshd` as `user`.
fn ssh_host(sshd: &Sshd, user: &str) -> LocalHost {
    let mut host = LocalHost::new("root");
    host.reach_through_sshd(sshd, user);
    host.plan_json(&plan());
    host
}

fn apply(host: &LocalHost, known_hosts: &std::path::Path, extra: &[&str]) -> Run {
    let kh = known_hosts.display().to_string();
    let mut args = vec!["--known-hosts", kh.as_str()];
    args.extend_from_slice(extra);
    host.run("apply", &args)
}

/// Converged or byte-identical, and no run of ours left `in_progress`.
fn assert_converged_or_untouched(
    host: &LocalHost,
    before: &std::collections::BTreeMap<String, String>,
    runs_before: &BTreeSet<String>,
) {
    for run in local_runs().difference(runs_before) {
        let state = local_run_state(run);
        assert_ne!(state, "in_progress", "run {run} left in progress");
    }
    if host.sums() != *before {
        let text = std::fs::read_to_string(&host.odoo_conf).expect("read");
        assert!(
            text.contains("proxy_mode = True"),
            "partially changed: {:#?}",
            tree_diff(before, &host.sums())
        );
    }
    assert!(host.temp_leftovers().is_empty());
}

fn converges_with_max_sessions(max_sessions: u32) {
    let _guard = local_host_guard();
    let sshd = Sshd::start_with(&SshdOptions {
        max_sessions,
        ..SshdOptions::default()
    });
    let host = ssh_host(&sshd, &sshd.user);
    let known = sshd.trusted_known_hosts();
    let before = host.sums();
    let runs_before = local_runs();
    let run = apply(&host, &known, &[]);
    assert_converged_or_untouched(&host, &before, &runs_before);
    run.code(0).stdout_has("1 changed");
    apply(&host, &known, &[]).code(0).stdout_has("1 in sync");
}

#[test]
fn max_sessions_2_converges() {
    converges_with_max_sessions(2);
}

#[test]
fn max_sessions_1_converges() {
    converges_with_max_sessions(1);
}

#[test]
fn max_startups_throttling_is_retried_not_reported_unreachable() {
    let _guard = local_host_guard();
    let sshd = Sshd::start_with(&SshdOptions {
        max_startups: "1:100:1".to_owned(),
        extra_config: "LoginGraceTime 30\n".to_owned(),
        ..SshdOptions::default()
    });
    let host = ssh_host(&sshd, &sshd.user);
    let known = sshd.trusted_known_hosts();
    let before = host.sums();
    let runs_before = local_runs();
    // An unauthenticated connection (a scanner) fills MaxStartups for 3 seconds.
    let hog = TcpStream::connect(("127.0.0.1", sshd.port)).expect("hog connects");
    std::thread::sleep(Duration::from_millis(300));
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        drop(hog);
    });
    let started = Instant::now();
    let run = apply(&host, &known, &[]);
    release.join().expect("release");
    assert_converged_or_untouched(&host, &before, &runs_before);
    assert!(
        sshd.log().contains("MaxStartups") || sshd.log().contains("drop connection"),
        "sshd did not throttle: the test proves nothing\n{}",
        sshd.log()
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    run.code(0).stdout_has("1 changed");
}

#[test]
fn unknown_host_key_is_refused_by_default_and_nothing_is_touched() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let host = ssh_host(&sshd, &sshd.user);
    let empty = sshd.dir.path().join("empty_known_hosts");
    let before = host.sums();
    let run = apply(&host, &empty, &[]);
    run.code(1)
        .stdout_has("── ssh-1 (UNREACHABLE)")
        .stdout_has(&format!("host key for [127.0.0.1]:{} is not in", sshd.port))
        .stdout_has("--accept-new-host-keys");
    assert_eq!(host.sums(), before);
    assert!(!empty.exists(), "a refused key must not be recorded");
}

#[test]
fn wrong_user_is_one_clear_line_and_nothing_is_touched() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let host = ssh_host(&sshd, "nosuchuser");
    let known = sshd.trusted_known_hosts();
    let before = host.sums();
    let run = apply(&host, &known, &[]);
    run.code(1)
        .stdout_has("── ssh-1 (UNREACHABLE)")
        .stdout_has(&format!(
            "authentication failed for nosuchuser@127.0.0.1:{}",
            sshd.port
        ))
        .stdout_has("check ansible_user / ansible_ssh_private_key_file");
    let error_lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("authentication failed"))
        .collect();
    assert_eq!(error_lines.len(), 1, "{}", run.stdout);
    assert_eq!(host.sums(), before);
}

/// A key learnt with `--accept-new-host-keys` by the run's first connection is honoured by
/// its second (under sshd `MaxSessions 1` the run lock's holder has a connection of its own) without being recorded
/// twice, and the `known_hosts` file is opened twice in all: read once for the run, then
/// appended to once (counted by `strace`, on the real binary).
#[test]
fn a_host_key_learnt_mid_run_is_honoured_and_known_hosts_is_opened_once_to_read() {
    let _guard = local_host_guard();
    // `MaxSessions 1`: the run lock's holder moves to a second connection, which must
    // accept the key the first one learnt.
    let sshd = Sshd::start_with(&SshdOptions {
        max_sessions: 1,
        ..SshdOptions::default()
    });
    let host = ssh_host(&sshd, &sshd.user);
    let known = sshd.dir.path().join("learnt_known_hosts");
    std::fs::write(&known, "# hosts of this fleet\n").expect("write known_hosts");
    let trace = sshd.dir.path().join("opens.trace");
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&trace)
        .arg(assert_cmd::cargo::cargo_bin("wsdeploy"))
        .arg("-C")
        .arg(host.project.path())
        .args([
            "apply",
            "-i",
            "production",
            "--accept-new-host-keys",
            "--known-hosts",
        ])
        .arg(&known)
        .env("NO_COLOR", "1")
        .output()
        .expect("strace must be installed (apt-get install strace)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 changed"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&known).expect("read known_hosts"),
        format!("# hosts of this fleet\n{}\n", sshd.known_hosts_line()),
        "the key is recorded once"
    );
    let trace = std::fs::read_to_string(&trace).expect("strace output");
    let needle = format!("\"{}\"", known.display());
    let opens: Vec<&str> = trace.lines().filter(|l| l.contains(&needle)).collect();
    assert_eq!(
        opens.len(),
        2,
        "known_hosts opened other than once to read and once to append:\n{}",
        opens.join("\n")
    );
    assert!(
        opens[0].contains("O_RDONLY") && opens[1].contains("O_APPEND"),
        "{opens:#?}"
    );
}
