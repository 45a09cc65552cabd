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
    let out = transport
        .exec_within(
            &wrap_command(&read_if_exists_script(path), become_user, SCRIPT_BOUND),
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
