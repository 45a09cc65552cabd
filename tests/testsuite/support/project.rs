//! A throwaway wsdeploy project (plans, inventories, files) and a builder to run the
//! `wsdeploy` binary against it and pin its output and exit code.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary project directory.
pub struct Project {
    pub dir: tempfile::TempDir,
    /// This machine's state directory as the runs of this project see it: the test's own
    /// (`host_state`), or the machine's when `None`.
    pub state: Option<super::host_state::PrivateState>,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            state: None,
        }
    }

    /// A project whose runs have a state directory of their own on this machine
    /// (`host_state`). Not as another user than root: mounting needs root, and such a
    /// user's runs cannot write the machine's state directory anyway (its dry runs only
    /// read it), so they use the machine's.
    pub fn with_own_state() -> Self {
        Self {
            state: super::host_state::running_as_root().then(super::host_state::PrivateState::new),
            ..Self::new()
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` at `relative` (creating directories).
    pub fn file(&self, relative: &str, content: &str) -> &Self {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, content).expect("write");
        self
    }

    /// Copies a file of the test corpus to `relative`, returning its absolute path.
    pub fn corpus(&self, corpus_relative: &str, relative: &str) -> PathBuf {
        let source = corpus_dir().join(corpus_relative);
        let target = self.dir.path().join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(&source, &target)
            .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        target
    }

    /// The `wsdeploy` binary to run against this project: in the namespace of its own
    /// state directory when it has one (`host_state`). No argument yet.
    pub fn wsdeploy(&self) -> std::process::Command {
        let bin = assert_cmd::cargo::cargo_bin("wsdeploy");
        match &self.state {
            Some(state) => state.command(&bin),
            None => std::process::Command::new(bin),
        }
    }

    /// Where this test sees `path`, a path of the host state directory as the project's
    /// runs see it (`/var/lib/wsdeploy/...`).
    pub fn state_path(&self, path: &str) -> PathBuf {
        match (
            &self.state,
            path.strip_prefix(super::host_state::HOST_STATE_DIR),
        ) {
            (Some(state), Some(rest)) => state.path().join(rest.trim_start_matches('/')),
            _ => PathBuf::from(path),
        }
    }

    /// Run ids in the journal this project's runs write (its own, or this machine's).
    pub fn run_ids(&self) -> std::collections::BTreeSet<String> {
        self.state.as_ref().map_or_else(
            super::reliability::local_runs,
            super::host_state::PrivateState::run_ids,
        )
    }

    /// `wsdeploy -C <project> ARGS...`
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// [`Project::run`] with extra environment variables (`HOME`, ...).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::from_std(self.wsdeploy());
        cmd.arg("-C")
            .arg(self.dir.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("WSDEPLOY_TODAY")
            .envs(env.iter().copied());
        let out = cmd.output().expect("wsdeploy runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The test corpus (`tests/corpus` in the repository; provenance in its SOURCES.md).
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    assert!(
        dir.is_dir(),
        "the test corpus is missing at {}",
        dir.display()
    );
    dir
}

/// The result of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The shipped Odoo plan (as JSON text) for a dry run on this machine: a dry run runs the
/// plan's preflight checks, and there is no Odoo here, so only its `nginx -t` stays.
pub fn odoo_plan_with_only_its_nginx_preflight() -> String {
    let plan = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/odoo-websocket.yml"),
    )
    .expect("plan");
    let mut plan: serde_json::Value = serde_saphyr::from_str(&plan).expect("plan YAML");
    let preflight: Vec<serde_json::Value> = plan["preflight"]
        .as_array()
        .expect("preflight")
        .iter()
        .filter(|s| s["id"] == "nginx_valid_before")
        .cloned()
        .collect();
    assert_eq!(preflight.len(), 1, "the plan's preflight nginx -t");
    plan["preflight"] = serde_json::Value::Array(preflight);
    serde_json::to_string_pretty(&plan).expect("json")
}

/// Debian's nginx tree under `<project>/root` (the stock nginx.conf including `root`'s
/// conf.d and sites-enabled) with `site` as `sites-available/odoo.conf`, enabled; returns
/// the root.
pub fn debian_nginx_with_site(p: &Project, site: &str) -> std::path::PathBuf {
    let root = p.path().join("root");
    let nginx_conf = p.corpus(
        "nginx/debian-bookworm-nginx.conf",
        "root/etc/nginx/nginx.conf",
    );
    let text = std::fs::read_to_string(&nginx_conf).expect("read nginx.conf");
    let text = text
        .replace(
            "/etc/nginx/conf.d/",
            &format!("{}/etc/nginx/conf.d/", root.display()),
        )
        .replace(
            "/etc/nginx/sites-enabled/",
            &format!("{}/etc/nginx/sites-enabled/", root.display()),
        );
    std::fs::write(&nginx_conf, text).expect("write nginx.conf");
    std::fs::create_dir_all(root.join("etc/nginx/conf.d")).expect("mkdir");
    p.file("root/etc/nginx/sites-available/odoo.conf", site);
    std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).expect("mkdir");
    std::os::unix::fs::symlink(
        root.join("etc/nginx/sites-available/odoo.conf"),
        root.join("etc/nginx/sites-enabled/odoo.conf"),
    )
    .expect("symlink");
    root
}
