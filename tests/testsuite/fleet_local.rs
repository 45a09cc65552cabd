//! Fleet behaviour on `connection: local` hosts: --serial batches and --max-fail stop later
//! batches; one host's failure never stops the others of its batch; a local apply is a
//! real transaction (journal, backup, rollback) on this machine.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use support::history::recorded;
use support::project::Project;

fn fleet(hosts: &[&str], plan: &str) -> Project {
    // Local hosts share one run lock; the project's runs have a state directory of
    // their own on this machine (`host_state`).
    let p = Project::with_own_state();
    let mut inv = String::from("all:\n  children:\n    web:\n      hosts:\n");
    for h in hosts {
        inv.push_str(&format!(
            "        {h}:\n          ansible_connection: local\n"
        ));
    }
    inv.push_str(&format!(
        "      vars:\n        root: {}\n",
        p.path().join("root").display()
    ));
    p.file("inventories/test/hosts.yml", &inv);
    p.file("plans/site.yml", plan);
    for h in hosts {
        p.file(&format!("root/{h}/app.conf"), "[options]\nworkers = 2\n");
    }
    p
}

const PLAN: &str = "name: fleet\nhosts: web\nsteps:\n  - id: conf\n    ini: {file: \"{{ root }}/{{ inventory_hostname }}/app.conf\", set: {proxy_mode: \"True\"}}\n  - verify:\n      command: {run: \"test {{ inventory_hostname }} != bad\"}\n    retries: 1\n    hint: the host named bad always fails\n";

#[cfg(feature = "host-tests")]
#[test]
fn max_fail_stops_later_batches_and_failed_hosts_are_rolled_back() {
    let p = fleet(&["bad", "good1", "good2"], PLAN);
    let run = p.run(&[
        "apply",
        "-i",
        "test",
        "--serial",
        "1",
        "--max-fail",
        "0%",
        "--forks",
        "1",
    ]);
    run.code(1)
        .stdout_has("── bad (FAILED (rolled back))")
        .stdout_has("hint: the host named bad always fails")
        .stdout_has("1 failed and rolled back, 2 not run (--max-fail)");
    for h in ["bad", "good1", "good2"] {
        let text =
            std::fs::read_to_string(p.path().join(format!("root/{h}/app.conf"))).expect("read");
        assert_eq!(text, "[options]\nworkers = 2\n", "{h} changed");
    }
    assert_eq!(
        recorded(&p),
        ["apply exit=1 bad=rolled_back good1=not_run good2=not_run"]
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_failing_host_does_not_stop_its_batch() {
    let p = fleet(&["bad", "good1", "good2"], PLAN);
    let run = p.run(&["apply", "-i", "test", "--forks", "1"]);
    run.code(1)
        .stdout_has("2 changed, 1 failed and rolled back");
    assert_eq!(
        std::fs::read_to_string(p.path().join("root/bad/app.conf")).expect("read"),
        "[options]\nworkers = 2\n"
    );
    assert_eq!(
        std::fs::read_to_string(p.path().join("root/good1/app.conf")).expect("read"),
        "[options]\nworkers = 2\nproxy_mode = True\n"
    );
    let today = chrono::Local::now().format("%Y-%m-%d");
    let backup = p.path().join(format!("root/good1/app.conf.backup-{today}"));
    assert_eq!(
        std::fs::read_to_string(backup).expect("backup exists"),
        "[options]\nworkers = 2\n"
    );
    // The second run has nothing to do.
    p.run(&["apply", "-i", "test", "--forks", "1", "--limit", "good*"])
        .code(0)
        .stdout_has("2 in sync");
    assert_eq!(
        recorded(&p),
        [
            "apply exit=1 bad=rolled_back good1=changed good2=changed",
            "apply exit=0 good1=in_sync good2=in_sync"
        ]
    );
}

#[test]
fn bad_serial_and_max_fail_values_are_bad_input() {
    let p = fleet(&["good1"], PLAN);
    p.run(&["apply", "-i", "test", "--serial", "0"])
        .code(3)
        .stderr_has("--serial `0`: expected a host count (5) or a percentage (25%)");
    p.run(&["apply", "-i", "test", "--max-fail", "lots"])
        .code(3)
        .stderr_has("--max-fail `lots`: expected a percentage such as 20%");
}
