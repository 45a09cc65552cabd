//! Vault passwords and where they come from: `--vault-password-file FILE` (a file whose
//! content, stripped of surrounding whitespace, is the password, or an executable that
//! prints it), `--ask-vault-pass` (a prompt on the terminal) and `--vault-id LABEL@SOURCE`
//! (SOURCE is `prompt`, a file or an executable; an executable named `*-client` or
//! `*-client.*` is run with `--vault-id LABEL`, as Ansible's vault client scripts expect).
//! With none of these, `ANSIBLE_VAULT_PASSWORD_FILE` is used when set.
//!
//! A password never travels in argv, and is zeroed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

/// The label of a password given without one.
const DEFAULT_LABEL: &str = "default";

/// One vault password and its vault id.
pub struct VaultKey {
    label: String,
    secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultKey({}, ********)", self.label)
    }
}

impl VaultKey {
    /// The vault id.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

/// The passwords of a run, in the order given.
#[derive(Debug, Default)]
pub struct VaultKeys {
    keys: Vec<VaultKey>,
}

/// The vault options of the command line.
#[derive(Debug, Default, Clone)]
pub struct VaultSources {
    pub password_files: Vec<PathBuf>,
    pub vault_ids: Vec<String>,
    pub ask: bool,
}

impl VaultKeys {
    /// No password given.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys from literal passwords (labels and passwords), for tests and callers that already
    /// hold them.
    #[must_use]
    pub fn from_passwords(passwords: &[(&str, &str)]) -> Self {
        Self {
            keys: passwords
                .iter()
                .map(|(label, password)| VaultKey {
                    label: (*label).to_owned(),
                    secret: Zeroizing::new(password.as_bytes().to_vec()),
                })
                .collect(),
        }
    }

    /// Reads every password the command line names (prompting on the terminal for
    /// `--ask-vault-pass` and `@prompt`). Errors name the option and the file.
    pub fn from_sources(sources: &VaultSources) -> Result<Self, VaultKeyError> {
        let mut keys = Vec::new();
        for id in &sources.vault_ids {
            let (label, source) = match id.split_once('@') {
                Some((label, source)) if !label.is_empty() => (label, source),
                Some((_, source)) => (DEFAULT_LABEL, source),
                None => (DEFAULT_LABEL, id.as_str()),
            };
            if source.is_empty() {
                return Err(VaultKeyError::BadVaultId { id: id.clone() });
            }
            let secret = if source == "prompt" {
                prompt(label)?
            } else {
                read_source(Path::new(source), label, &format!("--vault-id {id}"))?
            };
            keys.push(VaultKey {
                label: label.to_owned(),
                secret,
            });
        }
        for path in &sources.password_files {
            let secret = read_source(
                path,
                DEFAULT_LABEL,
                &format!("--vault-password-file {}", path.display()),
            )?;
            keys.push(VaultKey {
                label: DEFAULT_LABEL.to_owned(),
                secret,
            });
        }
        if sources.ask {
            keys.push(VaultKey {
                label: DEFAULT_LABEL.to_owned(),
                secret: prompt(DEFAULT_LABEL)?,
            });
        }
        if keys.is_empty()
            && let Some(path) = std::env::var_os("ANSIBLE_VAULT_PASSWORD_FILE")
            && !path.is_empty()
        {
            let path = PathBuf::from(path);
            let secret = read_source(
                &path,
                DEFAULT_LABEL,
                &format!("ANSIBLE_VAULT_PASSWORD_FILE={}", path.display()),
            )?;
            keys.push(VaultKey {
                label: DEFAULT_LABEL.to_owned(),
                secret,
            });
        }
        Ok(Self { keys })
    }

    /// Keys to try for an envelope with vault id `label`: matching labels first.
    pub(crate) fn ordered_for(&self, label: Option<&str>) -> Vec<&VaultKey> {
        let (mut first, rest): (Vec<&VaultKey>, Vec<&VaultKey>) = self
            .keys
            .iter()
            .partition(|key| label.is_some_and(|label| key.label == label));
        first.extend(rest);
        first
    }
}

/// A vault password that cannot be had; `option` names where it was asked for
/// (`--vault-id LABEL@FILE`, `--vault-password-file FILE`, `ANSIBLE_VAULT_PASSWORD_FILE=…`).
#[derive(Debug, thiserror::Error)]
pub enum VaultKeyError {
    #[error(
        "--vault-id `{id}`: expected LABEL@SOURCE, where SOURCE is `prompt`, a password file or an executable"
    )]
    BadVaultId { id: String },
    #[error("cannot ask for the vault password: {0} (no terminal? use --vault-password-file)")]
    NoPrompt(std::io::Error),
    #[error("the vault password is empty")]
    EmptyAnswer,
    #[error("{option}: cannot read it: {error}")]
    Unreadable {
        option: String,
        error: std::io::Error,
    },
    #[error("{option}: cannot run it: {error}")]
    NotRun {
        option: String,
        error: std::io::Error,
    },
    #[error("{option}: the password script failed ({status})")]
    ScriptFailed {
        option: String,
        status: std::process::ExitStatus,
    },
    #[error("{option}: the vault password is empty")]
    Empty { option: String },
}

fn prompt(label: &str) -> Result<Zeroizing<Vec<u8>>, VaultKeyError> {
    let question = if label == DEFAULT_LABEL {
        "Vault password: ".to_owned()
    } else {
        format!("Vault password ({label}): ")
    };
    let password = rpassword::prompt_password(question).map_err(VaultKeyError::NoPrompt)?;
    let password = Zeroizing::new(password);
    if password.is_empty() {
        return Err(VaultKeyError::EmptyAnswer);
    }
    Ok(Zeroizing::new(password.as_bytes().to_vec()))
}

/// A password file's content, or an executable's output.
fn read_source(
    path: &Path,
    label: &str,
    option: &str,
) -> Result<Zeroizing<Vec<u8>>, VaultKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let unreadable = |error| VaultKeyError::Unreadable {
        option: option.to_owned(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let bytes = if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        let mut command = Command::new(path);
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default();
        if stem.ends_with("-client") {
            command.args(["--vault-id", label]);
        }
        let output = command
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|error| VaultKeyError::NotRun {
                option: option.to_owned(),
                error,
            })?;
        if !output.status.success() {
            return Err(VaultKeyError::ScriptFailed {
                option: option.to_owned(),
                status: output.status,
            });
        }
        let mut out = Zeroizing::new(output.stdout);
        while out
            .last()
            .is_some_and(|byte| *byte == b'\n' || *byte == b'\r')
        {
            out.pop();
        }
        out
    } else {
        let raw = Zeroizing::new(std::fs::read(path).map_err(unreadable)?);
        let start = raw
            .iter()
            .position(|byte| !byte.is_ascii_whitespace())
            .unwrap_or(raw.len());
        let end = raw
            .iter()
            .rposition(|byte| !byte.is_ascii_whitespace())
            .map_or(start, |index| index + 1);
        Zeroizing::new(raw[start..end].to_vec())
    };
    if bytes.is_empty() {
        return Err(VaultKeyError::Empty {
            option: option.to_owned(),
        });
    }
    Ok(bytes)
}
