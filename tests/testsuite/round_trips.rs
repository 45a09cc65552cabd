//! How many SSH connections and sessions (one exec or one long-lived process each) one
//! host costs, counted in the log of a real `sshd` (`LogLevel VERBOSE`: one
//! `Accepted publickey` per connection, one `Starting session` per session): a first
//! apply that edits two files, runs two commands and a check, and a no-op re-run. A change
//! that adds a round trip to either fails here; one that removes one updates the numbers.
//!
//! The plan reads three `facts:` sources (an INI key, whether a file exists, a systemd
//! unit's command line) and has a preflight command, so every phase is on the path. It
//! has no nginx step: no `nginx -T` and no stored copy of it to refresh.

use crate::support;

use serde_json::json;
use support::reliability::{LocalHost, local_host_guard};
use support::sshd::{Sshd, SshdOptions};

fn plan() -> serde_json::Value {
    json!({
        "name": "round-trips",
        "hosts": "odoo",
        "facts": [
            {"name": "conf_workers", "ini": "{{ odoo_conf }}", "section": "options", "key": "workers", "type": "integer", "default": 0},
            {"name": "site_found", "exists": "{{ site_conf }}", "default": false},
            {"name": "cmdline_workers", "cmdline": "wsdeploy-no-such-unit", "key": "workers", "type": "integer", "default": -1},
        ],
        "preflight": [
            {"id": "conf_present", "command": "test -f {{ odoo_conf | quote }}"},
        ],
        "steps": [
            {"id": "odoo_conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True", "workers": "{{ conf_workers }}"}}},
            {"id": "site_config", "json": {"file": "{{ site_config }}", "set": {"socketio_port": 9000}}},
            {"id": "reload", "command": "true", "if_changed": ["site_config"]},
            {"id": "restart", "command": "true", "if_changed": ["odoo_conf"]},
            {"id": "check", "verify": {"command": {"run": "grep -c proxy_mode {{ odoo_conf | quote }}", "contains": "1"}}},
        ],
    })
}

/// Connections and sessions in `log` (the part of sshd's log one run wrote).
fn counted(log: &str) -> (usize, usize) {
    (
        log.matches("Accepted publickey").count(),
        log.matches("Starting session").count(),
    )
}

/// This machine as a root host reached through `sshd`.
fn host_through(sshd: &Sshd) -> LocalHost {
    let mut host = LocalHost::new("root");
    host.reach_through_sshd(sshd, &sshd.user);
    host
}

/// Runs `apply` on `host` through `sshd` (its key trusted), expecting `outcome` in the
/// closing line: the part of sshd's log the run wrote.
fn apply_logged(sshd: &Sshd, host: &LocalHost, outcome: &str) -> String {
    let known = sshd.trusted_known_hosts().display().to_string();
    let before = sshd.log().len();
    host.run("apply", &["--known-hosts", known.as_str()])
        .code(0)
        .stdout_has(outcome);
    sshd.log()[before..].to_owned()
}

#[test]
fn a_first_apply_and_a_no_op_rerun_cost_a_fixed_number_of_round_trips() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let host = host_through(&sshd);
    host.plan_json(&plan());

    let first = apply_logged(&sshd, &host, "1 changed");
    let rerun = apply_logged(&sshd, &host, "1 in sync");

    // First apply: one connection (the run lock's holder runs in a session of it, see
    // `Transport::spawn`); sessions: the facts with the gather (1: the plan's
    // files do not depend on its facts), the lock's holder (1, which also runs the
    // commit: `HostLock::run`), the preflight command (1), journal + first writes (1),
    // the two commands in one exec (1: no check between them, `host::sequence`), the
    // check (1).
    assert_eq!(
        counted(&first),
        (1, 6),
        "first apply: (connections, sessions) changed; sshd's log:\n{first}"
    );
    // No-op re-run: one connection; the facts with the gather, in one session.
    assert_eq!(
        counted(&rerun),
        (1, 1),
        "no-op re-run: (connections, sessions) changed; sshd's log:\n{rerun}"
    );
}

/// A plan whose edited file is named by a fact: the gather read with the facts' defaults
/// is for another file, so it is not used and the gather runs in a session of its own.
#[test]
fn a_file_named_by_a_fact_is_gathered_after_the_facts_are_read() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let host = host_through(&sshd);
    let facts_file = host.root.join("facts.json");
    let conf = host.odoo_conf.display().to_string();
    std::fs::write(&facts_file, json!({ "conf": conf }).to_string()).expect("facts.json");
    let default_conf = host.root.join("etc/opticserp/default.conf");
    host.plan_json(&json!({
        "name": "fact-named-file",
        "hosts": "odoo",
        "facts": [
            {"name": "conf_path", "json": facts_file.display().to_string(), "key": "conf", "type": "path", "default": default_conf.display().to_string()},
        ],
        "steps": [
            {"id": "odoo_conf", "ini": {"file": "{{ conf_path }}", "section": "options", "set": {"proxy_mode": "True"}}},
        ],
    }));
    apply_logged(&sshd, &host, "1 changed");
    let rerun = apply_logged(&sshd, &host, "1 in sync");

    let text = std::fs::read_to_string(&host.odoo_conf).expect("odoo.conf");
    assert!(text.contains("proxy_mode = True"), "{text}");
    assert!(!default_conf.exists(), "the default's file was written");
    assert_eq!(
        counted(&rerun),
        (1, 2),
        "no-op re-run: the facts (with a gather of the default's file), then the gather; sshd's log:\n{rerun}"
    );
}

/// With sshd's `MaxSessions 1` the run lock's holder, started in a session of the host's
/// connection, would leave no session for anything else: the lock is let go before
/// anything is written and taken again on a second connection (one more connection and
/// one more holder session than on a host that allows more sessions).
#[test]
fn with_max_sessions_1_the_lock_moves_to_a_second_connection_before_anything_is_written() {
    let _guard = local_host_guard();
    let sshd = Sshd::start_with(&SshdOptions {
        max_sessions: 1,
        ..SshdOptions::default()
    });
    let host = host_through(&sshd);
    host.plan_json(&plan());

    let first = apply_logged(&sshd, &host, "1 changed");
    // The holder's first session on the shared connection, then its session on a
    // connection of its own: as above, plus one connection and one session.
    assert_eq!(
        counted(&first),
        (2, 7),
        "first apply under MaxSessions 1: (connections, sessions) changed; sshd's log:\n{first}"
    );
    apply_logged(&sshd, &host, "1 in sync");
}

/// A configuration test and the reload after it, with no check between them, go to the
/// host as one exec: when the test fails there, the host runs nothing after it, the
/// report names the test, the file gets its exact previous bytes back and the rollback
/// repeats the test but never the reload (the journal's `ran` has the test alone).
#[test]
fn a_failing_test_in_the_folded_exec_is_rolled_back_and_the_reload_never_runs() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let host = host_through(&sshd);
    let reloaded = host.root.join("reloaded");
    let reload = format!("touch {}", reloaded.display());
    host.plan_json(&json!({
        "name": "folded-test",
        "hosts": "odoo",
        "steps": [
            {"id": "odoo_conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
            {"id": "conf_test", "command": "echo 'emerg: unexpected end of file' >&2; exit 1", "if_changed": ["odoo_conf"]},
            {"id": "conf_reload", "command": reload, "if_changed": ["odoo_conf"]},
        ],
    }));
    let before = std::fs::read(&host.odoo_conf).expect("odoo.conf");
    let runs_before = host.runs();
    let known = sshd.trusted_known_hosts().display().to_string();
    let logged = sshd.log().len();
    host.run("apply", &["--known-hosts", known.as_str()])
        .code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("conf_test")
        .stdout_has("emerg: unexpected end of file");
    let log = sshd.log()[logged..].to_owned();

    assert_eq!(std::fs::read(&host.odoo_conf).expect("odoo.conf"), before);
    assert!(!reloaded.exists(), "the reload ran after a failed test");
    let runs: Vec<String> = host.runs().difference(&runs_before).cloned().collect();
    let [run] = runs.as_slice() else {
        panic!("one new run expected: {runs:?}");
    };
    let ran = std::fs::read_to_string(host.runs_dir().join(run).join("ran")).expect("ran");
    assert_eq!(ran, "1\n", "the journal's started commands: the test alone");
    // The gather, the lock's holder, journal + the write, the test and the reload in
    // one exec, then the rollback: the restore, the test repeated, the state.
    assert_eq!(
        counted(&log),
        (1, 7),
        "(connections, sessions) changed; sshd's log:\n{log}"
    );
}

/// The shape of the bench's light fleet plan: the `map` in nginx.conf, the `location` in
/// the site, the preflight `nginx -t` (proven by the gather's `nginx -T`), then `nginx -t`
/// and the reload (`true` here: no nginx runs). With `odoo`, the Odoo plan's additions:
/// its `odoo.conf` preflight, the `odoo.conf` write, the restart and the `ss` check.
fn bench_shaped(odoo: bool) -> serde_json::Value {
    let mut preflight =
        vec![json!({"id": "nginx_valid_before", "command": "{{ nginx_test_cmd }}"})];
    let mut steps = vec![
        json!({"id": "map", "nginx": {"file": "{{ nginx_conf }}", "context": "http", "ensure": "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n"}}),
        json!({"id": "location", "nginx": {"file": "{{ site_conf }}", "context": "server", "host": "203.0.113.10", "port": 80, "ensure": "location /websocket {\n    proxy_pass http://127.0.0.1:8072;\n    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection $connection_upgrade;\n}\n"}}),
        json!({"id": "nginx_test", "command": "{{ nginx_test_cmd }}", "if_changed": ["map", "location"]}),
        json!({"id": "nginx_reload", "command": "true", "if_changed": ["map", "location"]}),
    ];
    if odoo {
        preflight
            .push(json!({"id": "odoo_conf_present", "command": "test -f {{ odoo_conf | quote }}"}));
        steps.extend([
            json!({"id": "odoo_conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}}),
            json!({"id": "odoo_restart", "command": "true", "if_changed": ["odoo_conf"]}),
            json!({"id": "listening", "verify": {"command": {"run": "ss -ltn", "contains": "Local Address"}}}),
        ]);
    }
    json!({
        "name": "bench-shaped",
        "hosts": "odoo",
        "preflight": preflight,
        "steps": steps,
    })
}

/// A first apply of the bench's plan shape: the gather, the lock's holder (which runs
/// the commit too), journal + the nginx writes, `nginx -t` and the reload in one exec
/// (6 before the commands were sent together and the commit given to the holder); the
/// Odoo shape adds its preflight command, folds the `odoo.conf` write and the restart
/// into the same exec, then the `ss` check (10 before).
#[test]
fn a_first_apply_of_the_bench_plans_shape_costs_four_sessions_and_six_with_odoo() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    for (odoo, sessions) in [(false, 4), (true, 6)] {
        let host = host_through(&sshd);
        host.plan_json(&bench_shaped(odoo));
        let first = apply_logged(&sshd, &host, "1 changed");
        assert_eq!(
            counted(&first),
            (1, sessions),
            "odoo: {odoo}: (connections, sessions) changed; sshd's log:\n{first}"
        );
        let site = std::fs::read_to_string(&host.site_conf).expect("site");
        assert!(site.contains("location /websocket"), "{site}");
        apply_logged(&sshd, &host, "1 in sync");
    }
}

/// A check after an edit nginx's stored dump watches (the plan with facts, so the gather
/// is read ahead with them): the gather read ahead finds the stored copy stale, and the
/// one gather after it runs `nginx -T` at once instead of trying the stale copy again
/// (3 sessions before).
#[test]
fn a_stale_stored_dump_found_ahead_costs_one_more_session_not_two() {
    let _guard = local_host_guard();
    let sshd = Sshd::start();
    let host = host_through(&sshd);
    let mut plan = bench_shaped(false);
    plan["facts"] = json!([
        {"name": "conf_workers", "ini": "{{ odoo_conf }}", "section": "options", "key": "workers", "type": "integer", "default": 0},
    ]);
    host.plan_json(&plan);
    apply_logged(&sshd, &host, "1 changed");
    let converged = apply_logged(&sshd, &host, "1 in sync");
    assert_eq!(
        counted(&converged),
        (1, 1),
        "a converged check uses the stored copy; sshd's log:\n{converged}"
    );
    let site = std::fs::read_to_string(&host.site_conf).expect("site");
    std::fs::write(&host.site_conf, format!("{site}# edited by hand\n")).expect("edit");
    let known = sshd.trusted_known_hosts().display().to_string();
    let before = sshd.log().len();
    host.run("apply", &["--dry-run", "--known-hosts", known.as_str()])
        .code(0)
        .stdout_has("in sync");
    let log = sshd.log()[before..].to_owned();
    assert_eq!(
        counted(&log),
        (1, 2),
        "(connections, sessions) changed; sshd's log:\n{log}"
    );
}
