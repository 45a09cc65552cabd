//! Reading a play's `facts:` sources on the host, all in one exec: each file's bytes, or
//! `None` when it does not exist; each systemd unit's running command line. Never through
//! a name another user could swap under root: a path's symlink chain is judged first
//! (`wsd_chain`, exit [`super::EXIT_UNSAFE_PATH`] with `WSD-UNSAFE <why>`), and a file a
//! user controls is read by that user.
//!
//! Each source's stdout and stderr are kept apart on the host (a private `mktemp -d`,
//! stdout cut at [`MAX_READ_BYTES`] + 1 bytes), then sent length-framed (a fixed number
//! of processes however many sources: one `stat` for the sizes, one `cat` for the frames):
//! `WSD-READ <i> <exit> <stdout length> <stderr length>\n`, then those bytes. Whatever a
//! file holds, it stays inside its own frame. On a host without `systemctl`, units'
//! command lines alone are answered at once, with no temporary directory.
//!
//! When the facts are read in the exec of a gather (`crate::facts`), their files are read
//! by that gather with the plan's files instead (no process of their own), and
//! [`from_gathered`] turns what it found into a [`SourceRead`].

use std::fmt::Write as _;

use super::gather::{FileState, HostFile, MAX_READ_BYTES};
use super::markers::READ;
use super::{
    Become, COMMAND_LINE_SCRIPT_MAX, GATHER_BOUND, SCRIPT_BOUND, agent, quote, sudo_hint,
    wrap_command,
};
use crate::transport::{ExecOutput, Transport};

/// Exit status of a source's read when the file (or the unit's process) is not there.
const EXIT_NO_SUCH_FILE: i32 = 66;

/// One thing a `facts:` source reads on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource<'a> {
    /// A file's bytes (`None` when it does not exist).
    File(&'a str),
    /// The NUL-separated command line of a systemd unit's running main process (`None`
    /// when there is no systemctl, the unit has no main process, or it exited meanwhile).
    Cmdline(&'a str),
}

impl ReadSource<'_> {
    fn name(&self) -> &str {
        match self {
            Self::File(path) | Self::Cmdline(path) => path,
        }
    }

    /// The shell text that reads this source (in a subshell of [`read_all_script`]).
    fn body(&self) -> String {
        match self {
            Self::File(path) => {
                let p = quote(path);
                format!(
                    "wsd_chain {p} || wsd_unsafe\nif [ -e {p} ]; then wsd_as head -c {cap} -- {p}; else exit {EXIT_NO_SUCH_FILE}; fi",
                    cap = MAX_READ_BYTES + 1,
                )
            }
            Self::Cmdline(unit) => {
                let u = quote(unit);
                format!(
                    "command -v systemctl >/dev/null 2>&1 || exit {EXIT_NO_SUCH_FILE}\n\
                     pid=$(systemctl show --property=MainPID --value -- {u} 2>/dev/null) || exit {EXIT_NO_SUCH_FILE}\n\
                     case $pid in ''|0|*[!0-9]*) exit {EXIT_NO_SUCH_FILE} ;; esac\n\
                     head -c {cap} -- \"/proc/$pid/cmdline\" 2>/dev/null || exit {EXIT_NO_SUCH_FILE}",
                    cap = MAX_READ_BYTES + 1,
                )
            }
        }
    }
}

/// What one source read gave: its bytes, `None` (not there), or why it failed (naming
/// the source).
pub type SourceRead = Result<Option<Vec<u8>>, String>;

/// Reads every source in one exec; one [`SourceRead`] per source, in order.
///
/// # Errors
/// The transport fails, or the script as a whole does (sudo refused, no temporary
/// directory, an answer that is not the framed one): the message says why.
pub async fn read_all(
    transport: &Transport,
    become_user: Option<&Become>,
    sources: &[ReadSource<'_>],
) -> Result<Vec<SourceRead>, String> {
    let out = transport
        .exec_within(
            &wrap_command(&read_all_script(sources), become_user, SCRIPT_BOUND),
            None,
            SCRIPT_BOUND,
        )
        .await
        .map_err(|e| format!("reading {}: {e}", names(sources)))?;
    if !out.success() {
        let output = out.combined();
        return Err(format!(
            "reading {} ended with {}: {output}{}",
            names(sources),
            out.status_text(),
            sudo_hint(&output)
        ));
    }
    let framed = parse(&out.stdout, sources.len())
        .map_err(|why| format!("reading {}: {why}", names(sources)))?;
    Ok(judged_all(sources, framed))
}

/// [`read_all`] and `then`, another read-only script, in one exec (each in a subshell
/// of its own, `then` after the last frame): the sources' reads and `then`'s stdout.
/// `Ok(None)` when the exec did not succeed as a whole or its frames are not the framed
/// answer: the caller then runs both apart, whose errors say what failed.
///
/// # Errors
/// The transport fails (the message names the sources, as [`read_all`]'s does).
pub async fn read_all_then(
    transport: &Transport,
    become_user: Option<&Become>,
    sources: &[ReadSource<'_>],
    then: &str,
) -> Result<Option<(Vec<SourceRead>, Vec<u8>)>, String> {
    let script = read_all_then_script(sources, then);
    if script.len() >= COMMAND_LINE_SCRIPT_MAX {
        return Ok(None);
    }
    let out = transport
        .exec_within(
            &wrap_command(&script, become_user, GATHER_BOUND),
            None,
            GATHER_BOUND,
        )
        .await
        .map_err(|e| format!("reading {}: {e}", names(sources)))?;
    if !out.success() {
        return Ok(None);
    }
    Ok(split_then(&out.stdout, sources))
}

/// The output of [`read_all_then_script`] split: each source's read, and `then`'s
/// stdout; `None` when the frames are not the framed answer.
#[must_use]
pub fn split_then(stdout: &[u8], sources: &[ReadSource<'_>]) -> Option<(Vec<SourceRead>, Vec<u8>)> {
    let (framed, end) = frames(stdout, sources.len()).ok()?;
    Some((judged_all(sources, framed), stdout[end..].to_vec()))
}

/// The script of [`read_all_then`]: the agent's functions once at the top (both parts
/// include them, and each subshell inherits them), then the reads, then `then`.
#[must_use]
pub fn read_all_then_script(sources: &[ReadSource<'_>], then: &str) -> String {
    if sources.is_empty() {
        return then.to_owned();
    }
    let functions = agent::functions();
    format!(
        "{functions}( {read}) || exit $?\n( {then})\n",
        read = read_all_script(sources).replacen(&functions, "", 1),
        then = then.replacen(&functions, "", 1),
    )
}

/// A file source's read as the gather found the file (`host::gather`, which reads a
/// plan's facts' files with its own in one exec): its bytes, `None` when absent, or why
/// it could not be read.
pub fn from_gathered(file: &HostFile) -> SourceRead {
    let name = &file.requested;
    match &file.state {
        FileState::Present { content, .. } if content.len() > MAX_READ_BYTES => {
            Err(too_large(name))
        }
        FileState::Present { content, .. } => Ok(Some(content.clone())),
        FileState::Absent => Ok(None),
        FileState::NotAFile => Err(format!("reading {name}: not a regular file")),
        FileState::Unreadable => Err(format!(
            "reading {name}: permission denied to the user wsdeploy logs in as (set `become`, or set the fact in the inventory)"
        )),
        FileState::Unsafe(why) => Err(format!(
            "refusing to read {name} through a path another user could swap under root: {why}"
        )),
    }
}

/// Why a source larger than a read may be is not read.
fn too_large(name: &str) -> String {
    format!(
        "reading {name}: larger than {MAX_READ_BYTES} bytes; set the fact in the inventory instead"
    )
}

/// Each source's read, from its frame.
fn judged_all(sources: &[ReadSource<'_>], framed: Vec<ExecOutput>) -> Vec<SourceRead> {
    sources
        .iter()
        .zip(framed)
        .map(|(source, one)| judged(source, &one))
        .collect()
}

fn names(sources: &[ReadSource<'_>]) -> String {
    let names: Vec<&str> = sources.iter().map(ReadSource::name).collect();
    names.join(", ")
}

/// One source's read as an exec of its own would have ended.
fn judged(source: &ReadSource<'_>, out: &ExecOutput) -> SourceRead {
    let name = source.name();
    if out.stdout.len() > MAX_READ_BYTES {
        return Err(too_large(name));
    }
    match out.code() {
        0 => Ok(Some(out.stdout.clone())),
        EXIT_NO_SUCH_FILE => Ok(None),
        _ => {
            let output = out.combined();
            Err(format!(
                "reading {name} ended with {}: {output}{}",
                out.status_text(),
                sudo_hint(&output)
            ))
        }
    }
}

/// The script that reads every source, each in a subshell of its own (an unsafe path
/// ends only its own read) with its stdout (cut at [`MAX_READ_BYTES`] + 1 bytes by the
/// source's own `head`) and stderr in files of a private directory, then prints every
/// frame: one `stat` for all the sizes, one `cat` for all the headers and bytes.
#[must_use]
pub fn read_all_script(sources: &[ReadSource<'_>]) -> String {
    let files: Vec<&str> = sources
        .iter()
        .filter_map(|source| match source {
            ReadSource::File(path) => Some(*path),
            ReadSource::Cmdline(_) => None,
        })
        .collect();
    let mut s = format!(
        "umask 077\n{}{}{}wsd_d=$(mktemp -d) || exit 1\n\
         trap 'rm -rf -- \"$wsd_d\"' EXIT\n",
        agent::functions(),
        agent::seen(&files),
        if files.is_empty() {
            without_systemctl(sources.len())
        } else {
            String::new()
        },
    );
    for (i, source) in sources.iter().enumerate() {
        let _ = writeln!(
            s,
            "( {body}\n) > \"$wsd_d/o{i}\" 2> \"$wsd_d/e{i}\"; wsd_c{i}=$?",
            body = source.body(),
        );
    }
    let outputs: Vec<String> = (0..sources.len())
        .map(|i| format!("\"$wsd_d/o{i}\" \"$wsd_d/e{i}\""))
        .collect();
    if !outputs.is_empty() {
        let _ = writeln!(
            s,
            "wsd_sizes=$(stat -c %s -- {outputs}) || exit 1\nset -- $wsd_sizes",
            outputs = outputs.join(" ")
        );
    }
    let mut framed = Vec::with_capacity(sources.len());
    for (i, output) in outputs.iter().enumerate() {
        let _ = writeln!(
            s,
            "printf '{READ} {i} %s %s %s\\n' \"$wsd_c{i}\" \"$1\" \"$2\" > \"$wsd_d/h{i}\"; shift 2"
        );
        framed.push(format!("\"$wsd_d/h{i}\" {output}"));
    }
    if !framed.is_empty() {
        let _ = writeln!(s, "cat -- {} || exit 1", framed.join(" "));
    }
    s.push_str("exit 0\n");
    s
}

/// When every source (`count` of them) is a unit's command line: on a host without
/// `systemctl`, every frame at once (none is there), with no temporary directory and no
/// process.
fn without_systemctl(count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let frames: String = (0..count)
        .map(|i| format!("{READ} {i} {EXIT_NO_SUCH_FILE} 0 0\\n"))
        .collect();
    format!("command -v systemctl >/dev/null 2>&1 || {{ printf '{frames}'; exit 0; }}\n")
}

/// Splits the script's stdout into `count` frames, strictly: each where the previous
/// ended, numbered in order, exactly as long as its header says, nothing after the last.
fn parse(stdout: &[u8], count: usize) -> Result<Vec<ExecOutput>, String> {
    let (frames, at) = frames(stdout, count)?;
    if at != stdout.len() {
        return Err(format!("stray bytes at offset {at}"));
    }
    Ok(frames)
}

/// The first `count` frames of `stdout` (as [`parse`] reads them) and where they end.
fn frames(stdout: &[u8], count: usize) -> Result<(Vec<ExecOutput>, usize), String> {
    let mut frames = Vec::with_capacity(count);
    let mut at = 0;
    for i in 0..count {
        let (frame, end) =
            frame_at(stdout, at, i, READ).map_err(|why| format!("{why} (source {i})"))?;
        frames.push(frame);
        at = end;
    }
    Ok((frames, at))
}

/// The `i`-th frame (`<marker> <i> <exit> <stdout length> <stderr length>\n`, then
/// those bytes) starting at offset `at` of `stdout`, and where it ends.
pub(super) fn frame_at(
    stdout: &[u8],
    at: usize,
    i: usize,
    marker: &str,
) -> Result<(ExecOutput, usize), String> {
    let rest = stdout.get(at..).unwrap_or_default();
    let nl = rest
        .iter()
        .position(|&c| c == b'\n')
        .ok_or_else(|| "the host's answer ends before this frame".to_owned())?;
    let header = std::str::from_utf8(&rest[..nl]).unwrap_or_default();
    let words: Vec<&str> = header.split(' ').collect();
    let numbers = match words.as_slice() {
        [word, index, code, out_len, err_len] if *word == marker && *index == i.to_string() => code
            .trim()
            .parse::<u32>()
            .ok()
            .zip(out_len.trim().parse::<usize>().ok())
            .zip(err_len.trim().parse::<usize>().ok()),
        _ => None,
    };
    let ((code, out_len), err_len) =
        numbers.ok_or_else(|| format!("unexpected header {header:?}"))?;
    let body = &rest[nl + 1..];
    if body.len() < out_len.saturating_add(err_len) {
        return Err("a frame is shorter than its header says".to_owned());
    }
    let frame = ExecOutput {
        stdout: body[..out_len].to_vec(),
        stderr: body[out_len..out_len + err_len].to_vec(),
        exit_status: Some(code),
        exit_signal: None,
    };
    Ok((frame, at + nl + 1 + out_len + err_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::local::LocalSession;

    #[test]
    fn frames_hold_any_bytes_and_a_forged_or_short_frame_is_refused() {
        let forged = format!("{READ} 1 0 3 0\nabc");
        let body = format!("{forged}\n");
        let stdout = format!("{READ} 0 0 {} 2\n{body}e\n{READ} 1 66 0 0\n", body.len());
        let frames = parse(stdout.as_bytes(), 2).unwrap();
        assert_eq!(frames[0].stdout, body.as_bytes());
        assert_eq!(frames[0].stderr, b"e\n");
        assert_eq!(frames[1].code(), 66);
        assert!(parse(stdout.as_bytes(), 3).is_err(), "a missing frame");
        assert!(parse(&stdout.as_bytes()[..20], 2).is_err(), "a short frame");
        assert!(parse(format!("{stdout}x").as_bytes(), 2).is_err(), "stray");
        assert!(parse(forged.as_bytes(), 1).is_err(), "out of order");
    }

    #[test]
    fn the_reads_and_the_gather_in_one_exec_send_the_agents_functions_once() {
        let files = vec!["/etc/odoo/odoo.conf".to_owned()];
        let gather = super::super::gather::gather_script(
            &files,
            &[],
            super::super::dump_cache::DumpCache::Off,
        );
        let script = read_all_then_script(&[ReadSource::File("/etc/odoo/odoo.conf")], &gather);
        assert_eq!(script.matches("wsd_agent() {").count(), 1, "{script}");
        assert!(script.starts_with(&agent::functions()), "{script}");
    }

    #[tokio::test]
    async fn one_exec_reads_files_absent_ones_and_keeps_each_failure_to_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("odoo.conf");
        std::fs::write(&file, b"[options]\nworkers = 2\n\0raw").unwrap();
        let file = file.to_string_lossy().into_owned();
        let absent = dir.path().join("absent").to_string_lossy().into_owned();
        let directory = dir.path().to_string_lossy().into_owned();
        let transport = Transport::Local(LocalSession);
        let sources = [
            ReadSource::File(&file),
            ReadSource::File(&absent),
            ReadSource::File(&directory),
            ReadSource::Cmdline("wsdeploy-no-such-unit"),
        ];
        let read = read_all(&transport, None, &sources).await.unwrap();
        assert_eq!(
            read[0].as_ref().unwrap().as_deref(),
            Some(&b"[options]\nworkers = 2\n\0raw"[..])
        );
        assert_eq!(read[1], Ok(None));
        let error = read[2].as_ref().unwrap_err();
        assert!(
            error.starts_with(&format!("reading {directory} ended with exit ")),
            "{error}"
        );
        assert_eq!(read[3], Ok(None));
    }
}
