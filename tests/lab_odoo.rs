//! End to end on the lab: the Odoo WebSocket plan applied over real SSH to real hosts
//! (sshd, nginx, a Docker engine running the Odoo stand-in), with its idempotence, its
//! dry run and its transactions under injected faults.

mod support;

use support::lab::Lab;

#[test]
fn dry_run_then_apply_then_idempotent_rerun_on_three_hosts() {
    let lab = Lab::up("odoo", 3);
    let before: Vec<String> = (1..=3)
        .map(|i| lab.tree_sums(i, support::lab::WATCHED))
        .collect();

    // Dry run: diffs shown, nothing touched, no lock/journal/temp file.
    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("+\tmap $http_upgrade $connection_upgrade {")
        .stdout_has("3 would change");
    for i in 1..=3 {
        assert_eq!(
            lab.tree_sums(i, support::lab::WATCHED),
            before[i - 1],
            "dry run changed host {i}"
        );
        lab.ok(i, "test ! -e /var/lib/wsdeploy");
        lab.ok(i, "test -z \"$(find /etc -name '.wsdeploy.*')\"");
        assert!(
            !lab.handshake(i, true).contains("101 Switching Protocols"),
            "host {i} already upgrades before apply"
        );
    }

    // First apply.
    let first = lab.wsdeploy("apply", &[]);
    first.code(0).stdout_has("3 changed");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for i in 1..=3 {
        lab.assert_healthy(i);
        let ok = lab.handshake(i, true);
        assert!(ok.contains("101 Switching Protocols"), "host {i}: {ok}");
        assert!(
            ok.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "host {i}: {ok}"
        );
        let refused = lab.handshake(i, false);
        assert!(
            refused.contains("400") && refused.contains("origin"),
            "host {i}: {refused}"
        );
        assert_eq!(
            lab.ok(i, "grep -c '^websocket_url' /etc/opticserp/odoo.conf")
                .trim(),
            "1"
        );
        assert_eq!(
            lab.ok(i, "grep -c '^proxy_mode' /etc/opticserp/odoo.conf")
                .trim(),
            "1"
        );
        // Backups hold the exact pre-run bytes.
        let pre = &before[i - 1];
        for (file, backup) in [
            (
                "/etc/nginx/nginx.conf",
                format!("/etc/nginx/nginx.conf.backup-{today}"),
            ),
            (
                "/etc/nginx/sites-available/odoo.conf",
                format!("/etc/nginx/sites-available/odoo.conf.backup-{today}"),
            ),
            (
                "/etc/opticserp/odoo.conf",
                format!("/etc/opticserp/odoo.conf.backup-{today}"),
            ),
        ] {
            let sum = lab.ok(i, &format!("sha256sum < {backup} | cut -d' ' -f1"));
            assert!(
                pre.contains(&format!("{}  {file}", sum.trim())),
                "host {i}: {backup} differs from the pre-run {file}"
            );
        }
    }

    // Second apply: nothing changes, nothing reloads, nothing restarts.
    let pids: Vec<String> = (1..=3).map(|i| lab.nginx_pids(i)).collect();
    let starts: Vec<String> = (1..=3).map(|i| lab.odoo_started_at(i)).collect();
    let sums: Vec<String> = (1..=3)
        .map(|i| lab.tree_sums(i, support::lab::WATCHED))
        .collect();
    let second = lab.wsdeploy("apply", &[]);
    second.code(0).stdout_has("3 in sync");
    for i in 1..=3 {
        assert_eq!(
            lab.nginx_pids(i),
            pids[i - 1],
            "host {i}: nginx was reloaded"
        );
        assert_eq!(
            lab.odoo_started_at(i),
            starts[i - 1],
            "host {i}: Odoo was restarted"
        );
        assert_eq!(
            lab.tree_sums(i, support::lab::WATCHED),
            sums[i - 1],
            "host {i}: files changed"
        );
    }
}
