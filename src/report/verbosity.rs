//! How much the operator asked to see: `-q` (errors and the counts line), default, `-v`
//! (every line of each step's output), `-vv` (also each host's phases). Set once from
//! the command line, read by the printers.

use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

/// Sets the level: -1 quiet, 0 default, 1 `-v`, 2 `-vv` (higher counts as 2).
pub fn set(level: i8) {
    LEVEL.store(level.clamp(-1, 2), Ordering::Relaxed);
}

/// The level set by [`set`] (0 when never set).
#[must_use]
pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// `-q` was given.
#[must_use]
pub fn quiet() -> bool {
    level() < 0
}
