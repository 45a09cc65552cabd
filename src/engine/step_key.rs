//! A step's key within a host's run: its play's position and its id. Step ids are unique
//! within a play only, so every set of changed steps and every `if_changed` dependency
//! is keyed by both.

use std::fmt;

/// A step of play `play` (its position in the job) with id `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct StepKey {
    pub(super) play: usize,
    pub(super) id: String,
}

impl StepKey {
    pub(super) fn new(play: usize, id: &str) -> Self {
        Self {
            play,
            id: id.to_owned(),
        }
    }
}

/// `play:id`, as tests and debugging show it.
impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.play, self.id)
    }
}
