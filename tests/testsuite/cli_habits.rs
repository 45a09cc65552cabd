//! The command-line habits an Ansible user brings: `--check --diff`, `-v`/`-vv`/`-q`,
//! usage errors that exit 3 (bad input; 2 means drift), no panic on a closed pipe, a
//! `--json` summary with counts, result lines that stay on a terminal, `backups` without
//! duplicates, `schedule` keeping the connection flags, and every flag documented.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};

use clap::CommandFactory as _;
use support::history::recorded;
use support::project::Project;
use support::reliability::local_host_guard;

const BIN: &str = env!("CARGO_BIN_EXE_wsdeploy");

const INVENTORY: &str = "all:\n  children:\n    odoo:\n      hosts:\n        h1:\n          ansible_connection: local\n";

/// A local-connection project whose plan would change one file under the project
/// (dry runs and checks only: nothing here takes this machine's run lock).
/// Its runs have a state directory of their own (`host_state`); a test that runs the
/// binary through a terminal or a pipe (`BIN`, outside that namespace) holds this machine.
fn project() -> Project {
    let p = Project::with_own_state();
    p.file("inventories/production/hosts.yml", INVENTORY);
    p.file("root/app.conf", "old\n");
    let conf = p.path().join("root/app.conf");
    p.file(
        "plans/site.yml",
        &format!(
            "name: habits\nhosts: odoo\npreflight:\n  - verify: {{command: {{run: \"echo handshake-proof 101\"}}}}\nsteps:\n  - id: conf\n    file: {{path: {}, content: \"new\\n\"}}\n  - command: \"echo reload\"\n    if_changed: [conf]\n  - verify: {{command: {{run: \"printf 'first\\\\nsecond\\\\n'\", contains: second}}}}\n",
            conf.display()
        ),
    );
    p
}

#[test]
fn check_and_diff_are_accepted_together() {
    let p = project();
    p.run(&["apply", "-i", "production", "--check", "--diff"])
        .code(0)
        .stdout_has("-old")
        .stdout_has("+new")
        .stdout_has("1 would change");
    assert_eq!(
        std::fs::read_to_string(p.path().join("root/app.conf")).expect("read"),
        "old\n",
        "--check changed a file"
    );
    p.run(&["drift", "-i", "production", "--diff"]).code(2);
    assert_eq!(
        recorded(&p),
        [
            "dry-run exit=0 h1=would_change",
            "drift exit=2 h1=would_change"
        ]
    );
}

#[test]
fn usage_errors_exit_3_and_help_exits_0() {
    let p = project();
    p.run(&["apply", "-i", "production", "--bogus"])
        .code(3)
        .stderr_has("unexpected argument '--bogus'");
    p.run(&[]).code(3).stderr_has("Usage:");
    p.run(&["apply", "-i", "production", "--forks", "many"])
        .code(3)
        .stderr_has("invalid value 'many'");
    p.run(&["-q", "-v", "apply", "-i", "production"])
        .code(3)
        .stderr_has("cannot be used with");
    p.run(&["--help"]).code(0).stdout_has("Usage:");
    p.run(&["--version"]).code(0).stdout_has("wsdeploy ");
    assert_eq!(
        recorded(&p),
        [] as [&str; 0],
        "a usage error recorded a run"
    );
}

#[test]
fn quiet_prints_only_the_counts_and_diff_brings_the_diffs_back() {
    let p = project();
    let run = p.run(&["-q", "apply", "-i", "production", "--check"]);
    run.code(0);
    assert_eq!(run.stdout, "1 would change\n", "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    p.run(&["-q", "apply", "-i", "production", "--check", "--diff"])
        .code(0)
        .stdout_has("+new")
        .stdout_has("1 would change");
}

#[test]
fn verbose_levels_show_more() {
    let p = project();
    // (Every line of a multi-line step output under -v: unit-tested in report::progress.)
    let default = p.run(&["verify", "-i", "production"]);
    default
        .code(0)
        .stderr_has("h1: passed: check `echo handshake-proof 101` — handshake-proof 101");
    assert!(
        !default.stderr.contains("h1: connecting"),
        "{}",
        default.stderr
    );
    let v = p.run(&["-v", "verify", "-i", "production"]);
    v.code(0)
        .stderr_has("h1: passed: check `echo handshake-proof 101` — handshake-proof 101");
    assert!(!v.stderr.contains("h1: connecting"), "{}", v.stderr);
    p.run(&["verify", "-vv", "-i", "production"])
        .code(0)
        .stderr_has("h1: connecting")
        .stderr_has("h1: passed: check `printf");
}

#[test]
fn json_summary_is_an_object_with_counts() {
    let p = project();
    let run = p.run(&["apply", "-i", "production", "--check", "--json"]);
    run.code(0);
    let last = run.stdout.lines().last().expect("a summary line");
    let summary: serde_json::Value = serde_json::from_str(last).expect("JSON");
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["schema_version"], 1, "{summary}");
    assert_eq!(summary["hosts"], 1);
    assert_eq!(summary["exit"], 0);
    assert_eq!(summary["counts"]["would_change"], 1);
    for key in [
        "changed",
        "in_sync",
        "failed",
        "rolled_back",
        "rollback_failed",
        "unreachable",
        "not_run",
    ] {
        assert_eq!(summary["counts"][key], 0, "{key} in {summary}");
    }
    // docs/json.md names every field and count of the summary.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md"))
        .expect("read docs/json.md");
    let keys = summary.as_object().expect("an object").keys();
    let counts = summary["counts"].as_object().expect("counts").keys();
    for key in keys.chain(counts) {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/json.md lacks `{key}`"
        );
    }
    let drift = p.run(&["drift", "-i", "production", "--json"]);
    drift.code(2);
    let last: serde_json::Value =
        serde_json::from_str(drift.stdout.lines().last().expect("line")).expect("JSON");
    assert_eq!(last["exit"], 2);
}

#[test]
fn drift_on_one_host_is_exit_2_even_when_another_is_unreachable() {
    let p = project();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    p.file(
        "inventories/production/hosts.yml",
        &format!(
            "all:\n  children:\n    odoo:\n      hosts:\n        h1:\n          ansible_connection: local\n        gone:\n          ansible_host: 127.0.0.1\n          ansible_port: {closed_port}\n"
        ),
    );
    let text = p.run(&["drift", "-i", "production"]);
    text.code(2)
        .stdout_has("-old")
        .stdout_has("1 would change, 1 unreachable");
    let json = p.run(&["drift", "-i", "production", "--json"]);
    json.code(2);
    let summary: serde_json::Value =
        serde_json::from_str(json.stdout.lines().last().expect("a summary line")).expect("JSON");
    assert_eq!(summary["exit"], 2, "{summary}");
    assert_eq!(summary["counts"]["would_change"], 1, "{summary}");
    assert_eq!(summary["counts"]["unreachable"], 1, "{summary}");
    // Only unreachable, nothing drifted: exit 1.
    std::fs::write(p.path().join("root/app.conf"), "new\n").expect("write");
    p.run(&["drift", "-i", "production"])
        .code(1)
        .stdout_has("1 in sync, 1 unreachable");
}

/// Runs wsdeploy with stdout (and optionally stderr) connected to a pipe whose reader is
/// already gone, so every write fails with EPIPE.
fn run_into_closed_pipe(project: &Path, args: &[&str], close_stderr: bool) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut cmd = Command::new(BIN);
    cmd.arg("-C").arg(project).args(args).env("NO_COLOR", "1");
    if close_stderr {
        let (r2, w2) = std::io::pipe().expect("pipe");
        drop(r2);
        cmd.stderr(w2);
    } else {
        cmd.stderr(Stdio::piped());
    }
    let out = cmd.stdout(writer).output().expect("wsdeploy runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    let _guard = local_host_guard();
    let p = project();
    for args in [
        &["apply", "-i", "production", "--check", "--json"][..],
        &["apply", "-i", "production", "--check"][..],
        &["verify", "-i", "production"][..],
        &["inventory", "-i", "production", "--list"][..],
        &["apply", "-i", "production", "--list-hosts"][..],
        &["schema"][..],
        &["man"][..],
        &["--help"][..],
    ] {
        let (code, stderr) = run_into_closed_pipe(p.path(), args, false);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        let (code, _) = run_into_closed_pipe(p.path(), args, true);
        assert_eq!(code, 0, "{args:?} with stderr closed too");
    }
    let (code, _) = run_into_closed_pipe(p.path(), &["drift", "-i", "production"], true);
    assert_eq!(code, 2, "the run keeps its exit code");
    let (code, _) = run_into_closed_pipe(p.path(), &["apply", "--nope"], true);
    assert_eq!(code, 3);
    // The shell pipeline of the bug report.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{BIN}' -C '{}' apply -i production --check --json | head -1",
            p.path().display()
        ))
        .output()
        .expect("bash runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("{\"event\":"));
}

#[test]
fn result_lines_stay_on_a_terminal_after_the_spinners_end() {
    let _guard = local_host_guard();
    let p = project();
    let command = format!(
        "stty cols 160 rows 100; '{BIN}' -C '{}' verify -i production",
        p.path().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) is installed");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut screen = vt100::Parser::new(
        std::num::NonZeroU16::new(100).expect("rows"),
        std::num::NonZeroU16::new(160).expect("cols"),
        0,
    );
    screen.process(&out.stdout);
    let text = screen.screen().contents();
    assert!(
        text.contains("h1: passed: check `echo handshake-proof 101` — handshake-proof 101"),
        "the result line was erased; final screen:\n{text}"
    );
    assert!(
        text.contains("h1: passed: check `printf"),
        "final screen:\n{text}"
    );
    assert!(text.contains("1 in sync"), "final screen:\n{text}");
}

#[test]
fn a_terminal_stdout_with_stderr_in_a_file_still_gets_the_lines() {
    let _guard = local_host_guard();
    let p = project();
    let log = p.path().join("progress.log");
    let command = format!(
        "stty cols 160 rows 100; '{BIN}' -C '{}' verify -i production 2>'{}'",
        p.path().display(),
        log.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) is installed");
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&log).expect("progress log");
    assert!(
        text.contains("h1: passed: check `echo handshake-proof 101` — handshake-proof 101"),
        "{text}"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn backups_are_listed_once_when_two_paths_reach_one_file() {
    let p = project();
    let conf = p.path().join("root/app.conf");
    std::os::unix::fs::symlink(&conf, p.path().join("root/link.conf")).expect("symlink");
    p.file(
        "plans/two.yml",
        &format!(
            "name: two\nhosts: odoo\nsteps:\n  - file: {{path: {}, content: \"new\\n\"}}\n  - line: {{file: {}, line: new}}\n",
            conf.display(),
            p.path().join("root/link.conf").display()
        ),
    );
    // The run's manifest records the file once, by its real path; its backup is listed once.
    p.run(&["apply", "-i", "production", "plans/two.yml"])
        .code(0);
    let run = p.run(&["backups", "-i", "production", "plans/two.yml"]);
    run.code(0);
    let needle = format!(
        "backup {}.backup-{}",
        conf.display(),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    assert_eq!(
        run.stdout.matches(&needle).count(),
        1,
        "stdout:\n{}",
        run.stdout
    );
}

#[test]
fn schedule_keeps_the_connection_flags_in_the_unit() {
    let p = project();
    p.run(&[
        "schedule",
        "-i",
        "production",
        "--every",
        "15m",
        "--forks",
        "7",
        "--connect-timeout",
        "3",
        "--accept-new-host-keys",
        "--history",
        "/srv/ops/history.db",
    ])
    .code(0)
    .stdout_has(" drift -i production --forks 7 --connect-timeout 3 --accept-new-host-keys --history /srv/ops/history.db\n")
    .stdout_has("'--forks' '7' '--connect-timeout' '3' '--accept-new-host-keys' '--history' '/srv/ops/history.db'");
}

#[test]
fn every_flag_and_subcommand_is_documented_in_help() {
    let mut missing = Vec::new();
    let root = wsdeploy::cli::Cli::command();
    let mut stack = vec![(String::from("wsdeploy"), root)];
    while let Some((path, cmd)) = stack.pop() {
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && !matches!(arg.get_id().as_str(), "help" | "version") {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() && sub.get_name() != "help" {
                missing.push(format!("{path} {}", sub.get_name()));
            }
            stack.push((format!("{path} {}", sub.get_name()), sub.clone()));
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// The connection options are one group: every command that reaches hosts (and
/// `ssh-config`, which shows how it would) takes all four, listed together in the same
/// order, with the same help except where `ssh-config` says it connects to nothing.
#[test]
fn the_connection_options_are_one_group_in_every_command() {
    const GROUP: [&str; 4] = [
        "ssh_config",
        "known_hosts",
        "accept_new_host_keys",
        "connect_timeout",
    ];
    let root = wsdeploy::cli::Cli::command();
    let apply = root.find_subcommand("apply").expect("apply");
    let help_in = |cmd: &clap::Command, id: &str| {
        cmd.get_arguments()
            .find(|arg| arg.get_id() == id)
            .and_then(|arg| arg.get_help())
            .map(ToString::to_string)
    };
    let mut with_group = Vec::new();
    for sub in root.get_subcommands() {
        let ids: Vec<&str> = sub
            .get_arguments()
            .map(|arg| arg.get_id().as_str())
            .collect();
        let Some(start) = ids.iter().position(|id| *id == GROUP[0]) else {
            assert!(
                !ids.iter().any(|id| GROUP.contains(id)),
                "{}: a part of the connection options: {ids:?}",
                sub.get_name()
            );
            continue;
        };
        assert_eq!(
            ids.get(start..start + GROUP.len()),
            Some(&GROUP[..]),
            "{}: the connection options are not listed together: {ids:?}",
            sub.get_name()
        );
        for id in GROUP {
            if sub.get_name() == "ssh-config"
                && matches!(id, "accept_new_host_keys" | "connect_timeout")
            {
                assert!(
                    help_in(sub, id).is_some_and(|help| help.starts_with("As for apply: ")),
                    "ssh-config {id}"
                );
            } else {
                assert_eq!(
                    help_in(sub, id),
                    help_in(apply, id),
                    "{} {id}",
                    sub.get_name()
                );
            }
        }
        with_group.push(sub.get_name().to_owned());
    }
    assert_eq!(
        with_group,
        [
            "apply",
            "rollback",
            "drift",
            "verify",
            "backups",
            "schedule",
            "ssh-config"
        ]
    );
}

/// The result words are coloured on a terminal (a real pty, through util-linux `script`),
/// and not when `NO_COLOR` is set.
#[test]
fn status_words_are_coloured_on_a_terminal_unless_no_color() {
    let p = Project::new();
    p.file(
        "inventories/t/hosts.yml",
        "all:\n  hosts:\n    gone:\n      ansible_host: 192.0.2.1\n      ansible_port: 1\n",
    );
    p.file(
        "plans/site.yml",
        "name: p\nhosts: all\nsteps:\n  - command: \"true\"\n",
    );
    let on_a_terminal = |no_color: bool| {
        let line = format!(
            "{} -C {} apply -i t --connect-timeout 1",
            env!("CARGO_BIN_EXE_wsdeploy"),
            p.path().display()
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .expect("util-linux `script` runs (it gives wsdeploy a terminal)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal(false);
    assert!(
        coloured.contains("── gone (\x1b[31mUNREACHABLE\x1b[0m)"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains("\x1b[31mUNREACHABLE           \x1b[0m"),
        "the table's word is not coloured: {coloured:?}"
    );
    let plain = on_a_terminal(true);
    assert!(plain.contains("── gone (UNREACHABLE)"), "{plain:?}");
    assert!(!plain.contains("\x1b[31m"), "{plain:?}");
}

/// The default `--forks` is the same number in the code, the help and the documents that
/// say why it was chosen.
#[test]
fn the_default_forks_is_the_documented_one() {
    let default = wsdeploy::cli::DEFAULT_FORKS;
    assert_eq!(
        default, 200,
        "changed the default: update docs/operations.md (\"Many hosts\")"
    );
    project()
        .run(&["apply", "--help"])
        .code(0)
        .stdout_has(&format!(
            "[default: {default}, or `forks` in wsdeploy.toml]"
        ));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let operations = std::fs::read_to_string(root.join("docs/operations.md")).expect("read");
    assert!(operations.contains(&format!("`--forks` (default {default})")));
    let cli = std::fs::read_to_string(root.join("docs/cli.md")).expect("read");
    assert!(cli.contains(&format!("`forks` (default {default};")));
}
