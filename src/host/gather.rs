//! The gather phase: one round trip that reads every file a host's plan touches, the
//! config dumps it needs (`nginx -T`) and the journal's interrupted runs.

use std::fmt::Write as _;

use super::agent;
use super::dump_cache::{self, DumpCache, STAT_FORMAT};
use super::gather_protocol::{Presence, STORED, Section, TOO_LARGE};
use super::markers::{BOUNDARY_PREFIX, GATHER};
use super::script::Script;
use super::{
    Become, COMMAND_LINE_SCRIPT_MAX, GATHER_BOUND, RunId, STATE_DIR, bound_secs, quote,
    script_runner, sudo_hint, wrap_command,
};
use crate::transport::{Transport, TransportError};

/// A gather reads at most this many bytes of a file (one more, to see that it is larger):
/// larger files are refused without being sent whole.
pub const MAX_READ_BYTES: usize = 8 * 1024 * 1024;
// A stored copy (output and fingerprint lines) is read like a file: it must fit.
const _: () = assert!(2 * dump_cache::MAX_STORED_OUTPUT <= MAX_READ_BYTES);
/// A gather keeps at most this much of a dump's output (`nginx -T`); more is refused.
pub const MAX_DUMP_BYTES: usize = 32 * 1024 * 1024;

/// A file as found on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// The path as the plan wrote it.
    pub requested: String,
    /// The path after following symlinks (the one that gets edited).
    pub real: String,
    pub state: FileState,
}

/// Whether and how a file exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Present {
        mode: u32,
        uid: u32,
        gid: u32,
        content: Vec<u8>,
    },
    Absent,
    /// Exists but is not a regular file (directory, device...).
    NotAFile,
    Unreadable,
    /// Another user could swap a name on its way under root (why): not read.
    Unsafe(String),
}

/// The output of a dump command such as `nginx -T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub command: String,
    pub exit: i32,
    pub output: String,
    /// When the output came from the host's fingerprinted copy: the paths whose
    /// fingerprint vouches for it.
    pub cached_for: Option<Vec<String>>,
}

/// Everything the gather phase learned.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub files: Vec<HostFile>,
    pub dumps: Vec<Dump>,
    /// Runs whose journal still says `in_progress` (interrupted).
    pub interrupted: Vec<RunId>,
    /// A dump's stored copy did not match its fresh fingerprint (so it was not used).
    pub stale_dump: bool,
}

/// Why gathering failed.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(
        "reading the host's files and config dumps did not finish within {0}s, so the host stopped it (a file or `nginx -T` include that never ends, such as a FIFO?); nothing was written"
    )]
    TimedOut(u64),
    #[error("reading the host's files failed ({status}): {output}")]
    Script { status: String, output: String },
    #[error("{}", super::state_dir::refusal(STATE_DIR, .0))]
    UnsafeStateDir(String),
    #[error("unexpected output while reading the host's files: {0}")]
    Protocol(String),
    #[error("a file changed on the host while it was being read ({0}); run again")]
    ChangedWhileRead(String),
    #[error("the output of `{0}` is larger than {max} MiB: refusing to read it", max = MAX_DUMP_BYTES / 1024 / 1024)]
    TooLarge(String),
}

/// Gathers `files` and `dumps` in one exec: twice when a file changed while it was read,
/// or when a dump's stored copy cannot be used — its fingerprint no longer matches, or
/// `trusted` (the caller, who can parse the dump) refuses it — then the dump runs.
///
/// # Errors
/// Transport failure, or output that does not follow the protocol.
pub async fn gather(
    transport: &Transport,
    become_user: Option<&Become>,
    files: &[String],
    dumps: &[String],
    cache: DumpCache,
    trusted: impl Fn(&Dump) -> bool,
) -> Result<Gathered, GatherError> {
    let first = match gather_once(transport, become_user, files, dumps, cache).await {
        Err(GatherError::ChangedWhileRead(_)) => {
            gather_once(transport, become_user, files, dumps, cache).await
        }
        other => other,
    }?;
    if !first.stale_dump
        && first
            .dumps
            .iter()
            .all(|d| d.cached_for.is_none() || trusted(d))
    {
        return Ok(first);
    }
    gather_once(transport, become_user, files, dumps, DumpCache::Off).await
}

/// A gather run ahead of time, in the exec that read the facts (`host::read::read_all_then`),
/// for the files and dumps the plan had before its facts were read.
#[derive(Debug, Clone)]
pub struct Prefetched {
    pub files: Vec<String>,
    pub dumps: Vec<String>,
    pub gathered: Gathered,
}

impl Prefetched {
    /// What a gather of `files`, then `extra` (files read for another purpose: a plan's
    /// facts), printed by [`gather_script`] (`DumpCache::Read`) as `stdout`: every file as
    /// read (`files`' then `extra`'s), and the gather of `files` alone (which knows
    /// whether a stored dump was stale). `None` when the output does not follow the
    /// protocol or a file changed while it was read.
    #[must_use]
    pub fn parse_ahead(
        stdout: &[u8],
        files: &[String],
        extra: &[String],
        dumps: &[String],
    ) -> Option<(Vec<HostFile>, Self)> {
        let all: Vec<String> = files.iter().chain(extra).cloned().collect();
        let mut gathered = parse(stdout, &all, dumps).ok()?;
        let read = gathered.files.clone();
        gathered.files.truncate(files.len());
        let prefetched = Self {
            files: files.to_vec(),
            dumps: dumps.to_vec(),
            gathered,
        };
        Some((read, prefetched))
    }

    /// What this gather says of one of `files` and `dumps`, every stored dump judged by
    /// `trusted` (as [`gather`] judges it).
    #[must_use]
    pub fn take_for(
        self,
        files: &[String],
        dumps: &[String],
        trusted: impl Fn(&Dump) -> bool,
    ) -> Ahead {
        if self.files != files || self.dumps != dumps {
            return Ahead::Other;
        }
        let usable = !self.gathered.stale_dump
            && self
                .gathered
                .dumps
                .iter()
                .all(|d| d.cached_for.is_none() || trusted(d));
        if usable {
            Ahead::Gathered(self.gathered)
        } else {
            Ahead::DumpsMustRun
        }
    }
}

/// What a gather read ahead says of the gather a plan needs.
#[derive(Debug)]
pub enum Ahead {
    /// It stands for that gather.
    Gathered(Gathered),
    /// It read the same files, but a stored dump was stale or not trusted: the gather
    /// must run the dumps (`DumpCache::Off`) without trying the stored copies again.
    DumpsMustRun,
    /// It read other files or dumps.
    Other,
}

async fn gather_once(
    transport: &Transport,
    become_user: Option<&Become>,
    files: &[String],
    dumps: &[String],
    cache: DumpCache,
) -> Result<Gathered, GatherError> {
    // The script holds no secret (the host makes the boundary), so it may travel on the
    // command line: sshd opens a session with an empty input window, so stdin would cost
    // one more round trip on the hot path of every check.
    let script = gather_script(files, dumps, cache);
    let out = if script.len() < COMMAND_LINE_SCRIPT_MAX {
        transport
            .exec_within(
                &wrap_command(&script, become_user, GATHER_BOUND),
                None,
                GATHER_BOUND,
            )
            .await?
    } else {
        transport
            .exec_within(
                &script_runner(become_user, GATHER_BOUND),
                Some(script.as_bytes()),
                GATHER_BOUND,
            )
            .await?
    };
    if out.timed_out() {
        return Err(GatherError::TimedOut(bound_secs(GATHER_BOUND)));
    }
    if !out.success() {
        let output = out.combined();
        if let Some(why) = super::state_dir::refused(&output) {
            return Err(GatherError::UnsafeStateDir(why.to_owned()));
        }
        return Err(GatherError::Script {
            status: out.status_text(),
            output: format!("{output}{}", sudo_hint(&output)),
        });
    }
    parse(&out.stdout, files, dumps)
}

/// The read-only script that gathers, in one round trip, every file a plan touches, the
/// outputs of config-dump commands (`nginx -T`) and interrupted runs in the journal.
///
/// Fork-light on purpose (it runs on every host of every check): one `stat` up front for
/// the owners and modes every file's symlink chain is judged by (`agent::seen`; the real
/// paths come from that walk), one `head` and one `stat` for all files, raw bytes (no encoding on the host), the journal
/// scanned with shell builtins, and a dump's stored copy ([`DumpCache`]) sent with the
/// fresh `stat` of the paths it watches for the controller to compare.
///
/// The section boundary is made on the host (`/proc/sys/kernel/random/uuid`, read by the
/// shell's `read`; `od` of `/dev/urandom` elsewhere) and printed first
/// (`WSD-GATHER <boundary>`): it is in no process's argv or environment, so no local user
/// can learn it (`/proc/*/cmdline`) while a dump runs and forge a section through a file
/// the dump shows. The sections follow in a fixed order, each opened by a line
/// `\n<boundary> <name>\n`:
/// `R` the real paths, NUL-terminated, one per file; `S` one line per file (`present`,
/// `absent`, `other`, `unreadable`); `C` the present files' bytes, then the stored dumps'
/// copies (`<n>\n`, `n` fingerprint lines, the output), back to back, with the same
/// `head`; `T` a NUL-terminated [`STAT_FORMAT`] record per present file and per copy (their
/// sizes split `C`), then one per path the copies watch; `J` one line per run still
/// `in_progress`; `D <i> <length> <exit>` the raw output of dump `i` (exactly `length`
/// bytes; exit `toolarge` when it exceeded [`MAX_DUMP_BYTES`]), or `D <i> stored` when
/// its copy in `C` stands for it.
/// A dump's output, the only text a user other than root may shape, is length-framed.
#[must_use]
pub fn gather_script(files: &[String], dumps: &[String], cache: DumpCache) -> String {
    // With files: the agent's functions, and what `stat` says of every path and directory
    // the script judges (the files' and the state directory's), before the state check,
    // which then takes the state directory's from it too.
    let (agent, state) = if files.is_empty() {
        (String::new(), super::state_dir::check(STATE_DIR, 2))
    } else {
        let mut paths: Vec<&str> = files.iter().map(String::as_str).collect();
        paths.push(STATE_DIR);
        (
            format!("{}{}", agent::functions(), agent::seen(&paths)),
            super::state_dir::check_seen(STATE_DIR, 2),
        )
    };
    let mut s = Script::new(&format!(
        "set -u\nLC_ALL=C; export LC_ALL\n{agent}{state}\
         B=; {{ IFS= read -r B < /proc/sys/kernel/random/uuid; }} 2>/dev/null\n\
         [ -n \"$B\" ] || B=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')\n\
         [ -n \"$B\" ] || {{ echo 'wsdeploy: no random source on the host' >&2; exit 1; }}\n\
         B={BOUNDARY_PREFIX}$B\nprintf '{GATHER} %s\\n' \"$B\"\nset --\nwsd_n=0 wsd_users=\n{OWNER}",
    ));
    if !files.is_empty() {
        file_sections(&mut s, files);
    }
    read_sections(&mut s, !files.is_empty(), dumps, cache == DumpCache::Read);
    s.exit_0()
}

/// `C` (when there are files or dumps), `T`, `J` and the dumps' `D`s; with `stored`, each
/// dump's stored copy is read in `C` and its watched paths `stat`ed in `T`.
fn read_sections(s: &mut Script, files: bool, dumps: &[String], stored: bool) {
    if stored {
        stored_copies_in_args(s, dumps);
    }
    if files || !dumps.is_empty() {
        contents_section(s);
    }
    if stored {
        watch_stored(s, dumps);
    }
    stat_and_journal_sections(s);
    for (i, cmd) in dumps.iter().enumerate() {
        dump_section(s, i, cmd, stored);
    }
}

/// `R` and `S`; the present files are left in `"$@"` for `C` and `T`.
///
/// Every file's symlink chain is judged first (`wsd_chain`, see `agent`): a path another
/// user could swap under root is `unsafe <why>` and is never read. A file a user controls
/// is examined and read by that user (`wsd_as`), its owner recorded as `wsd_c<n>` for
/// `C` and `T`.
fn file_sections(s: &mut Script, files: &[String]) {
    let quoted: Vec<String> = files.iter().map(|f| quote(f)).collect();
    let list = quoted.join(" ");
    let _ = write!(
        s,
        "printf '\\n%s {reals}\\n' \"$B\"\n\
         wsd_ss=\n\
         for f in {list}; do\n\
         \x20 if ! wsd_chain \"$f\"; then readlink -m -z -- \"$f\"; wsd_ss=\"$wsd_ss$(printf '{unsafe_word} %s' \"$wsd_why\" | tr '\\n' ' ')$wsd_nl\"; continue; fi\n\
         \x20 case $f in /*) printf '%s\\0' \"$wsd_real\" ;; *) readlink -m -z -- \"$f\" ;; esac\n\
         \x20 if [ \"$wsd_u\" != 0 ]; then wsd_st=$(wsd_as sh -c {examine} sh \"$f\")\n\
         \x20 elif [ -f \"$f\" ]; then if [ -r \"$f\" ]; then wsd_st={present}; else wsd_st={unreadable}; fi\n\
         \x20 elif [ -e \"$f\" ]; then wsd_st={other}\n\
         \x20 else wsd_st={absent}; fi\n\
         \x20 wsd_ss=$wsd_ss$wsd_st$wsd_nl\n\
         \x20 [ \"$wsd_st\" = {present} ] || continue\n\
         \x20 set -- \"$@\" \"$f\"; wsd_n=$((wsd_n + 1)); eval \"wsd_c$wsd_n=\\$wsd_u:\\$wsd_g\"\n\
         \x20 [ \"$wsd_u\" = 0 ] || wsd_users=1\n\
         done\n\
         printf '\\n%s {states}\\n%s' \"$B\" \"$wsd_ss\"\n",
        examine = quote(&examine()),
        reals = Section::Reals,
        states = Section::States,
        unsafe_word = Presence::Unsafe,
        present = Presence::Present,
        unreadable = Presence::Unreadable,
        other = Presence::Other,
        absent = Presence::Absent,
    );
}

/// `C`: the bytes of every path in `"$@"` (the present files, then the stored copies), one
/// `head` for all when root reads them all, else each as its owner (`wsd_owner`; root for
/// a stored copy).
fn contents_section(s: &mut Script) {
    let _ = write!(
        s,
        "printf '\\n%s {contents}\\n' \"$B\"\n\
         if [ -z \"$wsd_users\" ]; then [ $# -eq 0 ] || head -q -c {read_cap} -- \"$@\"\n\
         else wsd_i=0; for f in \"$@\"; do wsd_i=$((wsd_i + 1)); wsd_owner $wsd_i head -c {read_cap} -- \"$f\"; done; fi\n",
        read_cap = MAX_READ_BYTES + 1,
        contents = Section::Contents,
    );
}

/// What a file is, as seen by the user who controls it (`S`'s words).
fn examine() -> String {
    format!(
        "if [ -f \"$1\" ]; then if [ -r \"$1\" ]; then echo {present}; else echo {unreadable}; fi; elif [ -e \"$1\" ]; then echo {other}; else echo {absent}; fi",
        present = Presence::Present,
        unreadable = Presence::Unreadable,
        other = Presence::Other,
        absent = Presence::Absent,
    )
}

/// `wsd_owner N CMD…`: CMD as the owner recorded for the `N`th present file (root for
/// any other path).
const OWNER: &str = "wsd_owner() { eval \"wsd_u=\\${wsd_c$1:-0:0}\"; wsd_g=${wsd_u#*:}; wsd_u=${wsd_u%%:*}; shift; wsd_as \"$@\"; }\n";

/// Appends each dump's stored copy, when there is one, to `"$@"`: `C` reads it with the
/// files (no process of its own) and `T` gives its size.
fn stored_copies_in_args(s: &mut Script, dumps: &[String]) {
    for (i, cmd) in dumps.iter().enumerate() {
        let c = quote(&dump_cache::dump_cache_path(cmd));
        let _ = writeln!(
            s,
            "wsd_stored_{i}=; if [ -f {c} ] && [ -f {c}.paths ]; then set -- \"$@\" {c}; wsd_stored_{i}=1; fi"
        );
    }
}

/// Appends the paths each stored copy watches to `"$@"`, so that one `stat` covers them
/// all (`command .`: a damaged file is an error to skip, not the end of the script; that
/// dump then runs).
fn watch_stored(s: &mut Script, dumps: &[String]) {
    for (i, cmd) in dumps.iter().enumerate() {
        let c = quote(&dump_cache::dump_cache_path(cmd));
        let _ = writeln!(
            s,
            "[ -z \"$wsd_stored_{i}\" ] || command . {c}.paths 2>/dev/null || wsd_stored_{i}="
        );
    }
}

/// `T` (one `stat` for every path in `"$@"`) and `J`, the runs still `in_progress`, from
/// the host's index of them (`run_index`): builtins only, the same cost however long the
/// run history is.
fn stat_and_journal_sections(s: &mut Script) {
    let _ = write!(
        s,
        "printf '\\n%s {stats}\\n' \"$B\"\n\
         if [ -n \"$wsd_users\" ]; then wsd_i=0; while [ $wsd_i -lt $wsd_n ]; do wsd_i=$((wsd_i + 1)); wsd_owner $wsd_i stat -L --printf {f} -- \"$1\"; shift; done; fi\n\
         [ $# -eq 0 ] || stat -L --printf {f} -- \"$@\"\n",
        f = quote(&format!("{STAT_FORMAT}\\0")),
        stats = Section::Stats,
    );
    let _ = writeln!(s, "printf '\\n%s {}\\n' \"$B\"", Section::Journal);
    s.push(&super::run_index::interrupted_runs_script(
        super::journal::JournalState::InProgress.word(),
    ));
}

/// `D <i>`: the stored copy when there is one and `stored`, else the dump's fresh output.
///
/// `eval` in a subshell: the dump command cannot end or break the script. The output is
/// held by the shell (`x` keeps its trailing newlines, `${#o}` counts bytes under
/// LC_ALL=C) so that its length can open the section. Only standard output is the dump
/// (nginx's warnings go to standard error); when the command fails, it runs again to
/// show what it printed on both.
fn dump_section(s: &mut Script, i: usize, cmd: &str, stored: bool) {
    let fresh = format!(
        "wsd_o=$( {{ ( eval {c} ) 2>/dev/null </dev/null; echo \"x$?\"; }} | head -c {dump_cap} )\n\
         if [ ${{#wsd_o}} -lt {dump_cap} ] && [ \"${{wsd_o##*x}}\" != 0 ]; then wsd_o=$( {{ ( eval {c} ) 2>&1 </dev/null; echo \"x$?\"; }} | head -c {dump_cap} ); fi\n\
         if [ ${{#wsd_o}} -ge {dump_cap} ]; then wsd_rc={TOO_LARGE}; wsd_o=; else wsd_rc=${{wsd_o##*x}}; wsd_o=${{wsd_o%x*}}; fi\n\
         case $wsd_rc in {TOO_LARGE}) ;; ''|*[!0-9]*) wsd_rc=-1 ;; esac\n\
         printf '\\n%s {dump} {i} %s %s\\n%s' \"$B\" \"${{#wsd_o}}\" \"$wsd_rc\" \"$wsd_o\"\n",
        c = quote(cmd),
        dump_cap = MAX_DUMP_BYTES + 64,
        dump = Section::Dump,
    );
    if stored {
        let _ = write!(
            s,
            "if [ -n \"$wsd_stored_{i}\" ]; then printf '\\n%s {dump} {i} {STORED}\\n' \"$B\"\nelse\n{fresh}fi\n",
            dump = Section::Dump,
        );
    } else {
        s.push(&fresh);
    }
}

/// One section of the script's output.
struct Framed<'a> {
    /// The header's words after the boundary (`R`, `D 0 stored 123`…).
    name: &'a str,
    body: &'a [u8],
}

/// Splits the script's output into its sections, strictly: the first line names the
/// boundary; each section starts right where the previous one ended; a section whose
/// header gives a length (`D`) is exactly that long, whatever its bytes hold.
fn sections(stdout: &[u8]) -> Result<Vec<Framed<'_>>, GatherError> {
    let protocol = |what: String| GatherError::Protocol(what);
    let first_nl = stdout
        .iter()
        .position(|&c| c == b'\n')
        .ok_or_else(|| protocol("no header line".to_owned()))?;
    let first = std::str::from_utf8(&stdout[..first_nl])
        .map_err(|_| protocol("header line is not text".to_owned()))?;
    let boundary = first
        .strip_prefix(GATHER)
        .and_then(|b| b.strip_prefix(' '))
        .filter(|b| b.starts_with(BOUNDARY_PREFIX) && b.len() >= 22 && !b.contains([' ', '\0']))
        .ok_or_else(|| protocol(format!("unexpected first line {first:?}")))?;
    let marker = format!("\n{boundary} ");
    let marker = marker.as_bytes();
    let mut out = Vec::new();
    let mut at = first_nl + 1;
    while at < stdout.len() {
        if !stdout[at..].starts_with(marker) {
            return Err(protocol(format!("stray bytes at offset {at}")));
        }
        let header_start = at + marker.len();
        let nl = stdout[header_start..]
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| protocol("unterminated section header".to_owned()))?;
        let name = std::str::from_utf8(&stdout[header_start..header_start + nl])
            .map_err(|_| protocol("section header is not text".to_owned()))?;
        let body_start = header_start + nl + 1;
        let end = match framed_length(name) {
            Some(length) => body_start
                .checked_add(length)
                .filter(|&e| e <= stdout.len())
                .ok_or_else(|| protocol(format!("section `{name}` is shorter than it says")))?,
            None => find(&stdout[body_start..], marker).map_or(stdout.len(), |p| body_start + p),
        };
        out.push(Framed {
            name,
            body: &stdout[body_start..end],
        });
        at = end;
    }
    Ok(out)
}

/// The length a `D` header announces (`D <i> <length> <exit>`; `D <i> stored` is empty).
fn framed_length(name: &str) -> Option<usize> {
    let words: Vec<&str> = name.split(' ').collect();
    match words.as_slice() {
        [d, _, STORED] if *d == Section::Dump.letter() => Some(0),
        [d, _, length, _] if *d == Section::Dump.letter() => length.parse().ok(),
        _ => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn lines(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The sections' contents, as read, before they are checked against each other.
#[derive(Default)]
struct Raw<'a> {
    reals: Vec<String>,
    states: Vec<String>,
    stats: Vec<String>,
    contents: &'a [u8],
    interrupted: Vec<RunId>,
    /// Dumps whose stored copy (in `C`) stands for them, by dump index.
    stored: Vec<usize>,
    /// Dumps that ran, by dump index.
    found: Vec<(usize, Dump)>,
}

/// NUL-terminated records.
fn records(body: &[u8]) -> Vec<String> {
    body.split(|&c| c == 0)
        .filter(|r| !r.is_empty())
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

impl<'a> Raw<'a> {
    /// Takes one section in.
    fn take(&mut self, name: &str, body: &'a [u8], dumps: &[String]) -> Result<(), GatherError> {
        match Section::from_letter(name) {
            Some(Section::Reals) => self.reals = records(body),
            Some(Section::States) => self.states = lines(body),
            Some(Section::Stats) => self.stats = records(body),
            Some(Section::Contents) => self.contents = body,
            // Only names `RunId::new` makes: anything else is not a run.
            Some(Section::Journal) => {
                self.interrupted = lines(body)
                    .into_iter()
                    .filter_map(|id| RunId::parse(&id))
                    .collect();
            }
            Some(Section::Dump) | None => self.take_dump(name, body, dumps)?,
        }
        Ok(())
    }

    /// A `D` section: the stored copy, or the output of a dump that ran.
    fn take_dump(
        &mut self,
        name: &str,
        body: &'a [u8],
        dumps: &[String],
    ) -> Result<(), GatherError> {
        let protocol = || GatherError::Protocol(name.to_owned());
        let words: Vec<&str> = name.split(' ').collect();
        let index: usize = words
            .get(1)
            .and_then(|i| i.parse().ok())
            .ok_or_else(protocol)?;
        let command = dumps.get(index).ok_or_else(protocol)?.clone();
        if words.first().copied() != Some(Section::Dump.letter()) {
            return Err(protocol());
        }
        match words.as_slice() {
            [_, _, STORED] if body.is_empty() => self.stored.push(index),
            [_, _, _, TOO_LARGE] => return Err(GatherError::TooLarge(command)),
            [_, _, _, code] => self.found.push((
                index,
                Dump {
                    command,
                    exit: code.trim().parse().unwrap_or(-1),
                    output: String::from_utf8_lossy(body).into_owned(),
                    cached_for: None,
                },
            )),
            _ => return Err(protocol()),
        }
        Ok(())
    }
}

/// Every section exactly once, in the order the script prints them.
fn check_order(sections: &[Framed<'_>], files: usize, dumps: usize) -> Result<(), GatherError> {
    let mut expected: Vec<String> = Vec::new();
    if files > 0 {
        expected.extend([Section::Reals, Section::States].map(|s| s.to_string()));
    }
    if files > 0 || dumps > 0 {
        expected.push(Section::Contents.to_string());
    }
    expected.extend([Section::Stats, Section::Journal].map(|s| s.to_string()));
    let dump = Section::Dump;
    expected.extend((0..dumps).map(|i| format!("{dump} {i}")));
    if sections.len() != expected.len() {
        return Err(GatherError::Protocol(format!(
            "expected {} sections, got {}",
            expected.len(),
            sections.len()
        )));
    }
    for (Framed { name, .. }, want) in sections.iter().zip(&expected) {
        let matches = if want.starts_with(&format!("{dump} ")) {
            name.strip_prefix(want.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
        } else {
            name == want
        };
        if !matches {
            return Err(GatherError::Protocol(format!(
                "expected section `{want}`, got `{name}`"
            )));
        }
    }
    Ok(())
}

fn parse(stdout: &[u8], files: &[String], dumps: &[String]) -> Result<Gathered, GatherError> {
    let sections = sections(stdout)?;
    check_order(&sections, files.len(), dumps.len())?;
    let mut raw = Raw::default();
    for Framed { name, body } in sections {
        raw.take(name, body, dumps)?;
    }
    let mut stat_records = raw.stats.iter().peekable();
    let mut offset = 0usize;
    let host_files = host_files(files, &raw, &mut stat_records, &mut offset)?;
    let copies = copies_read(dumps, raw.contents, &mut stat_records, &mut offset)?;
    if offset != raw.contents.len() {
        return Err(GatherError::ChangedWhileRead(
            "the files' sizes changed while they were read".to_owned(),
        ));
    }
    // What is left of `T`: the fresh fingerprint of every stored dump's watched paths, in
    // the order the stored copies list them.
    let watched: Vec<&String> = stat_records.collect();
    let mut found = std::mem::take(&mut raw.found);
    let stored: Vec<(usize, Option<&[u8]>)> = raw
        .stored
        .iter()
        .map(|&index| (index, copies.get(index).copied().flatten()))
        .collect();
    let stale_dump = use_stored(&mut found, &stored, watched, dumps)?;
    found.sort_by_key(|(index, _)| *index);
    let gathered = Gathered {
        files: host_files,
        dumps: found.into_iter().map(|(_, dump)| dump).collect(),
        interrupted: raw.interrupted,
        stale_dump,
    };
    if !gathered.stale_dump && gathered.dumps.len() != dumps.len() {
        return Err(GatherError::Protocol(format!(
            "expected {} dumps, got {}",
            dumps.len(),
            gathered.dumps.len()
        )));
    }
    Ok(gathered)
}

/// The files, in the plan's order: `R` and `S` give one entry each; a present file takes
/// the next `T` record (which must name it) and as many bytes of `C` as it says.
fn host_files<'r>(
    files: &[String],
    raw: &Raw<'_>,
    stat_records: &mut StatRecords<'r>,
    offset: &mut usize,
) -> Result<Vec<HostFile>, GatherError> {
    if raw.reals.len() != files.len() || raw.states.len() != files.len() {
        return Err(GatherError::Protocol(format!(
            "expected {} files, got {} paths and {} states",
            files.len(),
            raw.reals.len(),
            raw.states.len()
        )));
    }
    let present = raw
        .states
        .iter()
        .filter(|s| Presence::read(s).0 == Presence::Present)
        .count();
    let mut out = Vec::with_capacity(files.len());
    for ((requested, real), state) in files.iter().zip(&raw.reals).zip(&raw.states) {
        let state = match Presence::read(state) {
            (Presence::Present, _) => {
                let record = stat_records.next().ok_or_else(|| {
                    GatherError::ChangedWhileRead(format!("{present} files, fewer examined"))
                })?;
                if dump_cache::stat_name(record) != Some(requested.as_str()) {
                    return Err(GatherError::ChangedWhileRead(requested.clone()));
                }
                present_file(record, real, raw.contents, offset)?
            }
            (Presence::Absent, _) => FileState::Absent,
            (Presence::Other, _) => FileState::NotAFile,
            (Presence::Unsafe, why) => FileState::Unsafe(why.trim_end().to_owned()),
            (Presence::Unreadable, _) => FileState::Unreadable,
        };
        out.push(HostFile {
            requested: requested.clone(),
            real: real.clone(),
            state,
        });
    }
    Ok(out)
}

/// `T`'s records, in order.
type StatRecords<'r> = std::iter::Peekable<std::slice::Iter<'r, String>>;

/// The stored copies `C` holds after the files, one entry per dump: a copy is there when
/// the next `T` record names it (a copy removed before `T` was not read; one removed
/// between `C` and `T` leaves bytes `C` cannot account for, a change while reading). A
/// copy larger than a file may be is left out (its dump then runs).
fn copies_read<'c>(
    dumps: &[String],
    contents: &'c [u8],
    stat_records: &mut StatRecords<'_>,
    offset: &mut usize,
) -> Result<Vec<Option<&'c [u8]>>, GatherError> {
    let mut copies = Vec::with_capacity(dumps.len());
    for command in dumps {
        let path = dump_cache::dump_cache_path(command);
        let Some(record) = stat_records.next_if(|r| dump_cache::stat_name(r) == Some(&path)) else {
            copies.push(None);
            continue;
        };
        let size =
            dump_cache::stat_size(record).ok_or_else(|| GatherError::Protocol(record.clone()))?;
        let sent = sent_bytes(size, contents, offset, &path)?;
        copies.push((size <= MAX_READ_BYTES).then_some(sent));
    }
    Ok(copies)
}

/// A present file from its `stat` record and its bytes at `offset` in `C`.
fn present_file(
    record: &str,
    real: &str,
    contents: &[u8],
    offset: &mut usize,
) -> Result<FileState, GatherError> {
    let protocol = || GatherError::Protocol(record.to_owned());
    let fields: Vec<&str> = record.splitn(5, ' ').collect();
    let [mode, uid, gid, _, _] = fields.as_slice() else {
        return Err(protocol());
    };
    let num = |s: &str, radix| u32::from_str_radix(s, radix).map_err(|_| protocol());
    let size = dump_cache::stat_size(record).ok_or_else(protocol)?;
    let content = sent_bytes(size, contents, offset, real)?.to_vec();
    Ok(FileState::Present {
        mode: num(mode, 8)?,
        uid: num(uid, 10)?,
        gid: num(gid, 10)?,
        content,
    })
}

/// The bytes `C` holds at `offset` for a path (`what`) whose `stat` gave `size`; `offset`
/// moves past them. The host's `head` sends at most one byte more than a file may have:
/// enough to see that it is too large. Fewer bytes than that left in `C` is a change
/// while reading.
fn sent_bytes<'c>(
    size: usize,
    contents: &'c [u8],
    offset: &mut usize,
    what: &str,
) -> Result<&'c [u8], GatherError> {
    let end = offset
        .checked_add(size.min(MAX_READ_BYTES + 1))
        .filter(|&e| e <= contents.len())
        .ok_or_else(|| GatherError::ChangedWhileRead(what.to_owned()))?;
    let sent = &contents[*offset..end];
    *offset = end;
    Ok(sent)
}

/// The stored copies whose fingerprint still matches `watched` become dumps in `found`;
/// whether any did not (a stale copy: the dump must run).
fn use_stored(
    found: &mut Vec<(usize, Dump)>,
    stored: &[(usize, Option<&[u8]>)],
    mut watched: Vec<&String>,
    dumps: &[String],
) -> Result<bool, GatherError> {
    let mut stale = false;
    for &(index, body) in stored {
        let command = dumps
            .get(index)
            .ok_or_else(|| GatherError::Protocol("stored dump".to_owned()))?
            .clone();
        match body.and_then(dump_cache::parse_stored) {
            Some((lines, output)) if lines.len() <= watched.len() => {
                let fresh: Vec<&String> = watched.drain(..lines.len()).collect();
                if fresh.iter().zip(&lines).all(|(f, l)| f.as_str() == l) {
                    let names = lines
                        .iter()
                        .filter_map(|l| dump_cache::stat_name(l).map(str::to_owned))
                        .collect();
                    let cached_for = Some(names);
                    let exit = 0;
                    found.push((
                        index,
                        Dump {
                            command,
                            exit,
                            output,
                            cached_for,
                        },
                    ));
                } else {
                    stale = true;
                }
            }
            // A watched path is gone (`stat` skipped it), the copy is damaged, too large or
            // was gone when `C` was read.
            _ => {
                watched.clear();
                stale = true;
            }
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gathers_files_symlinks_and_dumps_from_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("site.conf");
        std::fs::write(&real, b"server {}\r\n").unwrap();
        let link = dir.path().join("enabled.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let missing = dir.path().join("missing.conf");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let files = vec![
            link.display().to_string(),
            missing.display().to_string(),
            sub.display().to_string(),
        ];
        let dumps = vec!["echo dumped; echo oops >&2; exit 3".to_owned()];
        let t = Transport::Local(crate::transport::local::LocalSession);
        let g = gather(&t, None, &files, &dumps, DumpCache::Off, |_| true)
            .await
            .unwrap();
        assert_eq!(g.files[0].real, real.display().to_string());
        assert!(
            matches!(&g.files[0].state, FileState::Present { content, .. } if content == b"server {}\r\n")
        );
        assert_eq!(g.files[1].state, FileState::Absent);
        assert_eq!(g.files[2].state, FileState::NotAFile);
        assert_eq!(g.dumps[0].exit, 3);
        assert!(g.dumps[0].output.contains("dumped") && g.dumps[0].output.contains("oops"));
    }

    #[tokio::test]
    async fn raw_bytes_empty_files_and_hostile_names_survive() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("it's a\nname $(x).conf");
        std::fs::write(&odd, b"--WSD-0000 C\n\0binary\xff\n").unwrap();
        let empty = dir.path().join("empty.conf");
        std::fs::write(&empty, b"").unwrap();
        let nested = dir.path().join("no/such/dir/new.conf");
        let files = vec![
            empty.display().to_string(),
            odd.display().to_string(),
            nested.display().to_string(),
            empty.display().to_string(),
        ];
        let t = Transport::Local(crate::transport::local::LocalSession);
        let g = gather(&t, None, &files, &[], DumpCache::Off, |_| true)
            .await
            .unwrap();
        assert!(
            matches!(&g.files[0].state, FileState::Present { content, .. } if content.is_empty())
        );
        assert_eq!(g.files[1].real, odd.display().to_string());
        assert!(
            matches!(&g.files[1].state, FileState::Present { content, .. } if content == b"--WSD-0000 C\n\0binary\xff\n")
        );
        assert_eq!(g.files[2].state, FileState::Absent);
        assert_eq!(g.files[2].real, nested.display().to_string());
        assert!(
            matches!(&g.files[3].state, FileState::Present { content, .. } if content.is_empty())
        );
    }

    #[tokio::test]
    async fn a_path_another_user_could_swap_is_never_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let file = open.join("app.conf");
        std::fs::write(&file, "secret\n").unwrap();
        let kept = dir.path().join("kept.conf");
        std::fs::write(&kept, "kept\n").unwrap();
        let files = vec![file.display().to_string(), kept.display().to_string()];
        let t = Transport::Local(crate::transport::local::LocalSession);
        let g = gather(&t, None, &files, &[], DumpCache::Off, |_| true)
            .await
            .unwrap();
        assert_eq!(
            g.files[0].state,
            FileState::Unsafe(format!(
                "{} is writable by other users (mode 777)",
                open.display()
            ))
        );
        assert!(
            matches!(&g.files[1].state, FileState::Present { content, .. } if content == b"kept\n")
        );
    }

    /// The external commands a gather of `files` runs, in order, and whether it
    /// succeeded with an answer that follows the protocol.
    fn commands_run(files: &[String]) -> (Vec<String>, bool) {
        let (run, out) =
            crate::host::commands_run::commands_run(&gather_script(files, &[], DumpCache::Off));
        (
            run,
            out.status.success() && parse(&out.stdout, files, &[]).is_ok(),
        )
    }

    #[test]
    fn a_gather_runs_the_same_few_commands_however_many_files_it_reads() {
        let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("etc/nginx/sites-available")).unwrap();
        let files: Vec<String> = [
            "etc/nginx/nginx.conf",
            "etc/nginx/sites-available/site",
            "etc/app.conf",
        ]
        .iter()
        .map(|name| {
            let path = root.join(name);
            std::fs::write(&path, "x\n").unwrap();
            path.display().to_string()
        })
        .collect();
        // What `stat` says of the files and their directories, the files' bytes, their
        // metadata: one process each, for one file or three.
        let (run, ok) = commands_run(&files);
        assert!(ok);
        assert_eq!(run, ["stat", "head", "stat"]);
        let (run, ok) = commands_run(&files[..1]);
        assert!(ok);
        assert_eq!(run, ["stat", "head", "stat"]);
    }

    #[test]
    fn a_site_linked_from_sites_enabled_needs_no_readlink_and_no_second_stat() {
        let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("nginx/sites-available")).unwrap();
        std::fs::create_dir_all(root.join("nginx/sites-enabled")).unwrap();
        std::fs::write(root.join("nginx/sites-available/odoo"), "server {}\n").unwrap();
        std::os::unix::fs::symlink(
            "../sites-available/odoo",
            root.join("nginx/sites-enabled/odoo"),
        )
        .unwrap();
        let files = vec![root.join("nginx/sites-enabled/odoo").display().to_string()];
        let (run, ok) = commands_run(&files);
        assert!(ok);
        assert_eq!(run, ["stat", "head", "stat"]);
    }

    #[test]
    fn a_file_under_lib_on_a_merged_usr_host_needs_no_second_stat() {
        let files = vec!["/lib/wsdeploy-no-such-dir/unit.service".to_owned()];
        let (run, ok) = commands_run(&files);
        assert!(ok);
        // `/lib` -> `usr/lib` (on a merged-`/usr` host) is followed by what `stat` said up
        // front (`%N`), and what is on the way there was seen up front too (its `/usr`
        // twin): no `readlink`, no second `stat`.
        assert_eq!(run, ["stat"]);
    }

    const B: &str = "--WSD-0123456789abcdef0123";

    fn head() -> String {
        format!("{GATHER} {B}\n")
    }

    #[test]
    fn a_size_that_does_not_match_the_bytes_read_is_a_change_while_reading() {
        let b = B;
        let files = vec!["/a".to_owned()];
        let out = format!(
            "{}\n{b} R\n/a\0\n{b} S\npresent\n\n{b} C\nabc\n{b} T\n644 0 0 5 7 1.0 1.0 /a\0\n{b} J\n",
            head()
        );
        let err = parse(out.as_bytes(), &files, &[]).unwrap_err();
        assert!(matches!(err, GatherError::ChangedWhileRead(_)), "{err}");
        let out = format!(
            "{}\n{b} R\n/a\0\n{b} S\npresent\n\n{b} C\nabc\n{b} T\n644 0 0 3 7 1.0 1.0 /a\0\n{b} J\n20261123T000000Z-00ab12\n../../../tmp/evil\nrun-1\n",
            head()
        );
        let g = parse(out.as_bytes(), &files, &[]).unwrap();
        assert_eq!(
            g.interrupted,
            RunId::parse("20261123T000000Z-00ab12")
                .into_iter()
                .collect::<Vec<_>>(),
            "only run ids of the form RunId::new makes"
        );
        assert!(
            matches!(&g.files[0].state, FileState::Present { content, mode: 0o644, .. } if content == b"abc")
        );
    }

    #[test]
    fn a_stored_copy_is_read_with_the_files_and_used_only_while_its_fingerprint_holds() {
        let b = B;
        let files = vec!["/a".to_owned()];
        let dumps = vec!["nginx -T".to_owned()];
        let copy = dump_cache::dump_cache_path("nginx -T");
        let watched = "755 0 0 4096 9 1.0 1.0 /etc/nginx";
        let stored = format!("1\n{watched}\nhttp {{}}\n");
        let output = |copy_record: &str, fresh: &str| {
            format!(
                "{}\n{b} R\n/a\0\n{b} S\npresent\n\n{b} C\nabc{stored}\n{b} T\n644 0 0 3 7 1.0 1.0 /a\0{copy_record}{fresh}\0\n{b} J\n\n{b} D 0 stored\n",
                head()
            )
        };
        let record = format!("600 0 0 {} 8 1.0 1.0 {copy}\0", stored.len());
        let g = parse(output(&record, watched).as_bytes(), &files, &dumps).unwrap();
        assert!(!g.stale_dump);
        assert_eq!(g.dumps[0].output, "http {}\n");
        assert_eq!(g.dumps[0].cached_for, Some(vec!["/etc/nginx".to_owned()]));
        assert!(
            matches!(&g.files[0].state, FileState::Present { content, .. } if content == b"abc")
        );
        // The watched directory changed since the copy was made: stale, the dump must run.
        let changed = "755 0 0 4096 9 2.0 2.0 /etc/nginx";
        let g = parse(output(&record, changed).as_bytes(), &files, &dumps).unwrap();
        assert!(g.stale_dump);
        // The copy's bytes are in `C` but it was gone when `T` ran: a change while reading.
        let err = parse(output("", watched).as_bytes(), &files, &dumps).unwrap_err();
        assert!(matches!(err, GatherError::ChangedWhileRead(_)), "{err}");
    }

    #[test]
    fn a_dump_cannot_forge_sections_duplicates_and_disorder_are_refused() {
        let b = B;
        let dumps = vec!["nginx -T".to_owned()];
        // A dump that prints the real boundary (as a file it shows could) stays one
        // section: its length frames it.
        let body = format!("# configuration file /x:\n\"\n{b} J\n20261123T000000Z-00ab12\n\";\n");
        let out = format!(
            "{}\n{b} C\n\n{b} T\n\n{b} J\n\n{b} D 0 {} 0\n{body}",
            head(),
            body.len()
        );
        let g = parse(out.as_bytes(), &[], &dumps).unwrap();
        assert!(g.interrupted.is_empty(), "{:?}", g.interrupted);
        assert_eq!(g.dumps[0].output, body);
        // A second `J`, sections out of order, a wrong length, bytes after the end: refused.
        for out in [
            format!(
                "{}\n{b} C\n\n{b} T\n\n{b} J\n\n{b} J\n20261123T000000Z-00ab12\n",
                head()
            ),
            format!("{}\n{b} C\n\n{b} J\n\n{b} T\n", head()),
            format!("{}\n{b} T\n\n{b} J\n\n{b} D 0 2 0\nok", head()),
            format!("{}\n{b} C\n\n{b} T\n\n{b} J\n\n{b} D 0 99 0\nshort", head()),
            format!(
                "{}\n{b} C\n\n{b} T\n\n{b} J\n\n{b} D 0 2 0\nok\n{b} J\nx\n",
                head()
            ),
            format!("{}\n{b} C\n\n{b} T\n\n{b} J\n\n{b} D 0 stored\nx", head()),
            format!("\n{b} C\n\n{b} T\n\n{b} J\n\n{b} D 0 2 0\nok"),
        ] {
            let err = parse(out.as_bytes(), &[], &dumps).unwrap_err();
            assert!(matches!(err, GatherError::Protocol(_)), "{out:?}: {err}");
        }
    }
}
