//! What the operator sees: live progress (`progress`), per-host diffs and the final
//! summary (`summary`), and the `--json` event stream (`event`). Every text that leaves
//! wsdeploy passes through [`mask`].

pub mod event;
pub mod progress;
pub mod summary;

/// Replaces every secret value in `text` with `********`.
#[must_use]
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if !secret.is_empty() {
            out = out.replace(secret.as_str(), "********");
        }
    }
    out
}

/// Whether stdout is a terminal (colours, progress bars) — `NO_COLOR` turns colours off.
#[must_use]
pub fn stdout_is_tty() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_every_occurrence() {
        assert_eq!(
            super::mask("pw=hunter2 again hunter2", &["hunter2".into()]),
            "pw=******** again ********"
        );
    }
}
