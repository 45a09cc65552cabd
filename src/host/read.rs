//! Reading one file on the host (a play's `facts:` source): its bytes, or a status that
//! says it does not exist.

use super::quote;

/// Exit status of [`read_if_exists`] when the file does not exist.
pub const EXIT_NO_SUCH_FILE: i32 = 66;

/// Prints a file's bytes, or exits [`EXIT_NO_SUCH_FILE`] when there is no such file.
#[must_use]
pub fn read_if_exists(path: &str) -> String {
    let p = quote(path);
    format!("if [ -e {p} ]; then cat -- {p}; else exit {EXIT_NO_SUCH_FILE}; fi")
}
