//! `wsdeploy schedule` emits systemd units that systemd itself accepts, and a cron line.

use crate::support;

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

/// `-e` values with `%` and `$` reach the scheduled run as written (systemd: `%%`, `$$`;
/// cron: `\%`), and the service holding them is root-only (0600), also over an existing
/// 0644 one.
#[test]
fn extra_vars_are_escaped_for_systemd_and_cron_and_the_service_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let p = project();
    let units = tempfile::tempdir().expect("temp");
    let dir = units.path().display().to_string();
    let service = units.path().join("wsdeploy-drift-production.service");
    std::fs::write(&service, "old").expect("old unit");
    std::fs::set_permissions(&service, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let value = "db_password=50%off$HOME";
    let args = [
        "schedule",
        "-i",
        "production",
        "-e",
        value,
        "--every",
        "15m",
    ];
    let mut install = args.to_vec();
    install.extend(["--install", "--unit-dir", &dir]);
    p.run(&install).code(0);
    let mode = std::fs::metadata(&service)
        .expect("service")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the service holding -e values is {mode:o}");
    let text = std::fs::read_to_string(&service).expect("service");
    assert!(
        text.contains(" -e \"db_password=50%%off$$HOME\"\n"),
        "{text}"
    );
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(units.path().join("wsdeploy-drift-production.timer"))
        .arg(&service)
        .output()
        .expect("systemd-analyze is installed (apt-get install systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    p.run(&args)
        .code(0)
        .stdout_has("'-e' 'db_password=50\\%off$HOME'");
}

/// An inventory path holding a newline cannot forge a unit line (`ExecStartPre=` would run
/// as root on every timer tick): refused before anything is printed or installed.
#[test]
fn a_newline_in_the_inventory_path_cannot_forge_a_unit_line() {
    let p = project();
    let forged = "inv\nExecStartPre=/bin/touch /tmp/wsdeploy-forged-unit-line";
    p.file(
        forged,
        "all:\n  children:\n    odoo:\n      hosts:\n        odoo-1:\n          ansible_connection: local\n",
    );
    let units = tempfile::tempdir().expect("temp");
    let dir = units.path().display().to_string();
    let run = p.run(&[
        "schedule",
        "-i",
        forged,
        "--every",
        "15m",
        "--install",
        "--unit-dir",
        &dir,
    ]);
    run.code(3)
        .stderr_has("holds a newline or another control character");
    assert!(
        !run.stdout.contains("ExecStartPre="),
        "nothing printed: {}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_dir(units.path()).expect("unit dir").count(),
        0,
        "no unit installed"
    );
}
