//! The per-host run journal kept under `/var/lib/wsdeploy/runs/<run-id>/`: what a run is
//! about to change, with the exact pre-images, so that any interruption can be undone.
//!
//! Layout: `manifest.json` (this module's [`Manifest`]), `pre/<i>` (pre-image of file `i`,
//! copied on the host with owner and mode), `state` (a [`JournalState`]), `ran` (indices
//! of commands started, one per line). Creating an entry is [`super::journal_entry`]; this
//! module holds the record, its states, and the scripts that update and read it back
//! with the parser of what they print.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{RunId, STATE_DIR, quote};

/// The journal record of one run on one host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub run_id: RunId,
    pub plan: String,
    pub operator: String,
    pub started: String,
    pub host: String,
    /// `apply`, `rollback`, `repair`.
    pub kind: String,
    pub files: Vec<JournalFile>,
    /// Commands that may run (reload/restart); `ran` names the ones started.
    pub commands: Vec<JournalCommand>,
}

/// One file the run may replace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JournalFile {
    pub index: usize,
    pub path: String,
    pub existed: bool,
    pub sha256: Option<String>,
    pub backup: Option<String>,
    /// The file's mode before the run (restored with it when a user writes it back).
    #[serde(default)]
    pub mode: Option<u32>,
    /// sha256 of every content the run may write to the file: a rollback restores only a
    /// file that still holds one of them (empty in older journals: no check).
    #[serde(default)]
    pub written: Vec<String>,
}

/// One command that may run, by its index in the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JournalCommand {
    pub index: usize,
    pub run: String,
    /// Whether a rollback repeats it (reload/restart steps guarded by `if_changed`).
    pub rerun_on_rollback: bool,
    /// `run` had secret values masked: recovery takes the command from the current plan.
    #[serde(default)]
    pub masked: bool,
}

/// Who is running: `user@machine`.
#[must_use]
pub fn operator() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .ok()
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".to_owned());
    format!("{user}@{host}")
}

/// The name of this process's user from /etc/passwd (when `USER` is not set, e.g. in cron).
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_owned())
    })
}

/// The `state` file of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalState {
    /// Files may have been touched: an interrupted run in this state is rolled back.
    InProgress,
    Committed,
    RolledBack,
    RollbackFailed,
}

impl JournalState {
    /// The word the `state` file holds.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Committed => "committed",
            Self::RolledBack => "rolled_back",
            Self::RollbackFailed => "rollback_failed",
        }
    }

    /// The state a `state` file's word names.
    #[must_use]
    pub fn from_word(word: &str) -> Option<Self> {
        [
            Self::InProgress,
            Self::Committed,
            Self::RolledBack,
            Self::RollbackFailed,
        ]
        .into_iter()
        .find(|s| s.word() == word)
    }
}

impl fmt::Display for JournalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The journal directory of run `run_id` on the host.
#[must_use]
pub fn dir(run_id: &RunId) -> String {
    format!("{STATE_DIR}/runs/{run_id}")
}

/// Marks a run's final state; once it is durable, the run leaves the index of unfinished
/// runs (`run_index`) unless the state is `in_progress`.
#[must_use]
pub fn set_state_script(run_id: &RunId, state: JournalState) -> String {
    let unindex = if state == JournalState::InProgress {
        String::new()
    } else {
        format!(" && {}", super::run_index::remove(run_id))
    };
    format!(
        "printf '%s\\n' {s} > {j}/state.tmp && sync -- {j}/state.tmp && mv -f {j}/state.tmp {j}/state && {{ sync -- {j} 2>/dev/null || sync; }}{unindex}\n",
        s = quote(state.word()),
        j = quote(&dir(run_id))
    )
}

/// Marks a run `committed`, then [`super::dump_cache::refresh_dumps_script`] for the new
/// configuration. Exits with the status of the marking.
#[must_use]
pub fn commit_script(run_id: &RunId, dumps: &[String]) -> String {
    format!(
        "{}st=$?\n[ $st = 0 ] || exit $st\n{}",
        set_state_script(run_id, JournalState::Committed),
        super::dump_cache::refresh_dumps_script(dumps)
    )
}

/// Opens [`read_journal_script`]'s line with the run's state.
const READ_STATE: &str = "S";
/// Opens [`read_journal_script`]'s line with the manifest, base64.
const READ_MANIFEST: &str = "M";
/// Opens [`read_journal_script`]'s line with the indices of the commands started.
const READ_RAN: &str = "R";

/// Reads an interrupted run's state, manifest and the list of commands it started:
/// `S <state>`, `M <manifest, base64>`, `R <indices>` ([`ReadBack::parse`]).
#[must_use]
pub fn read_journal_script(run_id: &RunId) -> String {
    let j = quote(&dir(run_id));
    format!(
        "printf '{READ_STATE} %s\\n' \"$(cat {j}/state 2>/dev/null)\"\n\
         printf '{READ_MANIFEST} %s\\n' \"$(base64 -w0 < {j}/manifest.json)\"\n\
         printf '{READ_RAN} %s\\n' \"$(cat {j}/ran 2>/dev/null | tr '\\n' ' ')\"\n"
    )
}

/// What [`read_journal_script`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    /// The `state` file's word, as it is (empty when there is none).
    pub state: String,
    /// The indices of the commands the run started.
    pub ran: Vec<usize>,
    /// The manifest, when it is readable and consistent: its run id is the run's, and
    /// every file that existed has a sha256.
    pub manifest: Option<Manifest>,
}

impl ReadBack {
    /// Reads the output of [`read_journal_script`] for `run_id`.
    #[must_use]
    pub fn parse(output: &str, run_id: &RunId) -> Self {
        let field = |prefix: &str| {
            output
                .lines()
                .find_map(|l| l.strip_prefix(prefix)?.strip_prefix(' '))
                .unwrap_or_default()
        };
        let ran = field(READ_RAN)
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let manifest = decode_manifest(field(READ_MANIFEST)).filter(|m| {
            m.run_id == *run_id && m.files.iter().all(|f| !f.existed || f.sha256.is_some())
        });
        Self {
            state: field(READ_STATE).to_owned(),
            ran,
            manifest,
        }
    }

    /// Whether the run is still `in_progress` (interrupted).
    #[must_use]
    pub fn in_progress(&self) -> bool {
        JournalState::from_word(&self.state) == Some(JournalState::InProgress)
    }
}

/// A manifest sent base64-encoded (`None` when it is not one).
#[must_use]
pub fn decode_manifest(base64: &str) -> Option<Manifest> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;

    fn id(text: &str) -> RunId {
        RunId::parse(text).expect("a run id")
    }

    #[test]
    fn manifest_round_trips_as_json() {
        let m = Manifest {
            run_id: RunId::new(),
            plan: "odoo-websocket".into(),
            operator: "ops@control".into(),
            started: "2026-01-01T00:00:00Z".into(),
            host: "lab-1".into(),
            kind: "apply".into(),
            files: vec![JournalFile {
                index: 0,
                path: "/etc/nginx/nginx.conf".into(),
                existed: true,
                sha256: Some(sha256_hex(b"x")),
                backup: None,
                mode: Some(0o640),
                written: vec![sha256_hex(b"y")],
            }],
            commands: vec![JournalCommand {
                index: 3,
                run: "nginx -s reload".into(),
                rerun_on_rollback: true,
                masked: false,
            }],
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }

    #[test]
    fn states_are_the_words_of_the_state_file() {
        for state in [
            JournalState::InProgress,
            JournalState::Committed,
            JournalState::RolledBack,
            JournalState::RollbackFailed,
        ] {
            assert_eq!(JournalState::from_word(state.word()), Some(state));
            assert!(
                set_state_script(&id("20261123T000000Z-00ab12"), state)
                    .starts_with(&format!("printf '%s\\n' '{state}' >"))
            );
        }
        assert_eq!(JournalState::from_word("done"), None);
    }

    #[test]
    fn a_run_read_back_gives_its_state_commands_and_only_a_consistent_manifest() {
        let run_id = id("20261123T000000Z-00ab12");
        let manifest = |run_id: &RunId| Manifest {
            run_id: run_id.clone(),
            plan: "p".into(),
            operator: "o".into(),
            started: "s".into(),
            host: "h".into(),
            kind: "apply".into(),
            files: Vec::new(),
            commands: Vec::new(),
        };
        let b64 = |m: &Manifest| {
            base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(m).unwrap())
        };
        let out = format!("S in_progress\nM {}\nR 2 5 \n", b64(&manifest(&run_id)));
        let read = ReadBack::parse(&out, &run_id);
        assert!(read.in_progress());
        assert_eq!(read.ran, [2, 5]);
        assert_eq!(read.manifest, Some(manifest(&run_id)));
        let other = format!(
            "S committed\nM {}\nR \n",
            b64(&manifest(&id("20261123T000000Z-00ab13")))
        );
        let read = ReadBack::parse(&other, &run_id);
        assert!(!read.in_progress());
        assert_eq!(read.state, "committed");
        assert_eq!(read.manifest, None);
    }
}
