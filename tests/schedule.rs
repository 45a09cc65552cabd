//! `wsdeploy schedule` emits systemd units that systemd itself accepts, and a cron line.

mod support;

use support::project::Project;

fn project() -> Project {
    let p = Project::new();
    p.file(
        "inventories/production/hosts.yml",
        "all:\n  children:\n    odoo:\n      hosts:\n        odoo-1:\n          ansible_connection: local\n",
    );
    p.file(
        "plans/site.yml",
        "name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n",
    );
    p
}

#[test]
fn installed_units_pass_systemd_analyze_verify() {
    let p = project();
    let units = tempfile::tempdir().expect("temp");
    let dir = units.path().display().to_string();
    p.run(&[
        "schedule",
        "-i",
        "production",
        "--every",
        "15m",
        "--repair",
        "--install",
        "--unit-dir",
        &dir,
    ])
    .code(0)
    .stdout_has(
        "systemctl daemon-reload && systemctl enable --now wsdeploy-repair-production.timer",
    );
    let service = units.path().join("wsdeploy-repair-production.service");
    let timer = units.path().join("wsdeploy-repair-production.timer");
    let text = std::fs::read_to_string(&service).expect("service written");
    assert!(text.contains(" drift -i production --repair\n"), "{text}");
    assert!(
        std::fs::read_to_string(&timer)
            .expect("timer written")
            .contains("OnUnitActiveSec=15min")
    );
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&timer)
        .arg(&service)
        .output()
        .expect("systemd-analyze is installed (apt-get install systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn printed_schedule_has_units_and_a_cron_line() {
    let p = project();
    p.run(&["schedule", "-i", "production", "--every", "1h"])
        .code(0)
        .stdout_has("# /etc/systemd/system/wsdeploy-drift-production.service")
        .stdout_has("OnUnitActiveSec=60min")
        .stdout_has("0 */1 * * * root cd ");
}

#[test]
fn bad_interval_is_bad_input() {
    let p = project();
    p.run(&["schedule", "-i", "production", "--every", "15"])
        .code(3)
        .stderr_has("--every `15`: expected a duration such as 15m, 1h, 2h30m or 1d");
}
