//! A well-behaved host, scripted: gather output built as `host::gather` frames it, the
//! answers of a host where every script succeeds, and each recorded call read back as the
//! host operation it is ([`Op`]), so a test can compare whole sequences.

use std::fmt::Write as _;

use crate::host::markers::{
    BACKUP, BOUNDARY_PREFIX, GATHER, HOLDER_RAN, JOURNALED, LOCKED, NO_JOURNAL, PART, RESTORED,
    WROTE,
};
use crate::transport::Transport;
use crate::transport::scripted::{Call, CallKind, Reply, ScriptedHost};

/// A boundary as a host makes it (the prefix, then random hex).
pub(super) fn boundary() -> String {
    format!("{BOUNDARY_PREFIX}7c9e6679742540de944be07fc1f90ae7")
}

/// One file as the host has it: its path and its bytes (`None`: absent).
pub(super) type HostFileSpec<'a> = (&'a str, Option<&'a [u8]>);

/// A gather's stdout for `files` (in the plan's order, none of them a symlink), the
/// journal's runs still `in_progress`, and dump outputs (`exit`, output).
pub(super) fn gather_reply(
    files: &[HostFileSpec<'_>],
    interrupted: &[&str],
    dumps: &[(i32, &str)],
) -> Vec<u8> {
    let b = boundary();
    let mut out = format!("{GATHER} {b}\n").into_bytes();
    let section = |out: &mut Vec<u8>, name: &str, body: &[u8]| {
        out.extend_from_slice(format!("\n{b} {name}\n").as_bytes());
        out.extend_from_slice(body);
    };
    if !files.is_empty() {
        let reals: Vec<u8> = files
            .iter()
            .flat_map(|(p, _)| [p.as_bytes(), b"\0"].concat())
            .collect();
        section(&mut out, "R", &reals);
        let states: String = files
            .iter()
            .map(|(_, c)| if c.is_some() { "present\n" } else { "absent\n" })
            .collect();
        section(&mut out, "S", states.as_bytes());
        let contents: Vec<u8> = files
            .iter()
            .filter_map(|(_, c)| *c)
            .flatten()
            .copied()
            .collect();
        section(&mut out, "C", &contents);
    }
    let mut stats = String::new();
    for (path, content) in files {
        if let Some(c) = content {
            let _ = write!(
                stats,
                "644 0 0 {} 4242 1765000000.000000000 1765000000.000000000 {path}\0",
                c.len()
            );
        }
    }
    section(&mut out, "T", stats.as_bytes());
    let runs: String = interrupted.iter().map(|r| format!("{r}\n")).collect();
    section(&mut out, "J", runs.as_bytes());
    for (i, (exit, output)) in dumps.iter().enumerate() {
        section(
            &mut out,
            &format!("D {i} {} {exit}", output.len()),
            output.as_bytes(),
        );
    }
    out
}

/// `host` with the answers of a host where everything succeeds appended (rules a test
/// added first win): `gather` for the gather, the lock taken, the journal complete with
/// its backup and first writes, every write, command, check, restore and state change
/// exiting 0.
pub(super) fn well_behaved(host: ScriptedHost, gather: Vec<u8>, backup: &str) -> ScriptedHost {
    let wrote: String = (0..8).map(|i| format!("{WROTE} {i}\n")).collect();
    let parts: Vec<(u32, &str, &str)> = (0..8).map(|_| (0, wrote.as_str(), "")).collect();
    host.on(GATHER, Reply::ok(gather))
        .on(PART, Reply::ok(frames(&parts)))
        .on("'committed'", Reply::ok(holder_ran(0, "")))
        .on("flock", Reply::ok(format!("{LOCKED}\n")))
        .on(
            JOURNALED,
            Reply::ok(format!("{JOURNALED}\n{BACKUP} {backup}\n{wrote}")),
        )
        .on(
            NO_JOURNAL,
            Reply::ok(format!("{RESTORED} {}\n", super::CONF)),
        )
        .on(WROTE, Reply::ok(wrote))
        .on("state.tmp", Reply::ok(""))
        .on("eval \"$(cat)\"", Reply::ok("ok\n"))
}

/// The lock holder's answer to a script it ran (the commit).
pub(super) fn holder_ran(exit: u32, output: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(output);
    format!("{HOLDER_RAN} {exit} {encoded}\n")
}

/// A sequence's answer: one frame per `(exit, stdout, stderr)`, in order.
pub(super) fn frames(parts: &[(u32, &str, &str)]) -> Vec<u8> {
    parts
        .iter()
        .enumerate()
        .flat_map(|(i, (exit, out, err))| {
            format!("{PART} {i} {exit} {} {}\n{out}{err}", out.len(), err.len()).into_bytes()
        })
        .collect()
}

/// A host operation, as read from one recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    /// The one-round-trip read.
    Gather,
    /// The lock holder started / closed.
    Lock,
    Unlock,
    /// The plan's text run as a check or a reload re-run (`host::plan_command`).
    Check(String),
    /// Plan commands inside the transaction, journaled as started, in one exec with the
    /// writes before them (`<write>`), joined by `; `.
    Command(String),
    /// The journal entry (pre-images, manifest, backups) and the first writes.
    Journal,
    /// A compare-and-swap write of files.
    Write,
    /// The pre-images put back.
    Restore,
    /// An interrupted run's journal read back.
    ReadJournal,
    /// The run's journal state set (`committed`, `rolled_back`, `rollback_failed`); the
    /// commit is sent to the lock's holder, which runs it in its own session.
    State(String),
    /// Anything else (its command line).
    Other(String),
}

impl Op {
    fn of(call: &Call) -> Self {
        let stdin = call.stdin_text();
        match call.kind {
            CallKind::Spawn => return Self::Lock,
            CallKind::Close => return Self::Unlock,
            CallKind::Exec | CallKind::Send => {}
        }
        if call.command.contains(GATHER) || stdin.contains(GATHER) {
            Self::Gather
        } else if call.command.contains("eval \"$(cat)\"") {
            Self::Check(stdin)
        } else if stdin.contains(PART) {
            let parts: Vec<&str> = stdin
                .lines()
                .filter_map(|l| {
                    if l.starts_with("( set -eu") {
                        Some("<write>")
                    } else {
                        l.trim_start()
                            .strip_prefix("wsd_r=")
                            .filter(|r| !r.is_empty())
                    }
                })
                .map(|r| r.trim_matches('\''))
                .collect();
            Self::Command(parts.join("; "))
        } else if stdin.contains(JOURNALED) {
            Self::Journal
        } else if stdin.contains(NO_JOURNAL) {
            Self::Restore
        } else if stdin.contains("base64 -w0 <") {
            Self::ReadJournal
        } else if stdin.contains(WROTE) {
            Self::Write
        } else if let Some(state) = state_set(&stdin) {
            Self::State(state)
        } else {
            Self::Other(call.command.clone())
        }
    }
}

/// The state a `journal::set_state_script` (or the commit script) writes.
fn state_set(script: &str) -> Option<String> {
    let rest = script.split_once("printf '%s\\n' '")?.1;
    let (word, after) = rest.split_once('\'')?;
    after
        .trim_start()
        .starts_with("> ")
        .then(|| word.to_owned())
}

/// The operations `host` saw, in order.
pub(super) fn ops(host: &ScriptedHost) -> Vec<Op> {
    host.calls().iter().map(Op::of).collect()
}

/// The transport to hand the engine.
pub(super) fn transport(host: &ScriptedHost) -> Transport {
    Transport::Scripted(host.clone())
}
