//! A script under construction: text appended piece by piece (`write!` works on it),
//! file contents as base64 here-documents whose delimiter cannot occur in base64, and
//! one ending. Scripts are composed by appending a body to another before it ends.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Closes every here-document that carries base64 data.
const B64_END: &str = "WSDEPLOY_B64_END";

/// Shell text being built.
#[derive(Debug, Default)]
pub struct Script {
    text: String,
}

impl Script {
    /// A script that starts with `text`.
    #[must_use]
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
        }
    }

    /// Appends `text` as it is.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends a here-document carrying `data` base64-encoded (76 columns), for the
    /// command already written on the current line.
    pub fn base64_heredoc(&mut self, data: &[u8]) {
        self.text.push_str("<<'");
        self.text.push_str(B64_END);
        self.text.push_str("'\n");
        self.base64_lines(data);
    }

    /// The body of [`Self::base64_heredoc`] alone, for a here-document opened by text
    /// already written.
    pub fn base64_lines(&mut self, data: &[u8]) {
        let encoded = B64.encode(data);
        for chunk in encoded.as_bytes().chunks(76) {
            self.text.push_str(&String::from_utf8_lossy(chunk));
            self.text.push('\n');
        }
        self.text.push_str(B64_END);
        self.text.push('\n');
    }

    /// The script, ended by `exit 0`.
    #[must_use]
    pub fn exit_0(mut self) -> String {
        self.text.push_str("exit 0\n");
        self.text
    }

    /// The script as it is (its last command's status is its own).
    #[must_use]
    pub fn into_text(mut self) -> String {
        // Held until the host has run it (by every host at once): no growth slack.
        self.text.shrink_to_fit();
        self.text
    }
}

impl fmt::Write for Script {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.text.push_str(s);
        Ok(())
    }
}

/// Every path from the top down to `path`, `/` left out (`/var`, `/var/lib`,
/// `/var/lib/wsdeploy`); empty components are skipped.
#[must_use]
pub fn top_down(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        out.push(at.clone());
    }
    out
}

/// The directory part of an absolute path (`/` for a file at the root).
#[must_use]
pub fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_delimiter_cannot_appear_in_base64() {
        let mut s = Script::default();
        s.base64_heredoc(b"WSDEPLOY_B64_END\n");
        assert_eq!(s.into_text().matches(B64_END).count(), 2);
    }

    #[test]
    fn parent_of_a_file_at_the_root_is_the_root() {
        assert_eq!(parent_dir("/x"), "/");
        assert_eq!(parent_dir("/etc/nginx/nginx.conf"), "/etc/nginx");
    }
}
