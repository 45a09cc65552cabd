//! This machine's host state directory (`/var/lib/wsdeploy`) made one test's own: the
//! `wsdeploy` a test runs starts in a mount namespace of its own (`unshare -m`) where a
//! directory of the test is bind-mounted over it. Its run lock, journal, dump cache and
//! backups are then the test's alone, so tests that reach this machine with
//! `ansible_connection: local` need not take turns for them (`local_host_guard`). A test
//! reaching this machine through the test sshd does not run in that namespace and uses the
//! machine's real directory.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The directory every host script reads and writes (`src/host/mod.rs`, `STATE_DIR`).
pub const HOST_STATE_DIR: &str = "/var/lib/wsdeploy";

/// Whether this test process runs as root (the owner of `/proc/self`).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// What is mounted where in a test's namespace.
pub struct PrivateState {
    dir: tempfile::TempDir,
    /// Bind-mounted over `target`.
    source: PathBuf,
    target: PathBuf,
}

impl PrivateState {
    /// An empty directory of the test (root's, mode 700, as wsdeploy makes it) in place of
    /// [`HOST_STATE_DIR`].
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("wsdeploy");
        std::fs::create_dir(&source).expect("mkdir state dir");
        Self::mounted(dir, source, HOST_STATE_DIR)
    }

    /// `source` (inside `dir`, which the test keeps) mounted over `target` instead: a
    /// hostile state directory, or a parent whose `wsdeploy` entry is a symlink.
    pub fn mounted(dir: tempfile::TempDir, source: PathBuf, target: &str) -> Self {
        if target == HOST_STATE_DIR && !Path::new(target).exists() {
            // What the first apply on this machine makes; a mount needs it to exist.
            std::fs::create_dir_all(target).expect("mkdir /var/lib/wsdeploy");
            std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o700))
                .expect("chmod /var/lib/wsdeploy");
        }
        assert!(Path::new(target).is_dir(), "{target} is not a directory");
        Self {
            dir,
            source,
            target: PathBuf::from(target),
        }
    }

    /// What the test's runs see as [`HOST_STATE_DIR`] (when mounted there).
    pub fn path(&self) -> &Path {
        &self.source
    }

    /// The test's journal (`<state>/runs`).
    pub fn runs(&self) -> PathBuf {
        self.source.join("runs")
    }

    /// Run ids in the test's journal (not the index of unfinished runs, `.in_progress`).
    pub fn run_ids(&self) -> std::collections::BTreeSet<String> {
        std::fs::read_dir(self.runs())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `program args…` in a mount namespace of its own with the mount made; the program
    /// keeps the pid `unshare` started with (`unshare` and `sh` exec it).
    pub fn command(&self, program: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount --bind -- \"$1\" \"$2\" || exit 125; shift 2; exec \"$@\"")
            .arg("sh")
            .arg(&self.source)
            .arg(&self.target)
            .arg(program);
        cmd
    }

    /// Keeps the temporary directory (its path) for a test that prepares it.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}
