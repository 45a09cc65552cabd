//! The index of a host's unfinished runs, `runs/.in_progress/<run id>` (empty files), so
//! that a gather finds interrupted runs without opening every run's `state`: its cost
//! stays the same however long the host's run history is.
//!
//! A run's entry is made and flushed with its `state.tmp`, before the state says
//! `in_progress`, and removed only after the state that ends it is durable: an
//! `in_progress` run always has its entry. An entry whose run is not `in_progress` (a run
//! killed before its state, a removal lost in a crash) is read and ignored, and the next
//! journal, under the lock, removes it.
//!
//! The index is trusted only while its mark (`runs/.in_progress/.indexed`) is newer than
//! `runs/` itself (nanoseconds; creating or removing any run directory moves `runs/`'s
//! mtime): a run made by a wsdeploy that keeps no index, or by hand, makes the gathers
//! scan every `state` again, reading only (a gather runs without the lock, and a dry run
//! writes nothing on a host). Only a journal writes the index: under the lock, once its
//! run has recovered every interrupted run, it indexes the `in_progress` runs an untrusted
//! index misses, then renews the mark after making its run's directory (under the lock no
//! other run can make one). Every test is a shell builtin: no process in the common case.
//! A user who may not write there (no become) scans every time, as without an index.

use super::{RunId, STATE_DIR, quote};

/// The directory of the run journals.
fn runs() -> String {
    format!("{STATE_DIR}/runs")
}

/// The index's directory.
#[must_use]
pub fn dir() -> String {
    format!("{STATE_DIR}/runs/.in_progress")
}

/// A run's index entry.
#[must_use]
pub fn entry(run_id: &RunId) -> String {
    format!("{}/{run_id}", dir())
}

/// The mark's name in [`dir`] (a dot name: no glob of entries matches it).
const MARK: &str = ".indexed";

/// `wsd_newer FILE`: FILE made (or its mtime set) strictly newer than `$wsd_runs`, which
/// takes until the clock's next tick when `runs/` changed in this one (a few ms at most,
/// bounded); fails when it is not.
const NEWER: &str = "wsd_newer() { wsd_tick=0; while { : > \"$1\"; } 2>/dev/null && ! [ \"$1\" -nt \"$wsd_runs\" ] && [ $wsd_tick -lt 5000 ]; do wsd_tick=$((wsd_tick + 1)); done; [ \"$1\" -nt \"$wsd_runs\" ]; }";

/// Prints each run whose state says `in_progress` (the word the journal's `state` holds),
/// one id a line: from the index when it is trusted, else from every run's `state`.
/// Reads only, with shell builtins only.
#[must_use]
pub fn interrupted_runs_script(in_progress: &str) -> String {
    format!(
        "wsd_runs={runs} wsd_ix={ix}\n\
         wsd_in_progress() {{ [ -f \"$1\" ] && IFS= read -r st < \"$1\" && [ \"$st\" = {in_progress} ]; }}\n\
         if [ \"$wsd_ix/{MARK}\" -nt \"$wsd_runs\" ]; then\n\
         \x20 for r in \"$wsd_ix\"/*; do r=${{r##*/}}; if wsd_in_progress \"$wsd_runs/$r/state\"; then printf '%s\\n' \"$r\"; fi; done\n\
         else\n\
         \x20 for r in \"$wsd_runs\"/*/state; do\n\
         \x20   if wsd_in_progress \"$r\"; then r=${{r%/state}}; printf '%s\\n' \"${{r##*/}}\"; fi\n\
         \x20 done\n\
         fi\n",
        runs = quote(&runs()),
        ix = quote(&dir()),
    )
}

/// The journal's first lines for the index, before its run's directory is made (under the
/// lock, after this run recovered every interrupted run): an untrusted index gets an entry
/// for each run still `in_progress` (the one scan of the whole history), and entries whose
/// run is not `in_progress` are removed. The mark is renewed by [`journal_end`].
#[must_use]
pub fn journal_start(in_progress: &str) -> String {
    format!(
        "if [ ! {ix}/{MARK} -nt {runs} ] && [ -d {runs} ] && mkdir -p {ix}; then\n\
         \x20 for r in {runs}/*/state; do\n\
         \x20   st=; IFS= read -r st < \"$r\" 2>/dev/null || :; [ \"$st\" = {in_progress} ] || continue\n\
         \x20   r=${{r%/state}}; : > {ix}/\"${{r##*/}}\"\n\
         \x20 done\n\
         fi\n\
         for r in {ix}/*; do [ -f \"$r\" ] || continue; st=; IFS= read -r st < {runs}/\"${{r##*/}}\"/state 2>/dev/null || :; [ \"$st\" = {in_progress} ] || rm -f -- \"$r\"; done\n",
        ix = quote(&dir()),
        runs = quote(&runs()),
    )
}

/// The run's entry, made before its `state.tmp` (flushed with it: [`entry`] and [`dir`]).
#[must_use]
pub fn journal_add(run_id: &RunId) -> String {
    format!(": > {}\n", quote(&entry(run_id)))
}

/// After the state says `in_progress`: the mark renewed, strictly newer than `runs/` (the
/// index now holds every unfinished run: [`journal_start`]).
#[must_use]
pub fn journal_end() -> String {
    format!(
        "wsd_runs={runs}\n{NEWER}\nwsd_newer {ix}/{MARK} || :\n",
        runs = quote(&runs()),
        ix = quote(&dir()),
    )
}

/// Removes the run's entry (after its final state is durable); never fails.
#[must_use]
pub fn remove(run_id: &RunId) -> String {
    format!("{{ rm -f -- {} 2>/dev/null || :; }}", quote(&entry(run_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const IN_PROGRESS: &str = "in_progress";

    /// `script` run by `sh` against `state` in place of the host's state directory.
    fn sh(script: &str, state: &Path) -> String {
        let script = script.replace(STATE_DIR, &state.to_string_lossy());
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A run directory with its `state`.
    fn run(state: &Path, id: &str, word: &str) {
        let dir = state.join("runs").join(id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("state"), format!("{word}\n")).expect("state");
    }

    fn id(n: usize) -> String {
        format!("20261123T{:06}Z-00ab12", n)
    }

    /// The journal's index lines (as around a new run's directory), after which the index
    /// must be trusted (its mark newer than `runs/`).
    fn index_as_a_journal_does(state: &Path) {
        sh(
            &format!("{}{}", journal_start(IN_PROGRESS), journal_end()),
            state,
        );
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mark = mtime(&state.join("runs/.in_progress/.indexed"));
        assert!(
            mark.is_some() && mark > mtime(&state.join("runs")),
            "the journal did not mark the index complete"
        );
    }

    /// Every name under `state`, to show a gather wrote nothing.
    fn tree(state: &Path) -> Vec<std::path::PathBuf> {
        let mut names = Vec::new();
        let mut dirs = vec![state.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("read dir").flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                }
                names.push(e.path());
            }
        }
        names.sort();
        names
    }

    #[test]
    fn a_history_without_an_index_is_scanned_read_only_until_a_journal_indexes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path();
        for n in 0..2000 {
            run(state, &id(n), "committed");
        }
        // Interrupted by a wsdeploy that kept no index.
        run(state, &id(2000), "in_progress");
        let before = tree(state);
        assert_eq!(
            sh(&interrupted_runs_script(IN_PROGRESS), state),
            format!("{}\n", id(2000))
        );
        assert_eq!(tree(state), before, "a gather wrote on the host");
        index_as_a_journal_does(state);
        assert!(state.join("runs/.in_progress").join(id(2000)).is_file());
        // Trusted now: a state that says `in_progress` without an entry (which no
        // index-keeping run leaves) is not seen, since no other state is read.
        std::fs::write(
            state.join("runs").join(id(7)).join("state"),
            "in_progress\n",
        )
        .expect("state");
        assert_eq!(
            sh(&interrupted_runs_script(IN_PROGRESS), state),
            format!("{}\n", id(2000))
        );
        // An entry whose run is over is ignored.
        std::fs::write(
            state.join("runs").join(id(2000)).join("state"),
            "rolled_back\n",
        )
        .expect("state");
        assert_eq!(sh(&interrupted_runs_script(IN_PROGRESS), state), "");
    }

    #[test]
    fn a_run_made_without_the_index_after_its_mark_is_found_by_a_new_scan() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path();
        run(state, &id(1), "committed");
        index_as_a_journal_does(state);
        assert_eq!(sh(&interrupted_runs_script(IN_PROGRESS), state), "");
        // An older wsdeploy (or a hand) makes a run: `runs/` is newer than the mark.
        run(state, &id(2), "in_progress");
        assert_eq!(
            sh(&interrupted_runs_script(IN_PROGRESS), state),
            format!("{}\n", id(2))
        );
        index_as_a_journal_does(state);
        assert!(state.join("runs/.in_progress").join(id(2)).is_file());
        assert_eq!(
            sh(&interrupted_runs_script(IN_PROGRESS), state),
            format!("{}\n", id(2))
        );
    }

    #[test]
    fn no_runs_directory_is_no_run_and_nothing_is_made() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(sh(&interrupted_runs_script(IN_PROGRESS), dir.path()), "");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
