//! A run's id (`YYYYMMDDTHHMMSSZ-xxxxxx`): made once per run, and the only name wsdeploy
//! ever reads back from a host's journal directory. A [`RunId`] is checked when it is
//! made or parsed, so a path built from one never holds `/` or `..`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A run id of the form [`RunId::new`] makes; serialized as its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// A new run id: UTC time plus a random suffix, sortable and unique enough per fleet.
    #[must_use]
    pub fn new() -> Self {
        let now = chrono::Utc::now();
        let nanos = u64::from(now.timestamp_subsec_nanos());
        let mix = nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
        Self(format!(
            "{}-{:06x}",
            now.format("%Y%m%dT%H%M%SZ"),
            mix & 0xff_ffff
        ))
    }

    /// `text` as a run id, when it has the form [`RunId::new`] makes.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        is_run_id(text).then(|| Self(text.to_owned()))
    }

    /// The id's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `id` is `YYYYMMDDTHHMMSSZ-xxxxxx` (lowercase hex suffix).
fn is_run_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 23
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

impl TryFrom<String> for RunId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if is_run_id(&text) {
            Ok(Self(text))
        } else {
            Err(format!("`{text}` is not a run id"))
        }
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> Self {
        id.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_form_new_makes_is_a_run_id() {
        let id = RunId::new();
        assert_eq!(RunId::parse(id.as_str()), Some(id.clone()));
        for bad in [
            "../../../tmp/x",
            "20261123T000000Z-00000g",
            "20261123T000000Z-0000",
            "20261123T000000Z-00AB12",
            "",
        ] {
            assert_eq!(RunId::parse(bad), None, "{bad}");
            assert!(serde_json::from_str::<RunId>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn serializes_as_its_text() {
        let id = RunId::parse("20261123T000000Z-00ab12").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"20261123T000000Z-00ab12\"");
        assert_eq!(serde_json::from_str::<RunId>(&json).unwrap(), id);
    }
}
