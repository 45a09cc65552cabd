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
