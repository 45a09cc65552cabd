//! The journal exec of a first apply, step by step, on this machine (`connection: local`,
//! three files in root's directories, one reached through a symlink): the order of its
//! flushes (`sync`) and renames (`mv`), seen through spies first on `PATH`; and a host
//! whose scripts die (SIGKILL, the controller with them) right before each of those
//! steps: every file then holds its old or its new bytes, a new byte anywhere means the
//! run's `state` says `in_progress`, and the next apply recovers the run and converges;
//! a disk that fills up while the temp files are made leaves none of them.

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

    /// Every `.wsdeploy.*` name under the host's tree, sorted.
    fn temp_leftovers(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![self.project.path().join("host")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("read_dir")
                .map(|e| e.expect("entry"))
            {
                let path = entry.path();
                if entry.file_type().expect("file type").is_dir() {
                    dirs.push(path);
                } else if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".wsdeploy.")
                {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
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
        // Names like the run's temp files that it did not make: never removed.
        let app = host.files[0].parent().expect("a directory").to_owned();
        let planted = [
            app.join(".wsdeploy.20200101T000000Z-000000.0"),
            app.join(".wsdeploy.planted"),
        ];
        for p in &planted {
            std::fs::write(p, "not the run's\n").expect("plant");
        }
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
            if !format!("{}{}", next.stdout, next.stderr).contains("holds the lock") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
            next = host.apply(None);
        }
        next.code(0);
        assert_eq!(host.contents(), [Some(true); 3], "{at}");
        assert_eq!(
            host.temp_leftovers(),
            planted,
            "{at}: temp files left or removed"
        );
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

/// A 64 KiB tmpfs mounted over a directory (its files copied in), unmounted on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts it over `dir` and fills it to one free page.
    fn over(dir: &Path) -> Self {
        let saved = tempfile::tempdir().expect("saved copy");
        let sh = |script: &str| {
            let out = std::process::Command::new("sh")
                .args(["-c", script, "sh"])
                .arg(dir)
                .arg(saved.path())
                .output()
                .expect("sh runs");
            assert!(
                out.status.success(),
                "{script}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        sh("cp -a \"$1/.\" \"$2/\" && mount -t tmpfs -o size=64k,mode=755 tmpfs \"$1\"");
        let disk = Self {
            dir: dir.to_owned(),
        };
        sh(
            "cp -a \"$2/.\" \"$1/\" && { dd if=/dev/zero of=\"$1/filler\" bs=4096 2>/dev/null; true; } && truncate -s -4096 \"$1/filler\"",
        );
        disk
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
    }
}

/// The second file's directory has room for its dated backup but not for its temp file:
/// the first file's temp file, already made, is removed too, nothing is renamed, and the
/// run is rolled back.
#[test]
fn a_disk_full_while_the_temp_files_are_made_leaves_none_and_rolls_back() {
    let _guard = local_host_guard();
    let host = ThreeFiles::new();
    let full = host.files[1].parent().expect("a directory").to_owned();
    let disk = SmallDisk::over(&full);
    let before = local_runs();
    let run = host.apply(None);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("No space left on device");
    assert_eq!(host.contents(), [Some(false); 3]);
    let runs = new_runs(&before);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(local_run_state(&runs[0]), "rolled_back");
    let leftovers: Vec<String> = host
        .files
        .iter()
        .filter_map(|f| std::fs::read_dir(f.parent()?).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".wsdeploy"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    let backed_up = std::fs::read_dir(&full)
        .expect("the directory")
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("b.conf.backup-")
        });
    assert!(backed_up, "the dated backup was made on the small disk");
    drop(disk);
}
