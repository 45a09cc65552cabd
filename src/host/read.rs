//! Reading one file on the host (a play's `facts:` source): its bytes, or `None` when it
//! does not exist. Never through a name another user could swap under root: the path's
//! symlink chain is judged first (`wsd_chain`, exit [`super::EXIT_UNSAFE_PATH`] with
//! `WSD-UNSAFE <why>`), and a file a user controls is read by that user.

use super::{Become, SCRIPT_BOUND, agent, quote, sudo_hint, wrap_command};
use crate::transport::Transport;

/// Exit status of [`read_if_exists_script`] when the file does not exist.
const EXIT_NO_SUCH_FILE: i32 = 66;

/// A file's bytes, or `None` when it does not exist.
///
/// # Errors
/// The transport fails, or the script does (a path another user could swap, a file the
/// reader may not read): the message names the path and says why.
pub async fn read_if_exists(
    transport: &Transport,
    become_user: Option<&Become>,
    path: &str,
) -> Result<Option<Vec<u8>>, String> {
    run_read(transport, become_user, path, &read_if_exists_script(path)).await
}

/// The NUL-separated command line of a systemd unit's running main process, or `None`
/// when there is no systemctl, the unit has no main process, or it exited meanwhile.
///
/// # Errors
/// The transport fails, or the script does: the message names the unit.
pub async fn main_process_cmdline(
    transport: &Transport,
    become_user: Option<&Become>,
    unit: &str,
) -> Result<Option<Vec<u8>>, String> {
    run_read(
        transport,
        become_user,
        unit,
        &main_process_cmdline_script(unit),
    )
    .await
}

/// Runs a read script: its stdout, `None` on [`EXIT_NO_SUCH_FILE`], else an error naming `path`.
async fn run_read(
    transport: &Transport,
    become_user: Option<&Become>,
    path: &str,
    script: &str,
) -> Result<Option<Vec<u8>>, String> {
    let out = transport
        .exec_within(
            &wrap_command(script, become_user, SCRIPT_BOUND),
            None,
            SCRIPT_BOUND,
        )
        .await
        .map_err(|e| format!("reading {path}: {e}"))?;
    match out.code() {
        0 => Ok(Some(out.stdout)),
        EXIT_NO_SUCH_FILE => Ok(None),
        _ => {
            let output = out.combined();
            Err(format!(
                "reading {path} ended with {}: {output}{}",
                out.status_text(),
                sudo_hint(&output)
            ))
        }
    }
}

/// Prints a file's bytes, or exits `EXIT_NO_SUCH_FILE` when there is no such file.
#[must_use]
pub fn read_if_exists_script(path: &str) -> String {
    let p = quote(path);
    format!(
        "{}wsd_chain {p} || wsd_unsafe\nif [ -e {p} ]; then wsd_as cat -- {p}; else exit {EXIT_NO_SUCH_FILE}; fi",
        agent::functions()
    )
}

/// Prints the NUL-separated command line of a systemd unit's running main process
/// (`systemctl show -p MainPID`, then `/proc/<pid>/cmdline`), or exits
/// `EXIT_NO_SUCH_FILE` when there is no systemctl, the unit has no main process, or it
/// exited meanwhile.
#[must_use]
pub fn main_process_cmdline_script(unit: &str) -> String {
    let u = quote(unit);
    format!(
        "command -v systemctl >/dev/null 2>&1 || exit {EXIT_NO_SUCH_FILE}\n\
         pid=$(systemctl show --property=MainPID --value -- {u} 2>/dev/null) || exit {EXIT_NO_SUCH_FILE}\n\
         case $pid in ''|0|*[!0-9]*) exit {EXIT_NO_SUCH_FILE} ;; esac\n\
         cat -- \"/proc/$pid/cmdline\" 2>/dev/null || exit {EXIT_NO_SUCH_FILE}"
    )
}
