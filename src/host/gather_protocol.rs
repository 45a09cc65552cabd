//! The words of the gather's output, written once: the script (`gather`) prints them
//! and its parser reads them, both through these types, so the two cannot drift apart.
//!
//! The output is a header line, then sections opened by `\n<boundary> <letter>…\n`
//! ([`Section`]); section `S` holds one [`Presence`] line per file.

use std::fmt;

/// A section of the gather's output, in the order the script prints them (`R` and `S`
/// only when the plan reads files, `C` when it reads files or has dumps; one `D` per dump).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `R`: the real paths (symlinks followed), NUL-terminated, one per file.
    Reals,
    /// `S`: one [`Presence`] line per file.
    States,
    /// `C`: the present files' bytes, then the stored dumps' copies, back to back.
    Contents,
    /// `T`: NUL-terminated `stat` records (present files, stored dumps' copies, then the
    /// paths the copies watch).
    Stats,
    /// `J`: one line per run whose journal still says `in_progress`.
    Journal,
    /// `D <i> …`: a dump's output, length-framed, or `D <i> stored` (its copy is in `C`).
    Dump,
}

impl Section {
    /// Every section, in the order they are printed.
    pub const ALL: [Self; 6] = [
        Self::Reals,
        Self::States,
        Self::Contents,
        Self::Stats,
        Self::Journal,
        Self::Dump,
    ];

    /// The letter that opens the section.
    #[must_use]
    pub const fn letter(self) -> &'static str {
        match self {
            Self::Reals => "R",
            Self::States => "S",
            Self::Contents => "C",
            Self::Stats => "T",
            Self::Journal => "J",
            Self::Dump => "D",
        }
    }

    /// The section a header's first word names.
    #[must_use]
    pub fn from_letter(letter: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.letter() == letter)
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

/// A `D` header's third and last word when the dump's stored copy stands for it
/// (`D <i> stored`, an empty section: the copy's bytes are in `C`).
pub const STORED: &str = "stored";
/// A `D` header's exit word when the dump's output exceeded the limit
/// (`D <i> <length> toolarge`).
pub const TOO_LARGE: &str = "toolarge";

/// What the `S` section says of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A regular file its reader can read: its bytes are in `C`, its `stat` in `T`.
    Present,
    Absent,
    /// Exists but is not a regular file.
    Other,
    /// A regular file its reader cannot read.
    Unreadable,
    /// `unsafe <why>`: another user could swap a name on its way; never read.
    Unsafe,
}

impl Presence {
    const ALL: [Self; 5] = [
        Self::Present,
        Self::Absent,
        Self::Other,
        Self::Unreadable,
        Self::Unsafe,
    ];

    /// The word the script prints.
    #[must_use]
    pub const fn word(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Other => "other",
            Self::Unreadable => "unreadable",
            Self::Unsafe => "unsafe",
        }
    }

    /// Reads one `S` line: the presence and what follows its word (the reason of
    /// `unsafe`). A line that names no presence is taken as unreadable: the file is not
    /// read.
    #[must_use]
    pub fn read(line: &str) -> (Self, &str) {
        match Self::ALL.into_iter().find(|p| p.word() == line) {
            Some(p) if p != Self::Unsafe => (p, ""),
            _ => match line
                .strip_prefix(Self::Unsafe.word())
                .and_then(|rest| rest.strip_prefix(' '))
            {
                Some(why) => (Self::Unsafe, why),
                None => (Self::Unreadable, ""),
            },
        }
    }
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself() {
        for s in Section::ALL {
            assert_eq!(Section::from_letter(s.letter()), Some(s));
        }
        assert_eq!(Section::from_letter("X"), None);
        for p in Presence::ALL {
            if p != Presence::Unsafe {
                assert_eq!(Presence::read(p.word()), (p, ""));
            }
        }
        assert_eq!(
            Presence::read("unsafe /srv is writable by other users "),
            (Presence::Unsafe, "/srv is writable by other users ")
        );
        assert_eq!(Presence::read("present extra"), (Presence::Unreadable, ""));
        assert_eq!(Presence::read("gone"), (Presence::Unreadable, ""));
        assert_eq!(Presence::read("unsafe"), (Presence::Unreadable, ""));
    }
}
