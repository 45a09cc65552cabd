//! Writing to stdout and stderr without panicking when the reader went away
//! (`wsdeploy apply --json | head -1`): a closed pipe ends that stream quietly, the run
//! itself goes on (a transaction is never cut short by a pager) and keeps its exit code.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout (flushed); nothing more is written once the reader is gone.
pub fn stdout(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut lock = std::io::stdout().lock();
    if lock
        .write_all(text.as_bytes())
        .and_then(|()| lock.flush())
        .is_err()
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes `text` to stderr; nothing more is written once the reader is gone.
pub fn stderr(text: &str) {
    if STDERR_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut lock = std::io::stderr().lock();
    if lock
        .write_all(text.as_bytes())
        .and_then(|()| lock.flush())
        .is_err()
    {
        STDERR_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `println!` that never panics (see the module header).
macro_rules! outln {
    () => { $crate::report::out::stdout("\n") };
    ($($arg:tt)*) => { $crate::report::out::stdout(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that never panics (see the module header).
macro_rules! errln {
    ($($arg:tt)*) => { $crate::report::out::stderr(&format!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {errln, outln};
