//! A hostile state directory: `/var/lib/wsdeploy` that is a symlink, that its group or
//! others may write, or that another user owns is where root would keep pre-images of the
//! files it edits, the run lock and journal it trusts (an `in_progress` run is undone from
//! its manifest) and the dump cache it sources. Each is refused before anything is read
//! from it or written to it, with an error naming the directory and why, and the host is
//! left untouched. Each case runs in a mount namespace of its own (`host_state`), so the
//! machine's real directory is never changed.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;
use support::host_state::{HOST_STATE_DIR, PrivateState};
use support::reliability::{LocalHost, tree_sums};

/// `nobody`.
const NOBODY: u32 = 65534;

/// A host whose one ini edit would change its `odoo.conf`.
fn host(state: PrivateState) -> LocalHost {
    let mut host = LocalHost::new("host");
    host.project.state = Some(state);
    host.plan_json(&json!({"name": "state", "hosts": "odoo", "steps": [
        {"id": "conf", "ini": {"file": "{{ odoo_conf }}", "set": {"workers": "7"}}},
    ]}));
    host
}

/// Applies the plan on `state` and checks that it was refused for `why`, with the host's
/// files and every file under `watched` as they were.
fn refused(state: PrivateState, watched: &Path, why: &str) {
    refused_to(
        state,
        watched,
        why,
        &[("apply", &["--dry-run"]), ("apply", &[])],
    );
}

/// [`refused`] for each of `commands` (a subcommand and its arguments).
fn refused_to(state: PrivateState, watched: &Path, why: &str, commands: &[(&str, &[&str])]) {
    let host = host(state);
    let before = (host.sums(), tree_sums(watched), mode(watched));
    for (subcommand, args) in commands {
        let run = host.run(subcommand, args);
        let args = (subcommand, args);
        assert_ne!(run.code, 0, "{args:?} ran\n{}\n{}", run.stdout, run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        for needle in [
            &format!("state directory {HOST_STATE_DIR}"),
            why,
            "nothing was read or written",
        ] {
            assert!(all.contains(needle), "{args:?}: no {needle:?} in\n{all}");
        }
    }
    assert_eq!(
        before,
        (host.sums(), tree_sums(watched), mode(watched)),
        "the host changed"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(feature = "host-tests")]
#[test]
fn a_state_dir_that_is_a_symlink_is_refused_and_its_target_untouched() {
    // `/var/lib` of the namespace holds only `wsdeploy`, a symlink to a directory a user owns.
    let dir = tempfile::tempdir().expect("temp dir");
    let var_lib = dir.path().join("lib");
    let target = dir.path().join("theirs");
    std::fs::create_dir(&var_lib).expect("mkdir");
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::write(target.join("planted"), "x").expect("write");
    std::os::unix::fs::chown(&target, Some(NOBODY), Some(NOBODY)).expect("chown");
    std::os::unix::fs::symlink(&target, var_lib.join("wsdeploy")).expect("symlink");
    let state = PrivateState::mounted(dir, var_lib, "/var/lib");
    let target = state.root().join("theirs");
    refused(
        state,
        &target,
        &format!("{HOST_STATE_DIR} is a symbolic link"),
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_state_dir_its_group_or_others_may_write_is_refused_and_untouched() {
    for (mode_bits, shown) in [(0o770, "770"), (0o707, "707"), (0o1777, "1777")] {
        let state = PrivateState::new();
        std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(mode_bits))
            .expect("chmod");
        let path = state.path().to_path_buf();
        refused(
            state,
            &path,
            &format!("{HOST_STATE_DIR} is writable by its group or others (mode {shown})"),
        );
    }
}

#[cfg(feature = "host-tests")]
#[test]
fn a_state_dir_another_user_owns_is_refused_and_untouched() {
    let state = PrivateState::new();
    std::fs::create_dir(state.runs()).expect("mkdir");
    std::os::unix::fs::chown(state.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let path = state.path().to_path_buf();
    refused(
        state,
        &path,
        &format!(
            "{HOST_STATE_DIR} is owned by uid {NOBODY}, neither root nor the user the run runs as (uid 0)"
        ),
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_run_with_a_state_dir_of_its_own_journals_there() {
    let state = PrivateState::new();
    let runs = state.runs();
    let host = host(state);
    host.run("apply", &[]).code(0);
    let names: Vec<_> = std::fs::read_dir(&runs)
        .expect("the run's journal is in the test's state dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let ids: Vec<_> = names.iter().filter(|n| !n.starts_with('.')).collect();
    assert_eq!(ids.len(), 1, "{names:?}");
    assert!(
        names.iter().any(|n| n == ".in_progress"),
        "the index of unfinished runs is there too: {names:?}"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn listing_and_rolling_back_refuse_a_state_dir_another_user_owns() {
    // The user's directory holds a journal entry of their own making.
    let state = PrivateState::new();
    let run = state.runs().join("20261123T000000Z-00ab12");
    std::fs::create_dir_all(&run).expect("mkdir");
    std::fs::write(run.join("state"), "in_progress\n").expect("state");
    std::fs::write(run.join("manifest.json"), "{}").expect("manifest");
    for dir in [state.path(), &state.runs(), &run] {
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let path = state.path().to_path_buf();
    refused_to(
        state,
        &path,
        &format!(
            "{HOST_STATE_DIR} is owned by uid {NOBODY}, neither root nor the user the run runs as (uid 0)"
        ),
        &[
            ("backups", &[]),
            (
                "rollback",
                &["--run", "20261123T000000Z-00ab12", "--dry-run"],
            ),
            ("rollback", &["--date", "2026-01-02", "--dry-run"]),
        ],
    );
}
