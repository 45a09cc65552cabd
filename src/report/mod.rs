//! What the operator sees: live progress (`progress`), per-host diffs and the final
//! summary (`summary`), and the `--json` event stream (`event`), written through `out` (never
//! a panic on a closed pipe) at the level of `verbosity`. Every text that leaves
//! wsdeploy passes through [`mask`].

pub mod event;
pub mod out;
pub mod progress;
pub mod summary;
pub mod verbosity;

/// Replaces every secret value in `text` with `********`.
#[must_use]
pub fn mask(text: &str, secrets: &[String]) -> String {
    // A secret also travels shell-quoted (`| quote`) and JSON-escaped (in a JSON file's
    // diff): mask every form, longest first so a shorter form cannot split a longer one.
    let mut forms: Vec<String> = Vec::new();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        forms.push(secret.clone());
        forms.push(secret.replace('\'', "'\\''"));
        forms.push(crate::remote::quote(secret));
        if let Ok(json) = serde_json::to_string(secret) {
            forms.push(json.trim_matches('"').to_owned());
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    let mut out = text.to_owned();
    for form in forms.iter().filter(|f| !f.is_empty()) {
        out = out.replace(form.as_str(), "********");
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
    fn masks_quoted_and_json_escaped_forms() {
        let secret = vec!["p'w\"d".to_owned()];
        assert_eq!(super::mask("echo 'p'\\''w\"d'", &secret), "echo ********");
        assert_eq!(
            super::mask("{\"pw\": \"p'w\\\"d\"}", &secret),
            "{\"pw\": \"********\"}"
        );
    }

    #[test]
    fn masks_every_occurrence() {
        assert_eq!(
            super::mask("pw=hunter2 again hunter2", &["hunter2".into()]),
            "pw=******** again ********"
        );
    }
}
