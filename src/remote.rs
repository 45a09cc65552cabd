//! The only place that builds shell text for hosts. Every interpolated value goes through
//! [`quote`]; file contents travel base64-encoded in here-documents whose delimiter cannot
//! occur in base64. Scripts need POSIX `sh`, coreutils and util-linux `flock` only.

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Where wsdeploy keeps its state on a host.
pub const STATE_DIR: &str = "/var/lib/wsdeploy";
/// Exit status of a script that found a file changed since it was read.
pub const EXIT_CHANGED_SINCE_READ: i32 = 90;
/// Exit status of `flock -n` when the lock is held.
pub const EXIT_LOCK_BUSY: i32 = 75;
/// Exit status of a script that refused a path another user could swap (`WSD-UNSAFE`).
pub const EXIT_UNSAFE_PATH: i32 = 91;

/// Shell functions that decide who writes a path, so that root never follows or changes
/// anything through a name another user can replace.
///
/// `wsd_agent PATH` looks at every existing directory from `/` down to PATH's parent
/// (one `stat`) and sets `wsd_u`: `0` when root alone controls them all, else the one
/// user who owns one of them (all below it are that user's to rename). It fails, with
/// the reason in `wsd_why`, when a directory is writable by group or others (except a
/// root-owned sticky one above the parent, like `/tmp`), when two users own directories
/// on the way, or when PATH exists in a user's directory but belongs to someone else.
/// It sets `wsd_g` (PATH's group, else its directory's) and `wsd_o` (PATH's own owner,
/// not following a symlink; empty when absent).
///
/// `wsd_as CMD…` runs CMD as root when `wsd_u` is 0, else as that user and group
/// (`setpriv`, no supplementary groups): what a user controls is written by that user,
/// who can then only reach what they could reach anyway. `$WSD_PUT` is the script that
/// replaces a file atomically with its stdin (temp file made by `mktemp` in the same
/// directory, mode, fsync, rename), run by `wsd_as`; its third argument, when given, is
/// what the file must still hold right before the rename (`absent` or a sha256), else it
/// prints `WSD-CHANGED` and exits [`EXIT_CHANGED_SINCE_READ`]. `wsd_cas PATH EXPECTED` is
/// the same check for root's writes; `wsd_mine PATH "SHA…"` whether PATH holds one of
/// those contents (`any`: no check).
const AGENT_FUNCTIONS: &str = r#"wsd_unsafe() { printf 'WSD-UNSAFE %s\n' "$wsd_why" >&2; exit WSD_EXIT_UNSAFE; }
wsd_agent() {
  wsd_why=; wsd_u=0; wsd_g=0; wsd_o=; wsd_f=$1; wsd_p=${1%/*}
  set --
  while [ -n "$wsd_p" ]; do [ -d "$wsd_p" ] && set -- "$wsd_p" "$@"; wsd_p=${wsd_p%/*}; done
  set -- / "$@"
  wsd_s=$(stat -c '%u %g %a' -- "$@") || { wsd_why="cannot examine the directories of $wsd_f"; return 1; }
  wsd_i=0
  while read -r wsd_du wsd_dg wsd_m; do
    wsd_i=$((wsd_i + 1)); wsd_g=$wsd_dg
    eval "wsd_d=\${$wsd_i}"
    if [ "$wsd_du" != 0 ]; then
      if [ "$wsd_u" = 0 ] || [ "$wsd_u" = "$wsd_du" ]; then wsd_u=$wsd_du
      else wsd_why="$wsd_d belongs to uid $wsd_du inside a directory of uid $wsd_u"; return 1; fi
    fi
    if [ $((0$wsd_m & 022)) != 0 ] && ! { [ $((0$wsd_m & 01000)) != 0 ] && [ "$wsd_du" = 0 ] && [ $wsd_i -lt $# ]; }; then
      wsd_why="$wsd_d is writable by other users (mode $wsd_m)"; return 1
    fi
  done <<WSD_AGENT_END
$wsd_s
WSD_AGENT_END
  if [ -e "$wsd_f" ] || [ -L "$wsd_f" ]; then
    wsd_s=$(stat -c '%u %g' -- "$wsd_f") || { wsd_why="cannot examine $wsd_f"; return 1; }
    wsd_o=${wsd_s% *}; wsd_g=${wsd_s#* }
    if [ "$wsd_u" != 0 ] && [ "$wsd_o" != "$wsd_u" ]; then
      wsd_why="$wsd_f belongs to uid $wsd_o but its directory is controlled by uid $wsd_u"; return 1
    fi
  fi
  return 0
}
wsd_as() {
  if [ "$wsd_u" = 0 ]; then "$@"; else setpriv --reuid="$wsd_u" --regid="$wsd_g" --clear-groups -- "$@"; fi
}
WSD_PUT='set -eu; umask 077; d=${1%/*}; d=${d:-/}; [ -d "$d" ] || mkdir -p -- "$d"
t=$(mktemp "$d/.wsdeploy.XXXXXX"); trap '\''rm -f -- "$t"'\'' EXIT
cat > "$t"
if [ -n "$2" ]; then chmod "$2" -- "$t"; elif [ -e "$1" ]; then chmod --reference="$1" -- "$t"; else chmod 644 -- "$t"; fi
sync -- "$t" 2>/dev/null || sync
case ${3:-} in
  "") ;;
  absent) if [ -e "$1" ] || [ -L "$1" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit WSD_EXIT_CHANGED; fi ;;
  *) h=$(sha256sum < "$1") || h=; if [ "${h%% *}" != "$3" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit WSD_EXIT_CHANGED; fi ;;
esac
mv -f -- "$t" "$1"; trap - EXIT'
wsd_cas() {
  if [ "$2" = absent ]; then [ ! -e "$1" ] && [ ! -L "$1" ]
  else wsd_h=$(sha256sum < "$1" 2>/dev/null) && [ "${wsd_h%% *}" = "$2" ]; fi
}
wsd_mine() {
  [ "$2" = any ] && return 0
  wsd_h=$(sha256sum < "$1" 2>/dev/null) || return 1
  case " $2 " in *" ${wsd_h%% *} "*) return 0 ;; esac
  return 1
}
"#;

fn agent_functions() -> String {
    AGENT_FUNCTIONS
        .replace("WSD_EXIT_UNSAFE", &EXIT_UNSAFE_PATH.to_string())
        .replace("WSD_EXIT_CHANGED", &EXIT_CHANGED_SINCE_READ.to_string())
}

/// `wsd_agent` for `path`, refusing it (exit [`EXIT_UNSAFE_PATH`]) when it is unsafe;
/// for a path reached through the symlink `via`, the symlink must be root's, or the
/// same user's as the file it points at.
fn check_agent(out: &mut String, path: &str, via: Option<&str>) {
    if let Some(via) = via {
        let _ = writeln!(
            out,
            "wsd_agent {v} || wsd_unsafe; wsd_lu=$wsd_u; [ \"$wsd_lu\" != 0 ] || wsd_lu=${{wsd_o:-0}}\n\
             wsd_agent {p} || wsd_unsafe\n\
             [ \"$wsd_lu\" = 0 ] || [ \"$wsd_lu\" = \"$wsd_u\" ] || {{ wsd_why=\"$(printf '%s is a symlink uid %s controls, pointing at a file it does not control' {v} \"$wsd_lu\")\"; wsd_unsafe; }}",
            v = quote(via),
            p = quote(path)
        );
    } else {
        let _ = writeln!(out, "wsd_agent {} || wsd_unsafe", quote(path));
    }
}

/// Exit status of [`read_if_exists`] when the file does not exist.
pub const EXIT_NO_SUCH_FILE: i32 = 66;

/// Prints a file's bytes, or exits [`EXIT_NO_SUCH_FILE`] when there is no such file.
#[must_use]
pub fn read_if_exists(path: &str) -> String {
    let p = quote(path);
    format!("if [ -e {p} ]; then cat -- {p}; else exit {EXIT_NO_SUCH_FILE}; fi")
}

pub use crate::shell::quote;

/// Whose rights commands run with on the host (`become`) and whether sudo needs a
/// password. The password itself never appears here: the transport sends it as the first
/// line of every command's stdin (see `SshTarget::become_password`), where the runners
/// below read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub user: String,
    pub password: bool,
}

pub use crate::shell::Invocation;

/// Runs the shell text it reads on stdin, with an empty stdin of its own (like `sh -c`).
const EVAL_STDIN: &str = "sh -c 'eval \"$(cat)\"'";

/// `inner` (a command line) run as `become.user` through sudo, which never prompts on a
/// terminal. With a password: the first stdin line is the password; it is handed to
/// `sudo -S` only when sudo asks for one (with `NOPASSWD` or a cached timestamp the line
/// is dropped, so it can never reach the command), on sudo's stdin, never in argv.
fn sudo_runner(inner: &str, elevation: &Become) -> String {
    let user = quote(&elevation.user);
    if !elevation.password {
        return format!("sudo -n -u {user} -- {inner}");
    }
    let script = format!(
        "IFS= read -r wsd_p\n\
         if sudo -n -u {user} -- true 2>/dev/null; then wsd_p=; exec sudo -n -u {user} -- {inner}; fi\n\
         {{ printf '%s\\n' \"$wsd_p\"; wsd_p=; exec cat; }} | sudo -S -p '' -u {user} -- {inner}\n"
    );
    format!("sh -c {}", quote(&script))
}

/// What to do about a sudo failure in a command's output (empty when there is none).
#[must_use]
pub fn sudo_hint(output: &str) -> &'static str {
    if output.contains("sudo: a password is required") {
        "\nhint: sudo wants a password here: pass -K, set WSDEPLOY_BECOME_PASSWORD, or set ansible_become_password (for instance in a vault file)"
    } else if output.contains("incorrect password attempt") || output.contains("Sorry, try again") {
        "\nhint: sudo refused the become password: check -K / WSDEPLOY_BECOME_PASSWORD / ansible_become_password"
    } else if output.contains("is not in the sudoers file") || output.contains("is not allowed to")
    {
        "\nhint: the login user may not run this through sudo: check the host's sudoers rules and ansible_become_user"
    } else {
        ""
    }
}

/// How long a host lets a gather run (config dumps such as `nginx -T` included).
pub const GATHER_BOUND: Duration = Duration::from_secs(60);
/// How long a host lets one of wsdeploy's own scripts run (journal, writes, commit,
/// restore, reads).
pub const SCRIPT_BOUND: Duration = Duration::from_secs(120);
pub use crate::transport::{EXIT_TIMED_OUT, KILL_GRACE, bound_secs};

/// `inner` run under coreutils `timeout`: in its own process group, which gets TERM
/// after `bound` and KILL [`KILL_GRACE`] later, so nothing it started outlives it. Inside
/// sudo, so the signals come from the user the command runs as. Not `--foreground`:
/// that would signal the command alone and leave its children running; stdin is a pipe
/// or `/dev/null`, never a terminal, so a background process group cannot stop on it.
fn bounded(inner: &str, bound: Duration) -> String {
    format!(
        "timeout -k {} {} {inner}",
        KILL_GRACE.as_secs(),
        bound_secs(bound)
    )
}

/// The command line that runs a script given on stdin, as `become.user` when set,
/// stopped by the host after `bound`.
#[must_use]
pub fn script_runner(elevation: Option<&Become>, bound: Duration) -> String {
    let inner = bounded("sh -s", bound);
    match elevation {
        Some(elevation) => sudo_runner(&inner, elevation),
        None => inner,
    }
}

/// Wraps one of wsdeploy's own scripts (no secret in it: paths) for `become`, on the
/// command line (one round trip less than stdin on the hot path), stopped by the host
/// after `bound`.
#[must_use]
pub fn wrap_command(command: &str, elevation: Option<&Become>, bound: Duration) -> String {
    wrap_unbounded(
        &bounded(&format!("sh -c {}", quote(command)), bound),
        elevation,
    )
}

/// `inner` for `become`, with no time limit: only for the lock holder, which lives as
/// long as the run by design (its heartbeat bounds it instead).
fn wrap_unbounded(inner: &str, elevation: Option<&Become>) -> String {
    match elevation {
        Some(elevation) => sudo_runner(inner, elevation),
        None => inner.to_owned(),
    }
}

/// A plan's command (it may hold secrets): the text goes on stdin, so neither `ps` nor
/// sudo's log (`COMMAND=`) ever shows it; the command itself gets an empty stdin. The
/// host stops it, and everything it started, after `bound`.
#[must_use]
pub fn plan_command(command: &str, elevation: Option<&Become>, bound: Duration) -> Invocation {
    let inner = bounded(EVAL_STDIN, bound);
    Invocation {
        line: match elevation {
            Some(elevation) => sudo_runner(&inner, elevation),
            None => inner,
        },
        input: command.as_bytes().to_vec(),
        bound,
    }
}

fn heredoc(out: &mut String, data: &[u8]) {
    out.push_str("<<'WSDEPLOY_B64_END'\n");
    let encoded = B64.encode(data);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("WSDEPLOY_B64_END\n");
}

/// How a gather treats a dump's copy stored on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpCache {
    /// Send the stored copy, if any, with a fresh fingerprint (the controller decides);
    /// run the dump when there is none.
    Read,
    /// Run the dump (the stored copy did not match).
    Off,
}

/// Where the last good output of dump `command` and its fingerprint are kept on the host.
#[must_use]
pub fn dump_cache_path(command: &str) -> String {
    let key = crate::journal::sha256_hex(command.as_bytes());
    format!("{STATE_DIR}/dump/{}", &key[..16])
}

/// The `stat` record of every file a gather reads and of every path a stored dump's
/// fingerprint watches: mode, owner, group, size, inode, mtime, ctime (nanoseconds), name.
pub const STAT_FORMAT: &str = "%a %u %g %s %i %.9Y %.9Z %n";

/// Shell functions that keep a dump's output on the host. `<cache>` holds `<n>\n`, `n`
/// fingerprint lines ([`STAT_FORMAT`] of every file the dump lists, their directories and
/// the directories of `include` patterns), then the dump's output; `<cache>.paths` holds
/// `set -- "$@" '<path>'…` for those paths. They are only written when the dump exited 0
/// and no fingerprinted path changed (ctime) after the dump started (the ctime of a stamp
/// file created just before it, on the same clock). Gathers `stat` the paths again and the
/// controller uses the copy only while every line is the same: ctime moves on every
/// write, rename or chmod and cannot be set back, so an edit is always seen.
const DUMP_CACHE_FUNCTIONS: &str = r#"wsd_fingerprint() {
  awk -v q="'" '
    function sq(p,   r, i) { r = ""; while ((i = index(p, q)) > 0) { r = r substr(p, 1, i - 1) q "\\" q q; p = substr(p, i + 1) } return q r p q }
    function add(p) { if (p != "" && !(p in seen)) { seen[p] = 1; out = out " " sq(p) } }
    function dir(p) { sub(/\/[^\/]*$/, "", p); return p }
    /^# configuration file \/.*:$/ { f = substr($0, 22, length($0) - 22); if (base == "") base = dir(f); add(f); add(dir(f)); next }
    { line = $0; sub(/#.*/, "", line)
      while (match(line, /(^|[ \t;{}])include[ \t]+[^;{}]*/)) {
        inc = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
        sub(/^[ \t;{}]*include[ \t]+/, "", inc); sub(/[ \t]+$/, "", inc); incs[++n] = inc
      } }
    END { for (i = 1; i <= n; i++) { p = incs[i]; if (p !~ /^\//) p = base "/" p; add(dir(p)) }
          if (out == "") exit 1; print "set -- \"$@\"" out }' "$1" > "$4" || return 1
  wsd_s=$2 wsd_k=$3 wsd_p=$4
  set --; command . "$wsd_p" || return 1
  stat -L -c 'WSD_STAT_FORMAT' -- "$wsd_s" "$@" > "$wsd_k.s" 2>/dev/null || return 1
  awk 'NR == 1 { if ($7 !~ /^[0-9]+\.[0-9]+$/) bad = 1; t0 = $7; next }
       $7 !~ /^[0-9]+\.[0-9]+$/ || $7 + 0 >= t0 + 0 { bad = 1 }
       { l[NR - 1] = $0 }
       END { if (bad || NR < 2) exit 1; print NR - 1; for (i = 1; i < NR; i++) print l[i] }' "$wsd_k.s" > "$wsd_k"
}
wsd_dump_fresh() {
  t="$1.$$"
  { [ -d "${1%/*}" ] || { mkdir -p "${1%/*}" && chmod 700 "${1%/*}"; }; } 2>/dev/null && : > "$t" 2>/dev/null || return 1
  ( eval "$2" ) > "$t.o" 2>&1 </dev/null; rc=$?
  if [ $rc = 0 ] && wsd_fingerprint "$t.o" "$t" "$t.k" "$t.p"; then
    cat "$t.o" >> "$t.k" && mv -f "$t.p" "$1.paths" && mv -f "$t.k" "$1"
  fi
  rm -f "$t" "$t.o" "$t.k" "$t.k.s" "$t.p"
  return $rc
}
"#;

fn dump_cache_functions() -> String {
    DUMP_CACHE_FUNCTIONS.replace("WSD_STAT_FORMAT", STAT_FORMAT)
}

/// A gather reads at most this many bytes of a file (one more, to see that it is larger):
/// larger files are refused without being sent whole.
pub const MAX_READ_BYTES: usize = 8 * 1024 * 1024;
/// A gather keeps at most this much of a dump's output (`nginx -T`); more is refused.
pub const MAX_DUMP_BYTES: usize = 32 * 1024 * 1024;

/// First line of a gather's output: `WSD-GATHER <boundary>`.
pub const GATHER_HEADER: &str = "WSD-GATHER";

/// The read-only script that gathers, in one round trip, every file a plan touches, the
/// outputs of config-dump commands (`nginx -T`) and interrupted runs in the journal.
///
/// Fork-light on purpose (it runs on every host of every check): one `readlink`, one
/// `cat` and one `stat` for all files, raw bytes (no encoding on the host), the journal
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
/// `absent`, `other`, `unreadable`); `C` the present files' bytes, back to back; `T` a
/// NUL-terminated [`STAT_FORMAT`] record per present file (their sizes split `C`), then
/// one per path the stored dump watches; `J` one line per run still `in_progress`;
/// `D <i> <length> <exit>` the raw output of dump `i` (exactly `length` bytes; exit
/// `toolarge` when it exceeded [`MAX_DUMP_BYTES`]), or
/// `D <i> stored <length>` the stored copy (`<n>\n`, `n` fingerprint lines, the output).
/// A dump's output, the only text a user other than root may shape, is length-framed.
#[must_use]
pub fn gather_script(files: &[String], dumps: &[String], cache: DumpCache) -> String {
    let quoted: Vec<String> = files.iter().map(|f| quote(f)).collect();
    let list = quoted.join(" ");
    let mut s = format!(
        "set -u\nLC_ALL=C; export LC_ALL\n\
         B=; {{ IFS= read -r B < /proc/sys/kernel/random/uuid; }} 2>/dev/null\n\
         [ -n \"$B\" ] || B=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')\n\
         [ -n \"$B\" ] || {{ echo 'wsdeploy: no random source on the host' >&2; exit 1; }}\n\
         B=--WSD-$B\nprintf '{GATHER_HEADER} %s\\n' \"$B\"\nset --\n"
    );
    if !files.is_empty() {
        let _ = write!(
            s,
            "printf '\\n%s R\\n' \"$B\"\n\
             readlink -m -z -- {list}\n\
             printf '\\n%s S\\n' \"$B\"\n\
             for f in {list}; do\n\
             \x20 if [ -f \"$f\" ]; then\n\
             \x20   if [ -r \"$f\" ]; then echo present; set -- \"$@\" \"$f\"; else echo unreadable; fi\n\
             \x20 elif [ -e \"$f\" ]; then echo other\n\
             \x20 else echo absent; fi\n\
             done\n\
             printf '\\n%s C\\n' \"$B\"\n\
             [ $# -eq 0 ] || head -q -c {read_cap} -- \"$@\"\n",
            read_cap = MAX_READ_BYTES + 1
        );
    }
    let stored = cache == DumpCache::Read;
    if stored {
        // Append the paths each stored dump watches, so that one `stat` covers them all
        // (`command .`: a damaged file is an error to skip, not the end of the script).
        for (i, cmd) in dumps.iter().enumerate() {
            let c = quote(&dump_cache_path(cmd));
            let _ = writeln!(
                s,
                "wsd_stored_{i}=; if [ -f {c} ] && [ -f {c}.paths ] && command . {c}.paths 2>/dev/null; then wsd_stored_{i}=1; fi"
            );
        }
    }
    let _ = write!(
        s,
        "printf '\\n%s T\\n' \"$B\"\n\
         [ $# -eq 0 ] || stat -L --printf {} -- \"$@\"\n",
        quote(&format!("{STAT_FORMAT}\\0"))
    );
    // Builtins only: no process however long the run history is.
    let _ = write!(
        s,
        "printf '\\n%s J\\n' \"$B\"\n\
         for r in {STATE_DIR}/runs/*/state; do\n\
         \x20 [ -f \"$r\" ] && IFS= read -r st < \"$r\" && [ \"$st\" = in_progress ] || continue\n\
         \x20 r=${{r%/state}}; printf '%s\\n' \"${{r##*/}}\"\n\
         done\n"
    );
    for (i, cmd) in dumps.iter().enumerate() {
        // `eval` in a subshell: the dump command cannot end or break the script. The
        // output is held by the shell (`x` keeps its trailing newlines, `${#o}` counts
        // bytes under LC_ALL=C) so that its length can open the section.
        let fresh = format!(
            "wsd_o=$( {{ ( eval {} ) 2>&1 </dev/null; echo \"x$?\"; }} | head -c {dump_cap} )\n\
             if [ ${{#wsd_o}} -ge {dump_cap} ]; then wsd_rc=toolarge; wsd_o=; else wsd_rc=${{wsd_o##*x}}; wsd_o=${{wsd_o%x*}}; fi\n\
             case $wsd_rc in toolarge) ;; ''|*[!0-9]*) wsd_rc=-1 ;; esac\n\
             printf '\\n%s D {i} %s %s\\n%s' \"$B\" \"${{#wsd_o}}\" \"$wsd_rc\" \"$wsd_o\"\n",
            quote(cmd),
            dump_cap = MAX_DUMP_BYTES + 64
        );
        if stored {
            let _ = write!(
                s,
                "if [ -n \"$wsd_stored_{i}\" ] && wsd_o=$(head -c {dump_cap} {}; echo x) && [ ${{#wsd_o}} -le {dump_cap} ]; then wsd_o=${{wsd_o%x}}; printf '\\n%s D {i} stored %s\\n%s' \"$B\" \"${{#wsd_o}}\" \"$wsd_o\"\nelse\n{fresh}fi\n",
                quote(&dump_cache_path(cmd)),
                dump_cap = MAX_DUMP_BYTES + 64 * 1024
            );
        } else {
            s.push_str(&fresh);
        }
    }
    s.push_str("exit 0\n");
    s
}

/// Runs the dumps and keeps their output and fingerprint for the next gathers (best
/// effort: if that fails, the next gather runs them).
#[must_use]
pub fn refresh_dumps_script(dumps: &[String]) -> String {
    if dumps.is_empty() {
        return "exit 0\n".to_owned();
    }
    let mut s = String::from("LC_ALL=C; export LC_ALL\n");
    s.push_str(&dump_cache_functions());
    for cmd in dumps {
        let _ = writeln!(
            s,
            "wsd_dump_fresh {} {} >/dev/null 2>&1",
            quote(&dump_cache_path(cmd)),
            quote(cmd)
        );
    }
    s.push_str("exit 0\n");
    s
}

/// Marks a run `committed`, then [`refresh_dumps_script`] for the new configuration.
/// Exits with the status of the marking.
#[must_use]
pub fn commit_script(run_id: &str, dumps: &[String]) -> String {
    format!(
        "{}st=$?\n[ $st = 0 ] || exit $st\n{}",
        set_state_script(run_id, "committed"),
        refresh_dumps_script(dumps)
    )
}

pub use crate::transport::{LOCK_GIVE_UP, LOCK_HEARTBEAT, LOCK_HEARTBEAT_INTERVAL};

/// The command that takes the host's run lock and keeps it while its stdin stays open
/// and [`LOCK_HEARTBEAT`] arrives at least every [`LOCK_GIVE_UP`].
/// Prints `WSD-LOCKED` once held, or `WSD-BUSY <holder>` and exits 75.
#[must_use]
pub fn lock_command(holder: &str, elevation: Option<&Become>) -> String {
    lock_command_in(STATE_DIR, holder, elevation)
}

/// [`lock_command`] with the lock (`<dir>/lock`, `<dir>/lock.holder`) in `dir`.
///
/// The holder reads its stdin one byte at a time (`head -c 1` reads no further), each
/// read bounded by `timeout`: EOF, a byte other than the heartbeat, or
/// [`LOCK_GIVE_UP`] of silence ends it, and with it the `flock`.
#[must_use]
pub fn lock_command_in(dir: &str, holder: &str, elevation: Option<&Become>) -> String {
    let give_up = LOCK_GIVE_UP.as_secs();
    let script = format!(
        "d={dir}\n\
         mkdir -p \"$d\" && chmod 700 \"$d\" || exit 1\n\
         flock -n -E {EXIT_LOCK_BUSY} \"$d/lock\" sh -c 'printf \"%s\\n\" \"$1\" > \"$2/lock.holder\"; echo WSD-LOCKED; while [ \"$(timeout {give_up} head -c 1)\" = {LOCK_HEARTBEAT} ]; do :; done' sh {holder} \"$d\"\n\
         rc=$?\n\
         if [ $rc = {EXIT_LOCK_BUSY} ]; then printf 'WSD-BUSY %s\\n' \"$(cat \"$d/lock.holder\" 2>/dev/null || echo unknown)\"; fi\n\
         exit $rc\n",
        dir = quote(dir),
        holder = quote(holder)
    );
    wrap_unbounded(&format!("sh -c {}", quote(&script)), elevation)
}

/// One file the transaction will replace.
#[derive(Debug, Clone)]
pub struct PlannedWrite {
    /// The file's index in the run's manifest (names its pre-image `pre/<index>`).
    pub index: usize,
    /// Real path (symlinks resolved).
    pub path: String,
    /// sha256 of the content read at gather time; `None` when the file did not exist.
    pub expected_sha256: Option<String>,
    /// Where the dated backup goes (`None` for a new file).
    pub backup: Option<String>,
    /// The path as the plan wrote it, when a symlink was followed to `path`.
    pub via: Option<String>,
    /// The existing file's mode (kept by its backup when a user writes it).
    pub mode: Option<u32>,
}

fn journal_dir(run_id: &str) -> String {
    format!("{STATE_DIR}/runs/{run_id}")
}

/// Creates the journal entry (manifest + exact pre-images copied on the host) and the
/// dated backups, after checking that no file changed since it was read. Nothing is
/// written to a target file by this script.
#[must_use]
pub fn journal_script(run_id: &str, manifest_json: &[u8], files: &[PlannedWrite]) -> String {
    let j = quote(&journal_dir(run_id));
    let mut s = format!(
        "set -eu\numask 077\nLC_ALL=C; export LC_ALL\n\
         changed() {{ printf 'WSD-CHANGED %s\\n' \"$1\" >&2; exit {EXIT_CHANGED_SINCE_READ}; }}\n{}",
        agent_functions()
    );
    // Who writes each file (and its backup) is settled before anything is written: a
    // path another user could swap under root is refused here, with nothing touched.
    for f in files {
        check_agent(&mut s, &f.path, f.via.as_deref());
        if let Some(b) = &f.backup {
            check_agent(&mut s, b, None);
        }
    }
    // Existence with builtins, contents with one `sha256sum -c` for all files; only when
    // that fails, file by file to name the one that changed.
    let mut sums = String::new();
    let mut one_by_one = String::new();
    for f in files {
        let p = quote(&f.path);
        match &f.expected_sha256 {
            Some(sha) => {
                let _ = writeln!(s, "[ -f {p} ] || changed {p}");
                let _ = writeln!(
                    one_by_one,
                    "[ \"$(sha256sum < {p} | cut -d' ' -f1)\" = {} ] || changed {p}",
                    quote(sha)
                );
                if f.path.contains(['\n', '\\']) {
                    // Not expressible in `sha256sum -c` input: checked on its own.
                    let _ = writeln!(
                        s,
                        "[ \"$(sha256sum < {p} | cut -d' ' -f1)\" = {} ] || changed {p}",
                        quote(sha)
                    );
                } else {
                    let _ = writeln!(sums, "{sha}  {}", f.path);
                }
            }
            None => {
                let _ = writeln!(s, "[ ! -e {p} ] || changed {p}");
            }
        }
    }
    if !sums.is_empty() {
        let _ = write!(
            s,
            "if ! sha256sum -c --status <<'WSD_SUMS_END'\n{sums}WSD_SUMS_END\nthen\n{one_by_one}changed 'a file being replaced'\nfi\n"
        );
    }
    let _ = writeln!(
        s,
        "mkdir -p {j}/pre\nchmod 700 {STATE_DIR} {STATE_DIR}/runs {j}"
    );
    let mut durable: Vec<String> = Vec::new();
    let mut copied = String::new();
    for f in files {
        if let Some(sha) = &f.expected_sha256 {
            // Root copies with owner and mode; a user's file is read by that user (a name
            // they swapped to a symlink cannot make root read for them). The copies are
            // then checked against what was read.
            let _ = writeln!(
                s,
                "wsd_agent {p} || wsd_unsafe\nif [ \"$wsd_u\" = 0 ]; then cp -p -- {p} {j}/pre/{i}; else wsd_as cat -- {p} > {j}/pre/{i}; fi",
                p = quote(&f.path),
                i = f.index
            );
            let _ = writeln!(copied, "{sha}  {}/pre/{}", journal_dir(run_id), f.index);
            durable.push(quote(&format!("{}/pre/{}", journal_dir(run_id), f.index)));
        }
    }
    if !copied.is_empty() {
        let _ = write!(
            s,
            "sha256sum -c --status <<'WSD_SUMS_END' || changed 'a file being replaced (while its pre-image was copied)'\n{copied}WSD_SUMS_END\n"
        );
    }
    s.push_str(&format!("base64 -d > {j}/manifest.json "));
    heredoc(&mut s, manifest_json);
    let _ = writeln!(
        s,
        "sync -- {} {j}/manifest.json {j}/pre {j} 2>/dev/null || sync",
        durable.join(" ")
    );
    let mut backups: Vec<String> = Vec::new();
    for f in files {
        if let Some(backup) = &f.backup {
            let b = quote(backup);
            let dir = quote(parent_dir(backup));
            let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
            let _ = writeln!(
                s,
                "if [ ! -e {b} ] && [ ! -L {b} ]; then\n\
                 \x20 wsd_agent {p} || wsd_unsafe; wsd_tu=$wsd_u wsd_tg=$wsd_g\n\
                 \x20 wsd_agent {b} || wsd_unsafe\n\
                 \x20 if [ \"$wsd_u\" = 0 ] && [ \"$wsd_tu\" = 0 ]; then [ -d {dir} ] || mkdir -p -- {dir}; cp -p -- {p} {b}\n\
                 \x20 else ( wsd_u=$wsd_tu wsd_g=$wsd_tg; wsd_as cat -- {p} ) | wsd_as sh -c \"$WSD_PUT\" sh {b} {m}; fi\n\
                 \x20 printf 'WSD-BACKUP %s\\n' {b}\nfi",
                p = quote(&f.path),
                m = quote(&mode)
            );
            backups.push(b);
            backups.push(dir);
        }
    }
    if !backups.is_empty() {
        let _ = writeln!(s, "sync -- {} 2>/dev/null || sync", backups.join(" "));
    }
    // Pre-images, manifest and backups are on disk before the state says files may be
    // touched; the state is written whole or not at all (temp + rename). A host killed
    // before, or a journal step that failed (a backup a user's directory refused), has no
    // state: no target file was touched, and no later run has anything to recover. Only
    // these files are flushed (`sync FILE…`), not every filesystem of the host.
    let _ = writeln!(
        s,
        "printf 'in_progress\\n' > {j}/state.tmp && sync -- {j}/state.tmp && mv -f {j}/state.tmp {j}/state\n\
         sync -- {j} 2>/dev/null || sync"
    );
    s.push_str("exit 0\n");
    s
}

/// The directory part of an absolute path (`/` for a file at the root).
fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Printed by [`journal_then_write_script`] once the journal and backups are complete.
pub const JOURNALED_MARKER: &str = "WSD-JOURNALED";

/// [`journal_script`], then (only if it succeeded, in the same shell) [`write_script`]:
/// the journal is complete before the first byte of a target file changes, and the
/// output says how far it got (`WSD-JOURNALED`, then `WSD-WROTE <i>` per file).
#[must_use]
pub fn journal_then_write_script(
    run_id: &str,
    manifest_json: &[u8],
    planned: &[PlannedWrite],
    files: &[FileContent<'_>],
) -> String {
    let journal = journal_script(run_id, manifest_json, planned);
    let journal = journal.strip_suffix("exit 0\n").unwrap_or(&journal);
    format!(
        "{journal}printf '%s\\n' {JOURNALED_MARKER}\n{}",
        write_script(files)
    )
}

/// New content for one file.
#[derive(Debug, Clone)]
pub struct FileContent<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
    /// Mode for a file that does not exist yet (existing files keep owner and mode).
    pub new_mode: u32,
    /// sha256 of what the file must hold right before it is replaced (`None`: it must
    /// not exist): a change made by someone else since is never overwritten.
    pub expected: Option<String>,
}

/// Atomically replaces files: temp file (0600) in the same directory, content, owner and
/// mode copied from the original, fsync, rename. Prints `WSD-WROTE <i>` after each.
///
/// Who writes is decided per file by `wsd_agent` (see [`AGENT_FUNCTIONS`]): root in
/// directories only root can change; in a directory a user controls, that user (the file
/// keeps being theirs; `chown`/`chmod` never run as root there); anything else is
/// refused (exit [`EXIT_UNSAFE_PATH`]).
#[must_use]
pub fn write_script(files: &[FileContent<'_>]) -> String {
    let mut s = format!("set -eu\numask 077\n{}set --\n", agent_functions());
    for (i, f) in files.iter().enumerate() {
        let p = quote(f.path);
        let d = quote(parent_dir(f.path));
        let _ = writeln!(
            s,
            "wsd_agent {p} || wsd_unsafe\nif [ \"$wsd_u\" = 0 ]; then"
        );
        let _ = write!(
            s,
            "d={d}; [ -d \"$d\" ] || mkdir -p -- \"$d\"\n\
             t=$(mktemp \"$d/.wsdeploy.XXXXXX\")\n\
             trap 'rm -f -- \"$t\"' EXIT\n\
             base64 -d > \"$t\" "
        );
        heredoc(&mut s, f.content);
        let _ = write!(
            s,
            "if [ -e {p} ]; then chown --reference={p} -- \"$t\"; chmod --reference={p} -- \"$t\"; else chmod {mode:o} -- \"$t\"; fi\n\
             sync -- \"$t\" 2>/dev/null || sync\n\
             wsd_cas {p} {expected} || {{ printf 'WSD-CHANGED %s\\n' {p} >&2; exit {EXIT_CHANGED_SINCE_READ}; }}\n\
             mv -f -- \"$t\" {p}\n\
             trap - EXIT\n\
             else\n\
             wsd_new=; [ -e {p} ] || wsd_new={mode:o}\n\
             base64 -d <<'WSDEPLOY_B64_END' | wsd_as sh -c \"$WSD_PUT\" sh {p} \"$wsd_new\" {expected}\n",
            mode = f.new_mode,
            expected = quote(f.expected.as_deref().unwrap_or("absent"))
        );
        // The same content again for the user's branch (only one branch runs).
        let mut doc = String::new();
        heredoc(&mut doc, f.content);
        s.push_str(doc.trim_start_matches("<<'WSDEPLOY_B64_END'\n"));
        let _ = write!(
            s,
            "fi\n\
             printf 'WSD-WROTE {i}\\n'\n\
             set -- \"$@\" {d}\n"
        );
    }
    // The renames are durable once their directories are flushed.
    s.push_str("[ $# -eq 0 ] || sync -- \"$@\" 2>/dev/null || sync\nexit 0\n");
    s
}

/// Printed by [`restore_script`] when the run has no journal state: no file was touched
/// (the state is written before the first target file), so nothing is restored.
pub const NO_JOURNAL_MARKER: &str = "WSD-NO-JOURNAL";

/// Printed by [`restore_script`] when a pre-image is not the bytes the manifest
/// recorded, or the run is not `in_progress`: nothing was restored.
pub const UNTRUSTED_JOURNAL_MARKER: &str = "WSD-JOURNAL-UNTRUSTED";

/// Restores files from the journal's pre-images, in reverse order; a file that did not
/// exist before is removed. Prints `WSD-RESTORED <path>` after each.
///
/// Only a run whose state is `in_progress` is restored, and only when every pre-image
/// still has the sha256 the manifest recorded: otherwise it prints
/// [`UNTRUSTED_JOURNAL_MARKER`] and exits 1 before touching anything.
#[must_use]
pub fn restore_script(run_id: &str, files: &[crate::journal::JournalFile]) -> String {
    let j = quote(&journal_dir(run_id));
    let mut s = format!(
        "set -u\numask 077\nfail=0\n[ -f {j}/state ] || {{ echo {NO_JOURNAL_MARKER}; exit 0; }}\n\
         IFS= read -r st < {j}/state || st=\n\
         [ \"$st\" = in_progress ] || {{ printf '{UNTRUSTED_JOURNAL_MARKER} state %s\\n' \"$st\"; exit 1; }}\n{}",
        agent_functions()
    );
    let mut sums = String::new();
    for f in files.iter().filter(|f| f.existed) {
        let _ = writeln!(
            sums,
            "{}  {}/pre/{}",
            f.sha256.as_deref().unwrap_or("missing"),
            journal_dir(run_id),
            f.index
        );
    }
    if !sums.is_empty() {
        let _ = write!(
            s,
            "sha256sum -c --status <<'WSD_SUMS_END' || {{ echo '{UNTRUSTED_JOURNAL_MARKER} pre-images'; exit 1; }}\n{sums}WSD_SUMS_END\n"
        );
    }
    let mut dirs: Vec<String> = Vec::new();
    for f in files.iter().rev() {
        let (i, path) = (f.index, &f.path);
        let d = quote(parent_dir(path));
        if !dirs.contains(&d) {
            dirs.push(d);
        }
        let p = quote(path);
        // As in `write_script`: root where only root can change the directories, the
        // user who controls them otherwise, never through a path someone else controls.
        let refused = format!(
            "! wsd_agent {p}; then fail=1; printf 'WSD-RESTORE-FAILED %s\\n' {p}; printf 'WSD-UNSAFE %s\\n' \"$wsd_why\" >&2;"
        );
        // Only a file that still holds bytes this run wrote is put back: a change someone
        // else made since is left as it is, and reported.
        let mine = if f.written.is_empty() {
            "any".to_owned()
        } else {
            f.written.join(" ")
        };
        let foreign = format!(
            "elif ! wsd_mine {p} {}; then fail=1; printf 'WSD-RESTORE-SKIPPED %s\\n' {p};",
            quote(&mine)
        );
        if f.existed {
            let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
            let _ = writeln!(
                s,
                "if cmp -s {j}/pre/{i} {p}; then printf 'WSD-RESTORED %s\\n' {p}; {foreign} elif {refused} elif [ \"$wsd_u\" = 0 ]; then \
                 t=$(mktemp {d}/.wsdeploy.XXXXXX) && cp -p -- {j}/pre/{i} \"$t\" && {{ sync -- \"$t\" 2>/dev/null || sync; }} && mv -f -- \"$t\" {p} && printf 'WSD-RESTORED %s\\n' {p} || {{ fail=1; printf 'WSD-RESTORE-FAILED %s\\n' {p}; rm -f -- \"$t\" 2>/dev/null; }}; \
                 else wsd_as sh -c \"$WSD_PUT\" sh {p} {m} < {j}/pre/{i} && printf 'WSD-RESTORED %s\\n' {p} || {{ fail=1; printf 'WSD-RESTORE-FAILED %s\\n' {p}; }}; fi",
                d = quote(parent_dir(path)),
                m = quote(&mode)
            );
        } else {
            let _ = writeln!(
                s,
                "if [ ! -e {p} ] && [ ! -L {p} ]; then printf 'WSD-RESTORED %s\\n' {p}; {foreign} elif {refused} else wsd_as rm -f -- {p} && printf 'WSD-RESTORED %s\\n' {p} || {{ fail=1; printf 'WSD-RESTORE-FAILED %s\\n' {p}; }}; fi"
            );
        }
    }
    let _ = writeln!(
        s,
        "sync -- {} 2>/dev/null || sync\nexit $fail",
        dirs.join(" ")
    );
    s
}

/// Runs a plan command, first recording in the journal that it started (so an
/// interrupted run knows which reload/restart to repeat when it is rolled back). The
/// script travels on stdin and the command is `eval`ed, so it is in no process's argv.
#[must_use]
pub fn journaled_command(run_id: &str, index: usize, command: &str) -> String {
    format!(
        "printf '%s\\n' {index} >> {}/ran || exit 1\neval {}\n",
        quote(&journal_dir(run_id)),
        quote(command)
    )
}

/// Marks a run's final state (`committed`, `rolled_back`, `rollback_failed`).
#[must_use]
pub fn set_state_script(run_id: &str, state: &str) -> String {
    format!(
        "printf '%s\\n' {s} > {j}/state.tmp && sync -- {j}/state.tmp && mv -f {j}/state.tmp {j}/state && {{ sync -- {j} 2>/dev/null || sync; }}\n",
        s = quote(state),
        j = quote(&journal_dir(run_id))
    )
}

/// Reads an interrupted run's manifest and the list of commands it started.
#[must_use]
pub fn read_journal_script(run_id: &str) -> String {
    let j = quote(&journal_dir(run_id));
    format!(
        "printf 'S %s\\n' \"$(cat {j}/state 2>/dev/null)\"\n\
         printf 'M %s\\n' \"$(base64 -w0 < {j}/manifest.json)\"\n\
         printf 'R %s\\n' \"$(cat {j}/ran 2>/dev/null | tr '\\n' ' ')\"\n"
    )
}

/// Lists runs (`RUN <id> <state> <manifest_b64>`) and dated backups
/// (`BACKUP <path>`) of the given files, beside them or under the state directory.
#[must_use]
pub fn list_backups_script(files: &[String]) -> String {
    let mut s = format!(
        "set -u\nfor d in {STATE_DIR}/runs/*/; do\n\
         \x20 [ -f \"$d/state\" ] || continue\n\
         \x20 printf 'RUN %s %s %s\\n' \"$(basename \"$d\")\" \"$(cat \"$d/state\")\" \"$(base64 -w0 < \"$d/manifest.json\" 2>/dev/null)\"\n\
         done\n"
    );
    for f in files {
        let _ = writeln!(
            s,
            "r=$(readlink -f -- {p} 2>/dev/null) || r={p}\nfor b in \"$r\".backup-*; do [ -e \"$b\" ] && printf 'BACKUP %s\\n' \"$b\"; done",
            p = quote(f)
        );
    }
    let _ = writeln!(
        s,
        "[ -d {STATE_DIR}/backups ] && find {STATE_DIR}/backups -type f | sort | sed 's/^/BACKUP /'\nexit 0"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_commands_travel_on_stdin_and_never_in_the_command_line() {
        let secret_command = "curl -H 'Authorization: Bearer s3cr3t' http://x";
        for elevation in [
            None,
            Some(Become {
                user: "root".to_owned(),
                password: false,
            }),
            Some(Become {
                user: "root".to_owned(),
                password: true,
            }),
        ] {
            let invocation =
                plan_command(secret_command, elevation.as_ref(), Duration::from_secs(7));
            assert!(!invocation.line.contains("s3cr3t"), "{}", invocation.line);
            assert_eq!(invocation.input, secret_command.as_bytes());
        }
        let journaled = journaled_command("r1", 2, secret_command);
        assert!(
            journaled.ends_with(&format!("\neval {}\n", quote(secret_command))),
            "{journaled}"
        );
    }

    #[test]
    fn sudo_gets_the_password_on_stdin_only_when_it_asks() {
        let with_password = Become {
            user: "odoo".to_owned(),
            password: true,
        };
        let runner = script_runner(Some(&with_password), Duration::from_secs(7));
        assert!(runner.starts_with("sh -c 'IFS= read -r wsd_p"), "{runner}");
        let script = "IFS= read -r wsd_p\n\
             if sudo -n -u 'odoo' -- true 2>/dev/null; then wsd_p=; exec sudo -n -u 'odoo' -- timeout -k 5 7 sh -s; fi\n\
             { printf '%s\\n' \"$wsd_p\"; wsd_p=; exec cat; } | sudo -S -p '' -u 'odoo' -- timeout -k 5 7 sh -s\n";
        assert_eq!(runner, format!("sh -c {}", quote(script)));
        let without = Become {
            user: "odoo".to_owned(),
            password: false,
        };
        let bound = Duration::from_millis(6500);
        assert_eq!(
            script_runner(Some(&without), bound),
            "sudo -n -u 'odoo' -- timeout -k 5 7 sh -s"
        );
        assert_eq!(script_runner(None, bound), "timeout -k 5 7 sh -s");
    }

    #[test]
    fn quote_survives_hostile_values() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(touch /tmp/x); `id`"), "'$(touch /tmp/x); `id`'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn hostile_values_are_inert_in_a_real_shell() {
        let hostile = "a'b\"c$(echo INJECTED)`echo INJECTED`;echo INJECTED\nnext";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {}", quote(hostile)))
            .output()
            .expect("sh runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), hostile);
    }

    /// Starts the lock holder on `dir` with `sh`, as a transport would.
    fn start_holder(dir: &std::path::Path, holder: &str) -> std::process::Child {
        let command = lock_command_in(&dir.to_string_lossy(), holder, None);
        std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs")
    }

    fn first_line(child: &mut std::process::Child) -> String {
        use std::io::BufRead as _;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the holder's stdout");
        line
    }

    fn lock_is_free(dir: &std::path::Path) -> bool {
        std::process::Command::new("flock")
            .arg("-n")
            .arg(dir.join("lock"))
            .arg("true")
            .status()
            .expect("flock runs")
            .success()
    }

    /// Waits (bounded) for the holder to end and returns its exit code.
    fn ended_within(child: &mut std::process::Child, limit: std::time::Duration) -> Option<i32> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = child.try_wait().expect("wait for the holder") {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    #[test]
    fn lock_holder_keeps_the_lock_through_heartbeats_and_frees_it_at_eof() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("it's state");
        let mut holder = start_holder(&state, "run 1 by 'ops'");
        assert_eq!(first_line(&mut holder), "WSD-LOCKED\n");
        let mut stdin = holder.stdin.take().expect("piped stdin");
        for _ in 0..3 {
            stdin
                .write_all(LOCK_HEARTBEAT.as_bytes())
                .expect("heartbeat");
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(!lock_is_free(&state), "a heartbeat ended the holder");
        }

        let mut second = start_holder(&state, "run 2");
        assert_eq!(first_line(&mut second), "WSD-BUSY run 1 by 'ops'\n");
        assert_eq!(
            ended_within(&mut second, std::time::Duration::from_secs(5)),
            Some(EXIT_LOCK_BUSY)
        );

        drop(stdin);
        assert_eq!(
            ended_within(&mut holder, std::time::Duration::from_secs(2)),
            Some(0),
            "EOF must end the holder at once"
        );
        assert!(lock_is_free(&state));
    }

    #[test]
    fn lock_holder_ends_on_a_byte_that_is_not_the_heartbeat() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut holder = start_holder(dir.path(), "run");
        assert_eq!(first_line(&mut holder), "WSD-LOCKED\n");
        let mut stdin = holder.stdin.take().expect("piped stdin");
        stdin.write_all(b"..x").expect("write");
        assert_eq!(
            ended_within(&mut holder, std::time::Duration::from_secs(2)),
            Some(0)
        );
        assert!(lock_is_free(dir.path()));
    }

    #[test]
    fn heredoc_delimiter_cannot_appear_in_base64() {
        let mut s = String::new();
        heredoc(&mut s, b"WSDEPLOY_B64_END\n");
        assert_eq!(s.matches("WSDEPLOY_B64_END").count(), 2);
    }

    #[test]
    fn restoring_a_run_without_journal_state_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("someone else's.conf");
        std::fs::write(&created, "not ours\n").unwrap();
        let script = restore_script(
            "20261123T000000Z-00ab12-no-such-run",
            &[crate::journal::JournalFile {
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
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            NO_JOURNAL_MARKER
        );
        assert_eq!(std::fs::read_to_string(&created).unwrap(), "not ours\n");
    }

    #[test]
    fn a_dump_is_not_kept_when_a_file_it_shows_changed_after_the_dump_started() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("it's $(x) nginx.conf");
        std::fs::write(&conf, "events {}\n").unwrap();
        let dump = dir.path().join("dump");
        std::fs::write(
            &dump,
            format!(
                "nginx: the configuration file {0} syntax is ok\n# configuration file {0}:\nevents {{}}\n# include /nowhere/*.conf;\nhttp {{ include conf.d/*.conf; }}\n",
                conf.display()
            ),
        )
        .unwrap();
        // The stamp and outputs live elsewhere, as on a host (/var/lib/wsdeploy/dump):
        // creating them must not touch a watched directory.
        let state = tempfile::tempdir().unwrap();
        let (stamp, stored, paths) = (
            state.path().join("stamp"),
            state.path().join("k"),
            state.path().join("p"),
        );
        let fingerprint = || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "{}wsd_fingerprint {} {} {} {}",
                    dump_cache_functions(),
                    quote(&dump.display().to_string()),
                    quote(&stamp.display().to_string()),
                    quote(&stored.display().to_string()),
                    quote(&paths.display().to_string()),
                ))
                .output()
                .expect("sh runs")
        };
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // The dump "started" after every file was last changed: kept.
        std::fs::write(&stamp, "").unwrap();
        let kept = fingerprint();
        assert!(kept.status.success(), "{kept:?}");
        let text = std::fs::read_to_string(&stored).unwrap();
        let d = dir.path().display();
        let expected = [
            conf.display().to_string(),
            d.to_string(),
            format!("{d}/conf.d"),
        ];
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .filter_map(|l| l.splitn(8, ' ').nth(7))
            .collect();
        assert_eq!(names, expected, "{text}");
        assert!(text.starts_with("3\n"), "{text}");
        // The paths file, sourced by a real shell, gives back exactly the watched paths
        // (the commented-out include is not one of them).
        let listed = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                ". {}; printf '%s\\n' \"$@\"",
                quote(&paths.display().to_string())
            ))
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8_lossy(&listed.stdout),
            format!("{}\n", expected.join("\n"))
        );
        // A file changed after the dump started: refused.
        std::fs::remove_file(&stored).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&conf, "events { }\n").unwrap();
        let newer = fingerprint();
        assert!(!newer.status.success());
    }
}
