//! The host's state directory ([`STATE_DIR`](super::STATE_DIR)) judged before a script
//! reads or writes anything in it. Root keeps there the pre-images of the files it edits
//! (secrets included), the run lock, the journal whose `in_progress` runs it undoes from
//! their manifests, and the dump cache the gather sources: a directory another user can
//! write, replace or point elsewhere would hand them all of that. So the directory, if it
//! exists, must not be a symbolic link, must belong to root or to the user the script runs
//! as, and must not be writable by its group or others; every directory above it must be
//! root's or that user's, not a symlink, and not writable by group or others unless it is
//! root's and sticky (`/tmp`: no one else can rename or remove what is in it). (A user
//! without become may read a state directory of root's, as before: root's is trusted.) Otherwise the script prints
//! `WSD-UNSAFE-STATE <why>` and exits [`EXIT_UNSAFE_STATE_DIR`] before touching it. The
//! directories are judged from the top down, the first fault met named; one `stat` reads
//! the owner and mode of all of them (one per directory only when that `stat` fails).
//!
//! Only root (or that user) can change a directory that passes, so one check per script
//! that uses the directory holds for the whole script. A missing directory passes: the
//! lock creates it, mode 700.

use super::markers::UNSAFE_STATE;
use super::quote;

/// Exit status of a script that refused an unsafe state directory.
pub const EXIT_UNSAFE_STATE_DIR: i32 = 92;

/// The check, as shell lines; the refusal goes to standard error (`>&2`), or to the file
/// descriptor [`check`] is given.
const CHECK: &str = include_str!("state_dir.sh");

/// The lines that refuse `dir` (exit [`EXIT_UNSAFE_STATE_DIR`], `WSD-UNSAFE-STATE <why>`
/// on `fd`) unless it is safe; `dir` is absolute.
#[must_use]
pub fn check(dir: &str, fd: u8) -> String {
    check_text(dir, fd, "false")
}

/// [`check`] for a script that has filled `wsd_seen` (`agent::seen`, the state directory
/// among its paths): the owners and modes come from it when it holds them all.
#[must_use]
pub fn check_seen(dir: &str, fd: u8) -> String {
    check_text(dir, fd, "wsd_looked \"$@\"")
}

fn check_text(dir: &str, fd: u8, seen_test: &str) -> String {
    CHECK
        .replace("WSD_SEEN_TEST", seen_test)
        .replace("WSD_STATE_CHAIN", &chain(dir).join(" "))
        .replace("WSD_STATE_DIR", &quote(dir))
        .replace("WSD_MARKER", UNSAFE_STATE)
        .replace(">&2;", &format!(">&{fd};"))
        .replace("WSD_EXIT", &EXIT_UNSAFE_STATE_DIR.to_string())
}

/// Every directory from the top down to `dir`, quoted (`/var`, `/var/lib`, `/var/lib/wsdeploy`).
fn chain(dir: &str) -> Vec<String> {
    super::script::top_down(dir)
        .iter()
        .map(|p| quote(p))
        .collect()
}

/// The error a refusal makes, `why` as the host said it.
#[must_use]
pub fn refusal(dir: &str, why: &str) -> String {
    format!(
        "the state directory {dir} on the host is unsafe: {why}; nothing was read or written (it must be a real directory, not a symbolic link, owned by root or by the user wsdeploy runs as, mode 700, under directories only root or that user may write: fix or remove it)"
    )
}

/// The reason in a refusal's output, if `output` holds one.
#[must_use]
pub fn refused(output: &str) -> Option<&str> {
    super::markers::values(output, UNSAFE_STATE).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_runs_from_the_top_down() {
        assert_eq!(
            chain("/var/lib/wsdeploy"),
            ["/var", "/var/lib", "/var/lib/wsdeploy"].map(quote)
        );
    }

    #[test]
    fn a_shared_directory_is_refused_before_the_script_goes_on() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::Builder::new()
            .tempdir_in("/tmp")
            .expect("temp dir in /tmp");
        let run = |dir: &std::path::Path| {
            let script = format!("{}echo went on\n", check(&dir.to_string_lossy(), 1));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .expect("sh runs");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        // Under /tmp (root's, sticky): a private directory, or none yet, passes.
        let dir = root.path().join("state");
        assert_eq!(run(&dir), (Some(0), "went on\n".to_owned()));
        std::fs::create_dir(&dir).expect("mkdir");
        assert_eq!(run(&dir), (Some(0), "went on\n".to_owned()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let (code, stdout) = run(&dir);
        assert_eq!(code, Some(EXIT_UNSAFE_STATE_DIR), "{stdout}");
        let expected = format!(
            "{} is writable by its group or others (mode 1777)",
            dir.display()
        );
        assert_eq!(refused(&stdout), Some(expected.as_str()));
        // A directory no user may be trusted with above it.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let (code, stdout) = run(&dir.join("below"));
        assert_eq!(code, Some(EXIT_UNSAFE_STATE_DIR), "{stdout}");
        let expected = format!(
            "{} is writable by its group or others (mode 777) without being root's and sticky",
            dir.display()
        );
        assert_eq!(refused(&stdout), Some(expected.as_str()));
    }

    /// Runs `check(dir)` with a `stat` that logs each of its runs to `log` first.
    fn run_counting_stat(
        dir: &std::path::Path,
        bin: &std::path::Path,
    ) -> (Option<i32>, String, usize) {
        use std::os::unix::fs::PermissionsExt;
        let log = bin.join("stat.log");
        let _ = std::fs::remove_file(&log);
        let wrapper = bin.join("stat");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho run >> '{}'\nexec /usr/bin/stat \"$@\"\n",
                log.display()
            ),
        )
        .expect("write the stat wrapper");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let script = format!("{}echo went on\n", check(&dir.to_string_lossy(), 1));
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PATH", path)
            .output()
            .expect("sh runs");
        let runs = std::fs::read_to_string(&log).map_or(0, |text| text.lines().count());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            runs,
        )
    }

    #[test]
    fn one_stat_judges_every_directory_of_the_chain_and_the_first_fault_on_the_way_wins() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::Builder::new()
            .tempdir_in("/tmp")
            .expect("temp dir in /tmp");
        let bin = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("a/b/state");
        std::fs::create_dir_all(&dir).expect("mkdir");
        // /tmp, the temp dir, a, b, state: five directories, one stat.
        assert_eq!(
            run_counting_stat(&dir, bin.path()),
            (Some(0), "went on\n".to_owned(), 1)
        );
        // A group-writable `a` above a symlinked `state`: `a` is named, as the walk from
        // the top meets it first.
        std::fs::remove_dir(&dir).expect("rmdir");
        std::os::unix::fs::symlink("/", &dir).expect("symlink");
        let a = root.path().join("a");
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        let (code, stdout, _) = run_counting_stat(&dir, bin.path());
        assert_eq!(code, Some(EXIT_UNSAFE_STATE_DIR), "{stdout}");
        let expected = format!(
            "{} is writable by its group or others (mode 775) without being root's and sticky",
            a.display()
        );
        assert_eq!(refused(&stdout), Some(expected.as_str()));
        // With `a` private again, the symlink is what is refused.
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let (code, stdout, _) = run_counting_stat(&dir, bin.path());
        assert_eq!(code, Some(EXIT_UNSAFE_STATE_DIR), "{stdout}");
        let expected = format!("{} is a symbolic link", dir.display());
        assert_eq!(refused(&stdout), Some(expected.as_str()));
    }

    #[test]
    fn the_refusal_names_the_directory_and_what_to_do() {
        let text = refusal("/var/lib/wsdeploy", "/var/lib/wsdeploy is a symbolic link");
        assert!(text.starts_with(
            "the state directory /var/lib/wsdeploy on the host is unsafe: /var/lib/wsdeploy is a symbolic link; nothing was read or written"
        ));
    }
}
