//! Putting a run's files back from its journal (a rollback, or the recovery of an
//! interrupted run): the script and the parser of what it prints.

use std::fmt::Write as _;

use super::journal::{self, JournalFile, JournalState};
use super::markers::{
    self, JOURNAL_UNTRUSTED, NO_JOURNAL, RESTORE_FAILED, RESTORE_SKIPPED, RESTORED, UNSAFE,
};
use super::script::{Script, parent_dir};
use super::{RunId, agent, quote, write};

/// Restores files from the journal's pre-images, in reverse order; a file that did not
/// exist before is removed. Prints `WSD-RESTORED <path>` after each.
///
/// Only a run whose state is `in_progress` is restored, and only when every pre-image
/// still has the sha256 the manifest recorded: otherwise it prints
/// `WSD-JOURNAL-UNTRUSTED` and exits 1 before touching anything. A run with no state
/// prints `WSD-NO-JOURNAL`: no file was touched (the state is written before the first
/// target file), so nothing is restored.
#[must_use]
pub fn restore_script(run_id: &RunId, files: &[JournalFile]) -> String {
    let j = quote(&journal::dir(run_id));
    let mut s = Script::new(&format!(
        "set -u\numask 077\nfail=0\n[ -f {j}/state ] || {{ echo {NO_JOURNAL}; exit 0; }}\n\
         IFS= read -r st < {j}/state || st=\n\
         [ \"$st\" = {in_progress} ] || {{ printf '{JOURNAL_UNTRUSTED} state %s\\n' \"$st\"; exit 1; }}\n{}",
        agent::functions(),
        in_progress = JournalState::InProgress.word()
    ));
    check_pre_images(&mut s, run_id, files);
    remove_temp_files(&mut s, run_id, files);
    // Root's renames are collected in `"$@"` and their directories flushed at the end; a
    // user's are flushed by that user (a name a user controls is never opened by root).
    s.push("set --\n");
    for f in files.iter().rev() {
        restore_one(&mut s, run_id, f);
    }
    s.push("[ $# -eq 0 ] || sync -- \"$@\" 2>/dev/null || sync\nexit $fail\n");
    s.into_text()
}

/// The temp files a killed run may have left (`write::temp_name`: this run's id and a
/// position below its number of files), removed by whoever writes in their directory;
/// no other name is ever removed, and a directory `wsd_agent` refuses is left alone.
fn remove_temp_files(s: &mut Script, run_id: &RunId, files: &[JournalFile]) {
    let mut dirs: Vec<&str> = Vec::new();
    for f in files {
        let d = parent_dir(&f.path);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    for d in dirs {
        let names: Vec<String> = (0..files.len())
            .map(|i| quote(&format!("{d}/.wsdeploy.{}", write::temp_name(run_id, i))))
            .collect();
        let _ = writeln!(
            s,
            "if wsd_agent {}; then wsd_as rm -f -- {}; fi",
            names[0],
            names.join(" ")
        );
    }
}

/// Every pre-image must still be the bytes the manifest recorded, or nothing is restored.
fn check_pre_images(s: &mut Script, run_id: &RunId, files: &[JournalFile]) {
    let mut sums = String::new();
    for f in files.iter().filter(|f| f.existed) {
        let _ = writeln!(
            sums,
            "{}  {}/pre/{}",
            f.sha256.as_deref().unwrap_or("missing"),
            journal::dir(run_id),
            f.index
        );
    }
    if !sums.is_empty() {
        let _ = write!(
            s,
            "sha256sum -c --status <<'WSD_SUMS_END' || {{ echo '{JOURNAL_UNTRUSTED} pre-images'; exit 1; }}\n{sums}WSD_SUMS_END\n"
        );
    }
}

/// One file back to its pre-image (or removed): as in `write_script`, by root where only
/// root can change the directories, by the user who controls them otherwise, never
/// through a path someone else controls; and only when it still holds bytes this run
/// wrote (a change someone else made since is left as it is, and reported).
fn restore_one(s: &mut Script, run_id: &RunId, f: &JournalFile) {
    let (i, path) = (f.index, &f.path);
    let j = quote(&journal::dir(run_id));
    let p = quote(path);
    let refused = format!(
        "! wsd_agent {p}; then fail=1; printf '{RESTORE_FAILED} %s\\n' {p}; printf '{UNSAFE} %s\\n' \"$wsd_why\" >&2;"
    );
    let mine = if f.written.is_empty() {
        "any".to_owned()
    } else {
        f.written.join(" ")
    };
    let foreign = format!(
        "elif ! wsd_mine {p} {}; then fail=1; printf '{RESTORE_SKIPPED} %s\\n' {p};",
        quote(&mine)
    );
    if f.existed {
        let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "if cmp -s {j}/pre/{i} {p}; then printf '{RESTORED} %s\\n' {p}; {foreign} elif {refused} elif [ \"$wsd_u\" = 0 ]; then \
             t=$(mktemp {d}/.wsdeploy.XXXXXX) && cp -p -- {j}/pre/{i} \"$t\" && {{ sync -- \"$t\" 2>/dev/null || sync; }} && mv -f -- \"$t\" {p} && set -- \"$@\" {d} && printf '{RESTORED} %s\\n' {p} || {{ fail=1; printf '{RESTORE_FAILED} %s\\n' {p}; rm -f -- \"$t\" 2>/dev/null; }}; \
             else wsd_as sh -c \"$WSD_PUT\" sh {p} {m} < {j}/pre/{i} && printf '{RESTORED} %s\\n' {p} || {{ fail=1; printf '{RESTORE_FAILED} %s\\n' {p}; }}; fi",
            d = quote(parent_dir(path)),
            m = quote(&mode)
        );
    } else {
        let _ = writeln!(
            s,
            "if [ ! -e {p} ] && [ ! -L {p} ]; then printf '{RESTORED} %s\\n' {p}; {foreign} elif {refused} elif [ \"$wsd_u\" = 0 ]; then rm -f -- {p} && set -- \"$@\" {d} && printf '{RESTORED} %s\\n' {p} || {{ fail=1; printf '{RESTORE_FAILED} %s\\n' {p}; }}; \
             else wsd_as rm -f -- {p} && {{ wsd_as sync -- {d} 2>/dev/null || sync; }} && printf '{RESTORED} %s\\n' {p} || {{ fail=1; printf '{RESTORE_FAILED} %s\\n' {p}; }}; fi",
            d = quote(parent_dir(path))
        );
    }
}

/// Why a journal was not trusted (nothing was restored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// A pre-image is not the bytes its manifest recorded.
    PreImages,
    /// The run's state is this word, not `in_progress`.
    State(String),
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PreImages => f.write_str("a pre-image is not the bytes its manifest recorded"),
            Self::State(state) if state.is_empty() => f.write_str("its state, not in_progress"),
            Self::State(state) => write!(f, "its state {state}, not in_progress"),
        }
    }
}

/// What a restore script printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The run had no journal state: no file was touched, none restored.
    pub no_journal: bool,
    /// Files someone else changed after the run wrote them: left as they are.
    pub skipped: Vec<String>,
    /// The journal was not trusted: nothing was restored.
    pub untrusted: Option<Untrusted>,
}

impl Restored {
    /// Reads a restore script's stdout.
    #[must_use]
    pub fn parse(stdout: &str) -> Self {
        let untrusted = stdout
            .lines()
            .find_map(|l| l.strip_prefix(JOURNAL_UNTRUSTED))
            .map(|why| match why.trim() {
                "pre-images" => Untrusted::PreImages,
                other => Untrusted::State(
                    other
                        .strip_prefix("state")
                        .unwrap_or(other)
                        .trim()
                        .to_owned(),
                ),
            });
        Self {
            no_journal: markers::has_line(stdout, NO_JOURNAL),
            skipped: markers::values(stdout, RESTORE_SKIPPED)
                .map(str::to_owned)
                .collect(),
            untrusted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restoring_a_run_without_journal_state_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("someone else's.conf");
        std::fs::write(&created, "not ours\n").unwrap();
        let script = restore_script(
            &RunId::parse("20001123T000000Z-000000").expect("a run id"),
            &[JournalFile {
                index: 0,
                path: created.display().to_string(),
                existed: false,
                sha256: None,
                backup: None,
                mode: None,
                written: Vec::new(),
            }],
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh runs");
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), NO_JOURNAL);
        assert!(Restored::parse(&String::from_utf8_lossy(&out.stdout)).no_journal);
        assert_eq!(std::fs::read_to_string(&created).unwrap(), "not ours\n");
    }

    #[test]
    fn the_output_says_what_was_skipped_and_why_a_journal_was_not_trusted() {
        let out =
            format!("{RESTORED} /a\n{RESTORE_SKIPPED} /b c\n{JOURNAL_UNTRUSTED} state committed\n");
        let restored = Restored::parse(&out);
        assert!(!restored.no_journal);
        assert_eq!(restored.skipped, ["/b c"]);
        assert_eq!(
            restored.untrusted,
            Some(Untrusted::State("committed".to_owned()))
        );
        let out = format!("{JOURNAL_UNTRUSTED} pre-images\n");
        assert_eq!(Restored::parse(&out).untrusted, Some(Untrusted::PreImages));
    }
}
