//! Transactions under injected faults, on real lab hosts. Every test ends with the host's
//! configuration byte-identical to before (dated backups aside) and its services healthy,
//! or, where the run was cut short, with the next run rolling it back first.

use crate::support;

use std::time::{Duration, Instant};

use support::lab::{self, Lab};
use support::shared_fleet::SharedFleet;

/// The hosts of every test here (12: one each, three for the unreachable-host test),
/// started together; each test takes fresh ones.
static FLEET: SharedFleet = SharedFleet::new("faults", 12, &["--role", "odoo"]);

/// Applies `extra` and expects a rollback: exit 1, files identical, services healthy.
fn expect_rollback(
    lab: &Lab,
    project: &std::path::Path,
    extra: &[&str],
    failing_step: &str,
    evidence: &str,
) {
    let before = lab.config_sums(1);
    let run = lab.wsdeploy_in(project, "apply", extra);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has(&format!("error in step `{failing_step}`"))
        .stdout_has(evidence)
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.config_sums(1),
        before,
        "files differ after the rollback"
    );
    lab.assert_healthy(1);
    assert!(
        !lab.handshake(1, true).contains("101 Switching"),
        "the websocket change survived the rollback"
    );
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
}

fn repo() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn nginx_test_failing_after_the_edit_rolls_back() {
    let lab = FLEET.take("nginx-t", 1);
    let project = lab::project_with_odoo_plan(|plan| {
        plan.replace(
            "  - id: nginx_test\n",
            "  - id: bad\n    nginx:\n      file: \"{{ site_conf }}\"\n      context: server\n      ensure: \"proxy_bogus_directive on;\"\n\n  - id: nginx_test\n",
        )
        .replace("if_changed: [map, site, location]", "if_changed: [map, site, location, bad]")
    });
    expect_rollback(
        &lab,
        project.path(),
        &[],
        "nginx_test",
        "unknown directive \"proxy_bogus_directive\"",
    );
}

#[test]
fn failing_reload_rolls_back() {
    let lab = FLEET.take("reload", 1);
    expect_rollback(
        &lab,
        repo(),
        &["-e", r#"{"nginx_reload_cmd": "nginx -s relaod"}"#],
        "nginx_reload",
        "nginx -s relaod",
    );
}

#[test]
fn failing_container_restart_rolls_back() {
    let lab = FLEET.take("restart", 1);
    expect_rollback(
        &lab,
        repo(),
        &[
            "-e",
            r#"{"odoo_restart_cmd": "docker restart opticserp_odoo_typo"}"#,
        ],
        "odoo_restart",
        "No such container",
    );
}

#[test]
fn backend_that_stops_after_the_change_is_rolled_back_and_restarted() {
    // The new odoo.conf makes Odoo refuse to start: the backend is down, verify fails, the
    // rollback restores odoo.conf, restarts Odoo, and health comes back.
    let lab = FLEET.take("backend", 1);
    let project = lab::project_with_odoo_plan(|plan| {
        plan.replace(
            "        websocket_url: \"{{ websocket_url }}\"\n",
            "        websocket_url: \"{{ websocket_url }}\"\n        gevent_port: \"not-a-port\"\n",
        )
    });
    expect_rollback(
        &lab,
        project.path(),
        &[],
        "odoo_up",
        "cannot reach 127.0.0.1:8069 on the host",
    );
}

#[test]
fn websocket_check_failing_rolls_back() {
    let lab = FLEET.take("verify", 1);
    expect_rollback(
        &lab,
        repo(),
        &["-e", "odoo_websocket_port=8073"],
        "evented_service",
        "cannot reach 127.0.0.1:8073 on the host",
    );
}

/// Starts an apply whose restart waits, so the run can be interrupted mid-way.
fn interrupted_apply(lab: &Lab) -> (std::process::Child, String) {
    let before = lab.config_sums(1);
    let child = lab.spawn_wsdeploy(
        repo(),
        "apply",
        &[
            "-e",
            r#"{"odoo_restart_cmd": "sleep 15; docker restart opticserp_odoo"}"#,
        ],
    );
    // The restart is running: nginx files and odoo.conf have been written.
    lab.wait_for(
        1,
        "pgrep -f 'sleep 1[5]' >/dev/null && grep -q '^websocket_url' /etc/opticserp/odoo.conf",
    );
    (child, before)
}

/// The next run rolls the interrupted one back first, then applies from the original bytes.
fn next_run_recovers(lab: &Lab, before: &str) {
    lab.ok(1, "grep -qx in_progress /var/lib/wsdeploy/runs/*/state");
    // The interrupted run's lock died with its connection: nothing holds it now.
    lab.wait_for(1, "flock -n /var/lib/wsdeploy/lock true");
    let run = lab.wsdeploy("apply", &["--json"]);
    run.code(0).stdout_has("recovered interrupted run");
    // The files it then changed had the original bytes again: the rollback restored them.
    let report = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "host_report")
        .expect("host report");
    assert_eq!(report["report"]["outcome"], "changed");
    for f in report["report"]["files"].as_array().expect("files") {
        let pre = f["pre_sha256"].as_str().expect("pre_sha256");
        let path = f["path"].as_str().expect("path");
        assert!(
            before.contains(&format!("{pre}  {path}")),
            "{path} was not restored to its original bytes before the new apply"
        );
    }
    lab.ok(
        1,
        "test \"$(grep -lx rolled_back /var/lib/wsdeploy/runs/*/state | wc -l)\" = 1",
    );
    lab.assert_healthy(1);
    assert!(lab.handshake(1, true).contains("101 Switching Protocols"));
}

#[test]
fn cut_ssh_connection_mid_run_is_recovered_by_the_next_run() {
    let lab = FLEET.take("cut", 1);
    let (child, before) = interrupted_apply(&lab);
    // Kill the sshd session processes serving the run (not the listener).
    lab.ok(1, "pkill -9 -f 'sshd: roo[t]@'");
    let run = lab::finish(child);
    run.code(4).stdout_has("NEEDS ATTENTION");
    lab.wait_for(1, "! pgrep -f 'sleep 1[5]' >/dev/null");
    next_run_recovers(&lab, &before);
}

#[test]
fn killed_agent_after_the_first_write_is_rolled_back_by_the_next_run() {
    let lab = FLEET.take("kill", 1);
    let (mut child, before) = interrupted_apply(&lab);
    child.kill().expect("SIGKILL wsdeploy");
    let _ = child.wait();
    lab.wait_for(1, "! pgrep -f 'sleep 1[5]' >/dev/null");
    next_run_recovers(&lab, &before);
}

#[test]
fn a_second_concurrent_apply_fails_fast_naming_the_holder() {
    let lab = FLEET.take("lock", 1);
    let first = lab.spawn_wsdeploy(
        repo(),
        "apply",
        &[
            "-e",
            r#"{"odoo_restart_cmd": "sleep 15; docker restart opticserp_odoo"}"#,
        ],
    );
    lab.wait_for(1, "pgrep -f 'sleep 1[5]' >/dev/null");
    let started = Instant::now();
    let second = lab.wsdeploy("apply", &[]);
    let took = started.elapsed();
    second
        .code(1)
        .stdout_has("another wsdeploy run holds the lock on this host: run ")
        .stdout_has("FAILED (untouched)");
    assert!(
        took < Duration::from_secs(10),
        "the second run waited {took:?} instead of failing fast"
    );
    lab::finish(first).code(0).stdout_has("1 changed");
    lab.assert_healthy(1);
    assert!(lab.handshake(1, true).contains("101 Switching Protocols"));
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 in sync");
}

#[test]
fn one_unreachable_host_does_not_stop_the_others() {
    let lab = FLEET.take("unreach", 3);
    lab.ok(3, "kill \"$(cat /run/sshd.pid)\"");
    let run = lab.wsdeploy("apply", &[]);
    run.code(1)
        .stdout_has("2 changed, 1 unreachable")
        .stdout_has("── lab-3 (UNREACHABLE)");
    for i in 1..=2 {
        assert!(
            lab.handshake(i, true).contains("101 Switching Protocols"),
            "host {i}"
        );
    }
}

#[test]
fn changed_host_key_is_refused_before_any_command() {
    let lab = FLEET.take("hostkey", 1);
    let before = lab.tree_sums(1, lab::WATCHED);
    let ip = lab.ip(1);
    // Replace the host's ed25519 entry with another key, as after a reinstall or an attack.
    let other = tempfile::tempdir().expect("temp");
    let key = other.path().join("k");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    let fake_key = public.split_whitespace().nth(1).expect("key");
    let known = std::fs::read_to_string(lab.known_hosts()).expect("known_hosts");
    let mut line_no = 0;
    let replaced: Vec<String> = known
        .lines()
        .enumerate()
        .map(|(n, l)| {
            if l.starts_with(&ip) && l.contains("ssh-ed25519") {
                line_no = n + 1;
                format!("{ip} ssh-ed25519 {fake_key}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(
        line_no > 0,
        "no ed25519 entry for {ip} in {}",
        lab.known_hosts().display()
    );
    std::fs::write(lab.known_hosts(), replaced.join("\n") + "\n").expect("write known_hosts");
    let run = lab.wsdeploy("apply", &["--accept-new-host-keys"]);
    run.code(1)
        .stdout_has("UNREACHABLE")
        .stdout_has(&lab.known_hosts().display().to_string())
        .stdout_has(&format!("line {line_no}"));
    assert_eq!(lab.tree_sums(1, lab::WATCHED), before);
    lab.ok(1, "test ! -e /var/lib/wsdeploy");
}
