//! The journal exec of a first apply, step by step, on this machine (`connection: local`,
//! three files in root's directories, one reached through a symlink): the order of its
//! flushes (`sync`) and renames (`mv`), seen through spies first on `PATH`; and a host
//! whose scripts die (SIGKILL, the controller with them) right before each of those
//! steps: every file then holds its old or its new bytes, a new byte anywhere means the
//! run's `state` says `in_progress`, and the next apply recovers the run and converges.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::support::project::{Project, Run};
use crate::support::reliability::{local_host_guard, local_run_state, local_runs};

/// Every `sync` and `mv` of a 3-file first apply: the journal exec (entry, `state`,
/// temp files with the journal directory, the renames, their directories), then the
/// commit (`state.tmp`, `state`, the directory).
const STEPS: [&str; 10] = [
    "sync", "mv", "sync", "mv", "mv", "mv", "sync", "sync", "mv", "sync",
];

/// A project whose plan changes three files under `<project>/host`.
struct ThreeFiles {
    project: Project,
    /// The real files, in plan order.
    files: [PathBuf; 3],
}

impl ThreeFiles {
    fn new() -> Self {
        let project = Project::new();
        let host = project.path().join("host/etc");
        let files = [
            host.join("app/a.conf"),
            host.join("other/b.conf"),
            host.join("app/avail/c.conf"),
        ];
        for (file, name) in files.iter().zip(["a", "b", "c"]) {
            std::fs::create_dir_all(file.parent().expect("a directory")).expect("mkdir");
            std::fs::write(file, format!("{name} = 1\n")).expect("write");
        }
        std::fs::create_dir_all(host.join("app/conf.d")).expect("mkdir");
        std::os::unix::fs::symlink("../avail/c.conf", host.join("app/conf.d/c.conf"))
            .expect("symlink");
        project.file(
            "inventories/production/hosts.yml",
            "all:\n  hosts:\n    local-1:\n      ansible_connection: local\n",
        );
        let step = |id: &str, path: &Path| {
            format!(
                "  - id: {id}\n    line: {{file: '{}', line: '{id} = 2', match: '^{id} = '}}\n",
                path.display()
            )
        };
        project.file(
            "plans/site.yml",
            &format!(
                "name: three\nhosts: all\nsteps:\n{}{}{}",
                step("a", &files[0]),
                step("b", &files[1]),
                step("c", &host.join("app/conf.d/c.conf"))
            ),
        );
        Self { project, files }
    }

    /// Each file: `Some(false)` old bytes, `Some(true)` new bytes, `None` anything else.
    fn contents(&self) -> Vec<Option<bool>> {
        self.files
            .iter()
            .zip(["a", "b", "c"])
            .map(
                |(f, name)| match std::fs::read_to_string(f).ok()?.as_str() {
                    s if s == format!("{name} = 1\n") => Some(false),
                    s if s == format!("{name} = 2\n") => Some(true),
                    _ => None,
                },
            )
            .collect()
    }

    fn apply(&self, spies: Option<&Spies>) -> Run {
        let path = spies.map(|s| {
            format!(
                "{}:{}",
                s.dir.path().display(),
                std::env::var("PATH").unwrap_or_default()
            )
        });
        let env: Vec<(&str, &str)> = path.iter().map(|p| ("PATH", p.as_str())).collect();
        self.project
            .run_with_env(&["apply", "-i", "production"], &env)
    }
}

/// `sync` and `mv` spies: each call appends its name to `log`; the `kill_at`-th call
/// kills the script that made it and the `wsdeploy` above it (SIGKILL) instead of running.
struct Spies {
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Spies {
    fn new(kill_at: Option<usize>) -> Self {
        let dir = tempfile::tempdir().expect("spy dir");
        let log = dir.path().join("steps.log");
        for name in ["sync", "mv"] {
            let real = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("coreutils {name} is installed"));
            let kill = kill_at.map_or_else(String::new, |k| {
                format!(
                    "if [ \"$(wc -l < \"$log\")\" -eq {k} ]; then\n\
                     \x20 p=$PPID\n\
                     \x20 while [ \"$p\" -gt 1 ] && [ \"$(cat /proc/$p/comm)\" != wsdeploy ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done\n\
                     \x20 kill -KILL \"$p\" \"$PPID\"; exit 1\n\
                     fi\n"
                )
            });
            let script = format!(
                "#!/bin/sh\nlog='{}'\nprintf '%s\\n' {name} >> \"$log\"\n{kill}exec {} \"$@\"\n",
                log.display(),
                real.display()
            );
            let spy = dir.path().join(name);
            std::fs::write(&spy, script).expect("spy");
            std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Self { dir, log }
    }

    fn steps(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn new_runs(before: &BTreeSet<String>) -> Vec<String> {
    local_runs().difference(before).cloned().collect()
}

#[test]
fn a_first_apply_of_three_files_flushes_three_times_before_its_commit() {
    let _guard = local_host_guard();
    let host = ThreeFiles::new();
    let spies = Spies::new(None);
    host.apply(Some(&spies)).code(0).stdout_has("1 changed");
    assert_eq!(spies.steps(), STEPS, "the flushes and renames of the apply");
    assert_eq!(host.contents(), [Some(true); 3]);
}

#[test]
fn a_host_killed_before_any_flush_or_rename_is_untouched_or_recovered_by_the_next_apply() {
    let _guard = local_host_guard();
    for kill_at in 1..=STEPS.len() {
        let host = ThreeFiles::new();
        let before = local_runs();
        let spies = Spies::new(Some(kill_at));
        let killed = host.apply(Some(&spies));
        let at = format!("killed before step {kill_at} ({})", STEPS[kill_at - 1]);
        assert_eq!(killed.code, -1, "{at}: {killed:?}");
        assert_eq!(spies.steps().len(), kill_at, "{at}");
        let runs = new_runs(&before);
        assert_eq!(runs.len(), 1, "{at}: {runs:?}");
        let run = &runs[0];
        let contents = host.contents();
        assert!(contents.iter().all(Option::is_some), "{at}: {contents:?}");
        let state = local_run_state(run);
        if contents.contains(&Some(true)) {
            assert!(
                state == "in_progress" || state == "committed",
                "{at}: {contents:?} under state {state:?}"
            );
        }
        // The lock holder ends with the controller; the next apply may have to wait a
        // moment for it.
        let mut next = host.apply(None);
        for _ in 0..20 {
            if !next.stderr.contains("holds the lock") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
            next = host.apply(None);
        }
        next.code(0);
        assert_eq!(host.contents(), [Some(true); 3], "{at}");
        let said = format!("{}{}", next.stdout, next.stderr);
        match state.as_str() {
            "in_progress" => {
                assert!(
                    said.contains(&format!("recovered interrupted run {run}")),
                    "{at}: {next:?}"
                );
                assert!(said.contains("1 changed"), "{at}: {next:?}");
                assert_eq!(local_run_state(run), "rolled_back", "{at}");
            }
            "committed" => assert!(!said.contains("changed"), "{at}: {next:?}"),
            _ => {
                assert_eq!(state, "", "{at}: a run that touched nothing has no state");
                assert!(said.contains("1 changed"), "{at}: {next:?}");
            }
        }
    }
}
