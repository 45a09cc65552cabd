//! The bench's light lab hosts (`lab up --light`: sshd, nginx and the Odoo stand-in as a
//! plain process, no Docker engine running) converge with the shipped Odoo plan and the
//! inventory `lab up` writes (`odoo_runtime: process`, `odoo_restart_cmd:
//! /opt/lab-light/odoo-restart`): the first apply changes every host and restarts the
//! stand-in once (a new process that reads the new `proxy_mode`), the handshake through
//! nginx answers 101 with Origin and 400 without, and a second apply is in sync without a
//! restart.

use crate::support;

use support::lab::Lab;

/// The stand-in's pid on host `i`.
fn standin_pid(lab: &Lab, i: usize) -> String {
    lab.ok(i, "cat /run/odoo-standin.pid").trim().to_owned()
}

#[test]
fn light_hosts_converge_with_the_odoo_plan_and_restart_the_standin_process() {
    let lab = Lab::up_light("light", 2);
    for i in 1..=2 {
        lab.ok(i, "! pgrep -x dockerd && ! pgrep -x containerd");
        // Before: nginx does not pass the upgrade on (the stand-in answers 400).
        let before = lab.handshake(i, true);
        assert!(!before.starts_with("HTTP/1.1 101"), "{before}");
    }
    let before: Vec<String> = (1..=2).map(|i| standin_pid(&lab, i)).collect();
    lab.wsdeploy("apply", &["plans/odoo-websocket.yml"])
        .code(0)
        .stdout_has("2 changed");
    for i in 1..=2 {
        let pid = standin_pid(&lab, i);
        assert_ne!(
            pid,
            before[i - 1],
            "host {i}: the stand-in was not restarted"
        );
        lab.ok(i, &format!("kill -0 {pid}"));
        lab.ok(i, "grep -q 'proxy_mode: True' /var/log/odoo-standin.log");
        let with_origin = lab.handshake(i, true);
        assert!(with_origin.starts_with("HTTP/1.1 101"), "{with_origin}");
        let without = lab.handshake(i, false);
        assert!(without.starts_with("HTTP/1.1 400"), "{without}");
    }
    let restarted: Vec<String> = (1..=2).map(|i| standin_pid(&lab, i)).collect();
    lab.wsdeploy("apply", &["plans/odoo-websocket.yml"])
        .code(0)
        .stdout_has("2 in sync");
    for i in 1..=2 {
        assert_eq!(
            standin_pid(&lab, i),
            restarted[i - 1],
            "host {i}: restarted again"
        );
    }
}
