//! The README's tutorial, run as a reader would on a real lab host: every file it shows is
//! written, every command it shows runs with `sh` in order and must succeed, and the line
//! the README shows last under a command must be in what the command printed.
//!
//! The lab host plays the reader's server: its site file serves the tutorial's domain
//! (`server_name erp.example.com`), user `deploy` has sudo, and `HOME` is a fresh
//! directory whose `~/.ssh/id_ed25519` and `~/.ssh/known_hosts` are the lab's key and host
//! keys and whose `~/src/wsdeploy` is this checkout. Substitutions, the ones the README asks
//! of its reader: the documentation address `203.0.113.10` becomes the lab host's; the run
//! id of `wsdeploy rollback --run ID` becomes the id `wsdeploy backups` listed for the first
//! apply; the date of `rollback --date DAY` is the day the runs are dated (`WSDEPLOY_TODAY`).

use crate::support;

use std::path::{Path, PathBuf};

use support::lab::Lab;
use support::tutorial::{self, Step};

/// The address the README's inventory uses (RFC 5737 documentation range).
const README_ADDRESS: &str = "203.0.113.10";
/// The domain the README's reader serves.
const DOMAIN: &str = "erp.example.com";

/// A `HOME` for the reader: the lab's key and host keys in `~/.ssh`, this checkout at
/// `~/src/wsdeploy`.
fn reader_home(lab: &Lab) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("temp dir");
    let ssh = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh).expect("mkdir .ssh");
    std::fs::copy(lab.outdir.join("id_ed25519"), ssh.join("id_ed25519")).expect("copy key");
    std::fs::copy(lab.known_hosts(), ssh.join("known_hosts")).expect("copy known_hosts");
    std::fs::create_dir_all(home.path().join("src")).expect("mkdir src");
    std::os::unix::fs::symlink(env!("CARGO_MANIFEST_DIR"), home.path().join("src/wsdeploy"))
        .expect("link the checkout");
    home
}

/// `sh -c line` in `dir` as the reader: their `HOME`, wsdeploy first on `PATH`, no agent.
fn reader_sh(home: &Path, dir: &Path, day: &str, line: &str) -> support::project::Run {
    let bin = Path::new(env!("CARGO_BIN_EXE_wsdeploy"))
        .parent()
        .expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("HOME", home)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("WSDEPLOY_TODAY", day)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("sh runs");
    support::project::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The day of the tutorial's `rollback --date DAY`.
fn rollback_day(steps: &[Step]) -> String {
    steps
        .iter()
        .find_map(|s| match s {
            Step::Command { line, .. } => line
                .strip_prefix("wsdeploy rollback --date ")
                .map(|d| d.trim().to_owned()),
            Step::File { .. } => None,
        })
        .expect("the tutorial rolls back a day")
}

/// The id of the first `apply` run that `wsdeploy backups` lists.
fn first_apply_run(backups: &str) -> String {
    backups
        .lines()
        .filter(|l| l.contains(" committed ") && l.contains(" apply "))
        .find_map(|l| l.split_whitespace().skip_while(|w| *w != "run").nth(1))
        .unwrap_or_else(|| panic!("`wsdeploy backups` lists no apply run:\n{backups}"))
        .to_owned()
}

/// A WebSocket handshake through the host's nginx, for the tutorial's domain.
fn handshake(lab: &Lab) -> String {
    lab.curl_handshake(
        1,
        "http://127.0.0.1/websocket?version=17.0-3",
        &format!("-H 'Host: {DOMAIN}' -H 'Origin: http://{DOMAIN}'"),
    )
}

/// What the reader's project, cwd and runs have come to.
struct Reader {
    home: tempfile::TempDir,
    cwd: PathBuf,
    day: String,
    run_id: Option<String>,
    applies: usize,
    /// The watched files and Odoo's start time after the first apply.
    applied: Option<(String, String)>,
}

impl Reader {
    fn write(&self, path: &str, body: &str, ip: &str) {
        let file = self.cwd.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&file, body.replace(README_ADDRESS, ip)).expect("write file");
    }

    /// The command as the reader types it on their machine.
    fn typed(&self, line: &str, ip: &str) -> String {
        let line = line.replace(README_ADDRESS, ip);
        match line.strip_prefix("wsdeploy rollback --run ") {
            Some(_) => format!(
                "wsdeploy rollback --run {}",
                self.run_id
                    .as_deref()
                    .expect("`wsdeploy backups` ran before `rollback --run`")
            ),
            None => line,
        }
    }

    fn cd(&mut self, dir: &str) {
        let out = reader_sh(
            self.home.path(),
            &self.cwd,
            &self.day,
            &format!("cd {dir} && pwd"),
        );
        out.code(0);
        self.cwd = PathBuf::from(out.stdout.trim());
    }
}

#[test]
fn the_readme_tutorial_runs_on_a_real_host() {
    let steps = tutorial::steps(&tutorial::readme());
    assert!(!steps.is_empty(), "the README's tutorial has no steps");
    let lab = Lab::up("tutorial", 1);
    let ip = lab.ip(1);
    // The site the reader already has: served for their domain.
    lab.ok(1, &format!("sed -i 's/^\\([[:space:]]*server_name\\) .*;/\\1 {DOMAIN};/' /etc/nginx/sites-available/odoo.conf && nginx -t && nginx -s reload"));
    let pristine = lab.config_sums(1);
    assert!(
        !handshake(&lab).contains("101 Switching"),
        "the site passes WebSockets before the tutorial"
    );
    let home = reader_home(&lab);
    let mut reader = Reader {
        cwd: home.path().to_path_buf(),
        home,
        day: rollback_day(&steps),
        run_id: None,
        applies: 0,
        applied: None,
    };
    for step in &steps {
        let (line, shown) = match step {
            Step::File { path, body } => {
                reader.write(path, body, &ip);
                continue;
            }
            Step::Command { line, shown } => (line, shown),
        };
        if let Some(dir) = line.strip_prefix("cd ") {
            reader.cd(dir);
            continue;
        }
        let typed = reader.typed(line, &ip);
        let out = reader_sh(reader.home.path(), &reader.cwd, &reader.day, &typed);
        out.code(0);
        if let Some(last) = tutorial::last_shown(shown) {
            assert!(
                out.stdout.contains(last) || out.stderr.contains(last),
                "`{typed}` did not print what the README shows last ({last:?})\n--- stdout\n{}\n--- stderr\n{}",
                out.stdout,
                out.stderr
            );
        }
        check_host(&lab, &mut reader, &typed, &out.stdout, &pristine);
    }
    assert_eq!(reader.applies, 2, "the tutorial applies twice");
    assert!(reader.run_id.is_some(), "the tutorial lists the backups");
}

/// What a command of the tutorial must have done to the host.
fn check_host(lab: &Lab, reader: &mut Reader, typed: &str, stdout: &str, pristine: &str) {
    let sums = lab.config_sums(1);
    if typed == "wsdeploy apply" {
        reader.applies += 1;
        assert_ne!(sums, pristine, "`wsdeploy apply` left the host as it was");
        assert!(
            handshake(lab).contains("101 Switching"),
            "after `wsdeploy apply`, nginx does not pass the WebSocket for {DOMAIN}"
        );
        let started = lab.odoo_started_at(1);
        match &reader.applies {
            1 => {
                assert!(stdout.contains("1 changed"), "the first apply:\n{stdout}");
                reader.applied = Some((sums, started));
            }
            _ => {
                assert!(stdout.contains("1 in sync"), "the second apply:\n{stdout}");
                assert_eq!(
                    reader.applied.as_ref(),
                    Some(&(sums, started)),
                    "the second apply changed a file or restarted Odoo"
                );
            }
        }
    } else if typed.starts_with("wsdeploy apply --dry-run") || typed == "wsdeploy validate" {
        assert_eq!(sums, pristine, "`{typed}` changed the host");
    } else if typed == "wsdeploy backups" {
        reader.run_id = Some(first_apply_run(stdout));
    } else if typed.starts_with("wsdeploy rollback") {
        assert_eq!(
            sums, pristine,
            "`{typed}` did not put back the bytes the host had"
        );
        lab.assert_healthy(1);
        assert!(
            !handshake(lab).contains("101 Switching"),
            "after `{typed}` the host still has the change"
        );
    }
}
