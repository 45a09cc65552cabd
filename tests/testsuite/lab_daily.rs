//! The daily loop on real lab hosts: drift detection and repair, rollback of a whole day
//! by date, and applying exactly a saved review.

use crate::support;

use support::lab::{self, Lab};
use support::project::Run;
use support::shared_fleet::SharedFleet;

/// The hosts of every test here (5: two, one and two), started together; each test takes
/// fresh ones.
static FLEET: SharedFleet = SharedFleet::new("daily", 5, &["--role", "odoo"]);

const DAY: &str = "2025-12-31";

/// `wsdeploy` against the lab with `WSDEPLOY_TODAY` set (the date backups are named after).
fn on_day(lab: &Lab, day: &str, subcommand: &str, extra: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary");
    cmd.arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(subcommand)
        .arg("-i")
        .arg(lab.inventory())
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args(extra)
        .env("NO_COLOR", "1")
        .env("WSDEPLOY_TODAY", day);
    let out = cmd.output().expect("wsdeploy runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn drift_is_found_and_repaired_then_the_day_is_rolled_back() {
    let lab = FLEET.take("daily", 2);
    let pristine: Vec<String> = (1..=2).map(|i| lab.config_sums(i)).collect();
    on_day(&lab, DAY, "apply", &[])
        .code(0)
        .stdout_has("2 changed");
    on_day(&lab, DAY, "drift", &[])
        .code(0)
        .stdout_has("2 in sync");

    // Someone hand-edits host 2 at 3 a.m. and breaks the WebSocket (the Connection header
    // goes); a value the operator may choose (a timeout) is theirs and is not drift.
    lab.ok(2, "sed -i '/proxy_set_header Connection $connection_upgrade;/d' /etc/nginx/sites-available/odoo.conf && nginx -s reload");
    let drift = on_day(&lab, "2026-01-02", "drift", &[]);
    drift
        .code(2)
        .stdout_has("── lab-2 (would change)")
        .stdout_has("1 would change, 1 in sync");
    assert!(
        drift.stdout.lines().any(|l| l.starts_with('+')
            && l.contains("proxy_set_header Connection $connection_upgrade;")),
        "the drift puts the Connection header back:\n{}",
        drift.stdout
    );
    let odoo_started = lab.odoo_started_at(2);
    let pids = lab.nginx_pids(2);
    let repair = on_day(&lab, "2026-01-02", "drift", &["--repair"]);
    repair.code(0).stdout_has("1 changed, 1 in sync");
    assert_eq!(
        lab.odoo_started_at(2),
        odoo_started,
        "repairing an nginx file restarted Odoo"
    );
    assert_ne!(
        lab.nginx_pids(2),
        pids,
        "the repaired nginx file was not reloaded"
    );
    on_day(&lab, "2026-01-02", "drift", &[])
        .code(0)
        .stdout_has("2 in sync");

    // Roll the whole day back: every file returns to its pre-day bytes.
    let rollback = on_day(&lab, "2026-01-03", "rollback", &["--date", DAY]);
    rollback.code(0).stdout_has("2 changed");
    for i in 1..=2 {
        assert_eq!(
            lab.config_sums(i),
            pristine[i - 1],
            "host {i} is not back to its pre-{DAY} bytes"
        );
        lab.assert_healthy(i);
        assert!(
            !lab.handshake(i, true).contains("101 Switching"),
            "host {i} still has the {DAY} change"
        );
    }
    // Rolling back the same day again changes nothing.
    on_day(&lab, "2026-01-03", "rollback", &["--date", DAY])
        .code(0)
        .stdout_has("2 in sync");
    // The rollback was journaled like any run.
    let listing = on_day(&lab, "2026-01-03", "backups", &[]);
    listing
        .code(0)
        .stdout_has("rollback")
        .stdout_has(&format!("/etc/nginx/nginx.conf.backup-{DAY}"));
}

#[test]
fn rollback_of_a_day_without_backups_touches_nothing() {
    let lab = FLEET.take("daily-none", 1);
    let before = lab.tree_sums(1, lab::WATCHED);
    on_day(&lab, DAY, "rollback", &["--date", "2020-01-01"])
        .code(1)
        .stdout_has("no backup dated 2020-01-01 on this host");
    assert_eq!(lab.tree_sums(1, lab::WATCHED), before);
}

#[test]
fn reviewed_apply_refuses_a_host_edited_after_the_review() {
    let lab = FLEET.take("review", 2);
    let review = tempfile::tempdir().expect("temp");
    let file = review.path().join("reviewed.json");
    let file_arg = file.display().to_string();
    on_day(&lab, DAY, "apply", &["--dry-run", "--save", &file_arg])
        .code(0)
        .stdout_has("2 would change");
    lab.ok(
        2,
        "printf '; edited after the review\\n' >> /etc/opticserp/odoo.conf",
    );
    let before2 = lab.config_sums(2);
    let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary");
    let out = cmd
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(["apply", "--reviewed", &file_arg, "--known-hosts"])
        .arg(lab.known_hosts())
        .env("NO_COLOR", "1")
        .output()
        .expect("wsdeploy runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    run.code(1)
        .stdout_has("1 changed, 1 failed (untouched)")
        .stdout_has("refusing to apply: /etc/opticserp/odoo.conf changed since the review (reviewed sha256 ");
    assert!(lab.handshake(1, true).contains("101 Switching Protocols"));
    assert_eq!(lab.config_sums(2), before2, "the refused host was touched");
}
