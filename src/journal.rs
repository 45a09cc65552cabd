//! The per-host run journal kept under `/var/lib/wsdeploy/runs/<run-id>/`: what a run is
//! about to change, with the exact pre-images, so that any interruption can be undone.
//!
//! Layout: `manifest.json` (this module's [`Manifest`]), `pre/<i>` (pre-image of file `i`,
//! copied on the host with owner and mode), `state` (`in_progress`, `committed`,
//! `rolled_back`, `rollback_failed`), `ran` (indices of commands started, one per line).

use serde::{Deserialize, Serialize};

/// The journal record of one run on one host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub run_id: String,
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

/// A new run id: UTC time plus a random suffix, sortable and unique enough per fleet.
#[must_use]
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let nanos = u64::from(now.timestamp_subsec_nanos());
    let mix = nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    format!("{}-{:06x}", now.format("%Y%m%dT%H%M%SZ"), mix & 0xff_ffff)
}

/// Whether `id` has the form [`new_run_id`] makes (`YYYYMMDDTHHMMSSZ-xxxxxx`): the only
/// names wsdeploy ever reads back from a host's journal (no `/`, no `..`).
#[must_use]
pub fn is_run_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 23
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
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

/// sha256 of bytes as lowercase hex.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_as_json() {
        let m = Manifest {
            run_id: new_run_id(),
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
        assert!(is_run_id(&m.run_id), "{}", m.run_id);
        for bad in [
            "../../../tmp/x",
            "20261123T000000Z-00000g",
            "20261123T000000Z-0000",
            "",
        ] {
            assert!(!is_run_id(bad), "{bad}");
        }
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
