//! Reading one file on the host (a play's `facts:` source): its bytes, or a status that
//! says it does not exist. Never through a name another user could swap under root: the
//! path's symlink chain is judged first (`wsd_chain`, exit [`super::EXIT_UNSAFE_PATH`]
//! with `WSD-UNSAFE <why>`), and a file a user controls is read by that user.

use super::{agent, quote};

/// Exit status of [`read_if_exists`] when the file does not exist.
pub const EXIT_NO_SUCH_FILE: i32 = 66;

/// Prints a file's bytes, or exits [`EXIT_NO_SUCH_FILE`] when there is no such file.
#[must_use]
pub fn read_if_exists(path: &str) -> String {
    let p = quote(path);
    format!(
        "{}wsd_chain {p} || wsd_unsafe\nif [ -e {p} ]; then wsd_as cat -- {p}; else exit {EXIT_NO_SUCH_FILE}; fi",
        agent::functions()
    )
}

/// Prints the NUL-separated command line of a systemd unit's running main process
/// (`systemctl show -p MainPID`, then `/proc/<pid>/cmdline`), or exits
/// [`EXIT_NO_SUCH_FILE`] when there is no systemctl, the unit has no main process, or it
/// exited meanwhile.
#[must_use]
pub fn main_process_cmdline(unit: &str) -> String {
    let u = quote(unit);
    format!(
        "command -v systemctl >/dev/null 2>&1 || exit {EXIT_NO_SUCH_FILE}\n\
         pid=$(systemctl show --property=MainPID --value -- {u} 2>/dev/null) || exit {EXIT_NO_SUCH_FILE}\n\
         case $pid in ''|0|*[!0-9]*) exit {EXIT_NO_SUCH_FILE} ;; esac\n\
         cat -- \"/proc/$pid/cmdline\" 2>/dev/null || exit {EXIT_NO_SUCH_FILE}"
    )
}
