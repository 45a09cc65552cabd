//! End to end on the lab: the Odoo WebSocket plan applied over real SSH to real hosts
//! (sshd, nginx, a Docker engine running the Odoo stand-in), with its idempotence, its
//! dry run and its transactions under injected faults.

mod support;

use support::lab::Lab;

const WATCHED: &str = "/etc/nginx /etc/opticserp";

fn handshake(lab: &Lab, i: usize, origin: bool) -> String {
    let ip = lab.ip(i);
    let origin = if origin {
        format!("-H 'Origin: http://{ip}'")
    } else {
        String::new()
    };
    lab.sh(
        i,
        &format!(
            "curl -s -i --max-time 2 -H 'Host: {ip}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' {origin} 'http://127.0.0.1/websocket?version=17.0-3'"
        ),
    )
    .1
}

fn healthy(lab: &Lab, i: usize) {
    lab.ok(i, "nginx -t");
    lab.ok(i, "curl -sf --max-time 5 http://127.0.0.1:8069/web/health");
    lab.ok(
        i,
        "test \"$(docker inspect -f '{{.State.Running}}' opticserp_odoo)\" = true",
    );
}

fn nginx_pids(lab: &Lab, i: usize) -> String {
    lab.ok(
        i,
        "cat /run/nginx.pid; pgrep -P \"$(cat /run/nginx.pid)\" | sort",
    )
}

fn odoo_started_at(lab: &Lab, i: usize) -> String {
    lab.ok(i, "docker inspect -f '{{.State.StartedAt}}' opticserp_odoo")
}

#[test]
fn dry_run_then_apply_then_idempotent_rerun_on_three_hosts() {
    let lab = Lab::up("odoo", 3);
    let before: Vec<String> = (1..=3).map(|i| lab.tree_sums(i, WATCHED)).collect();

    // Dry run: diffs shown, nothing touched, no lock/journal/temp file.
    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("+\tmap $http_upgrade $connection_upgrade {")
        .stdout_has("3 would change");
    for i in 1..=3 {
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            before[i - 1],
            "dry run changed host {i}"
        );
        lab.ok(i, "test ! -e /var/lib/wsdeploy");
        lab.ok(i, "test -z \"$(find /etc -name '.wsdeploy.*')\"");
        assert!(
            !handshake(&lab, i, true).contains("101 Switching Protocols"),
            "host {i} already upgrades before apply"
        );
    }

    // First apply.
    let first = lab.wsdeploy("apply", &[]);
    first.code(0).stdout_has("3 changed");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for i in 1..=3 {
        healthy(&lab, i);
        let ok = handshake(&lab, i, true);
        assert!(ok.contains("101 Switching Protocols"), "host {i}: {ok}");
        assert!(
            ok.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "host {i}: {ok}"
        );
        let refused = handshake(&lab, i, false);
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
    let pids: Vec<String> = (1..=3).map(|i| nginx_pids(&lab, i)).collect();
    let starts: Vec<String> = (1..=3).map(|i| odoo_started_at(&lab, i)).collect();
    let sums: Vec<String> = (1..=3).map(|i| lab.tree_sums(i, WATCHED)).collect();
    let second = lab.wsdeploy("apply", &[]);
    second.code(0).stdout_has("3 in sync");
    for i in 1..=3 {
        assert_eq!(
            nginx_pids(&lab, i),
            pids[i - 1],
            "host {i}: nginx was reloaded"
        );
        assert_eq!(
            odoo_started_at(&lab, i),
            starts[i - 1],
            "host {i}: Odoo was restarted"
        );
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            sums[i - 1],
            "host {i}: files changed"
        );
    }
}
