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
//! mtime): a run made by a wsdeploy that keeps no index, or by hand, makes the next gather
//! scan every `state` again. That scan indexes the `in_progress` runs it finds and renews
//! the mark, stamped before the scan began, only if `runs/` did not change since. A
//! journal that found the index trusted renews the mark after making its run's directory
//! (under the lock no other run can make one). Every test is a shell builtin: no process
//! in the common case. A user who may not write there (no become) scans every time, as
//! without an index.

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
/// one id a line: from the index when it
/// is trusted, else from every run's `state` (indexing what it finds). Shell builtins only
/// on the indexed path.
#[must_use]
pub fn interrupted_runs_script(in_progress: &str) -> String {
    format!(
        "wsd_runs={runs} wsd_ix={ix}\n\
         {NEWER}\n\
         wsd_in_progress() {{ [ -f \"$1\" ] && IFS= read -r st < \"$1\" && [ \"$st\" = {in_progress} ]; }}\n\
         if [ \"$wsd_ix/{MARK}\" -nt \"$wsd_runs\" ]; then\n\
         \x20 for r in \"$wsd_ix\"/*; do r=${{r##*/}}; if wsd_in_progress \"$wsd_runs/$r/state\"; then printf '%s\\n' \"$r\"; fi; done\n\
         else\n\
         \x20 wsd_mk=; wsd_new=\n\
         \x20 if [ -d \"$wsd_runs\" ] && {{ [ -d \"$wsd_ix\" ] || mkdir -m 700 \"$wsd_ix\"; }} && [ ! -L \"$wsd_ix\" ] && rm -f \"$wsd_ix/{MARK}.new\"; then wsd_newer \"$wsd_ix/{MARK}.new\" && wsd_mk=1; fi 2>/dev/null\n\
         \x20 for r in \"$wsd_runs\"/*/state; do\n\
         \x20   wsd_in_progress \"$r\" || continue\n\
         \x20   r=${{r%/state}}; r=${{r##*/}}; printf '%s\\n' \"$r\"\n\
         \x20   [ -z \"$wsd_mk\" ] || [ -e \"$wsd_ix/$r\" ] || {{ : > \"$wsd_ix/$r\" && wsd_new=1 || wsd_mk=; }} 2>/dev/null\n\
         \x20 done\n\
         \x20 if [ -n \"$wsd_mk\" ] && [ \"$wsd_ix/{MARK}.new\" -nt \"$wsd_runs\" ]; then\n\
         \x20   {{ [ -z \"$wsd_new\" ] || sync -- \"$wsd_ix\"; }} && ln -f \"$wsd_ix/{MARK}.new\" \"$wsd_ix/{MARK}\"\n\
         \x20 fi 2>/dev/null\n\
         \x20 [ -z \"$wsd_mk\" ] || rm -f \"$wsd_ix/{MARK}.new\"\n\
         fi\n",
        runs = quote(&runs()),
        ix = quote(&dir()),
    )
}

/// The journal's first lines for the index, before its run's directory is made (under the
/// lock): whether the index is trusted (`wsd_ix`), and entries whose run is not
/// `in_progress` removed.
#[must_use]
pub fn journal_start(in_progress: &str) -> String {
    format!(
        "wsd_ix=\nif [ {ix}/{MARK} -nt {runs} ]; then wsd_ix=1; fi\n\
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

/// After the state says `in_progress`: the mark renewed when the index was trusted before
/// the run's directory was made.
#[must_use]
pub fn journal_end() -> String {
    format!(
        "wsd_runs={runs}\n{NEWER}\nif [ -n \"$wsd_ix\" ]; then wsd_newer {ix}/{MARK} || :; fi\n",
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

    /// The gather's lines, after which the index must be trusted (its mark newer than
    /// `runs/`).
    fn scan_until_indexed(state: &Path) -> String {
        let out = sh(&interrupted_runs_script(IN_PROGRESS), state);
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mark = mtime(&state.join("runs/.in_progress/.indexed"));
        assert!(
            mark.is_some() && mark > mtime(&state.join("runs")),
            "the scan did not mark the index complete"
        );
        out
    }

    #[test]
    fn a_history_without_an_index_is_scanned_once_then_only_the_index_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path();
        for n in 0..2000 {
            run(state, &id(n), "committed");
        }
        // Interrupted by a wsdeploy that kept no index.
        run(state, &id(2000), "in_progress");
        assert_eq!(scan_until_indexed(state), format!("{}\n", id(2000)));
        assert!(state.join("runs/.in_progress").join(id(2000)).is_file());
        assert!(!state.join("runs/.in_progress/.indexed.new").exists());
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
        assert_eq!(scan_until_indexed(state), "");
        // An older wsdeploy (or a hand) makes a run: `runs/` is newer than the mark.
        run(state, &id(2), "in_progress");
        assert_eq!(
            sh(&interrupted_runs_script(IN_PROGRESS), state),
            format!("{}\n", id(2))
        );
        assert_eq!(scan_until_indexed(state), format!("{}\n", id(2)));
        assert!(state.join("runs/.in_progress").join(id(2)).is_file());
    }

    #[test]
    fn no_runs_directory_is_no_run_and_nothing_is_made() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(sh(&interrupted_runs_script(IN_PROGRESS), dir.path()), "");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
