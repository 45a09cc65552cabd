//! Status words in colour on a terminal, as Ansible colours them (in sync green, changed
//! yellow, failures red, not run cyan); never when stdout is not a terminal or `NO_COLOR`
//! is set (`report::stdout_is_tty`).

use crate::run::Outcome;

/// The ANSI colour of an outcome's word.
fn code(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::InSync => "32",
        Outcome::Changed | Outcome::WouldChange => "33",
        Outcome::Failed | Outcome::RolledBack | Outcome::Unreachable => "31",
        Outcome::RollbackFailed => "1;31",
        Outcome::NotRun => "36",
    }
}

/// `text` (an outcome's word, padded or not) in the outcome's colour when `color`.
#[must_use]
pub fn paint(outcome: Outcome, text: &str, color: bool) -> String {
    if color {
        format!("\x1b[{}m{text}\x1b[0m", code(outcome))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(paint(Outcome::Failed, "FAILED", false), "FAILED");
        assert_eq!(
            paint(Outcome::Unreachable, "UNREACHABLE", true),
            "\x1b[31mUNREACHABLE\x1b[0m"
        );
    }
}
