//! Public-key authentication: key files (OpenSSH format, ed25519/ecdsa/rsa, encrypted
//! ones decrypted with `WSDEPLOY_KEY_PASSPHRASE` or a terminal prompt) and ssh-agent.
//!
//! Order: the configured key files, then the agent; with no key files configured, the
//! agent first, then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`. A key file ending in
//! `.pub` names a key the agent holds (a hardware or agent-only key): the agent signs
//! with that key alone, also under `IdentitiesOnly`. The agent is the one
//! `IdentityAgent` names (`SSH_AUTH_SOCK` by default, none with `IdentityAgent none`).
//! Every credential that was tried or skipped is named in the final error so the person
//! knows what to fix.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use russh::client::{AuthResult, Handle, Handler};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use zeroize::Zeroizing;

use super::agent_unavailable::AgentUnavailable;
use super::error::SshError;
use super::{IdentityAgent, SshTarget};
use crate::transport::secret::Secret;

/// Environment variable holding the passphrase of encrypted key files.
pub const PASSPHRASE_ENV: &str = "WSDEPLOY_KEY_PASSPHRASE";

/// Keys already decrypted in this process, so a run over many hosts asks once per file.
static DECRYPTED_KEYS: LazyLock<Mutex<HashMap<PathBuf, Arc<PrivateKey>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Only one passphrase prompt on the terminal at a time.
static PROMPT_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// One key file read and decoded at a time: hundreds of hosts connecting at once would
/// otherwise each read and decode the same file (on as many blocking threads) before
/// the first result is remembered.
static KEY_LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DEFAULT_KEY_NAMES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];
const PROMPT_ATTEMPTS: usize = 3;

/// Where a credential comes from, in the order they are tried.
enum Source {
    KeyFile(PathBuf),
    Agent { announce_missing: bool },
    DefaultKeyFiles,
    Password,
}

/// A key file that could be used, or why it could not.
enum LoadedKey {
    Ready(Arc<PrivateKey>),
    Unusable(String),
}

/// Outcome of offering one credential.
enum Attempt {
    Accepted,
    Rejected,
    /// The server closed the connection (for example after `MaxAuthTries`).
    ConnectionClosed(String),
}

/// Authenticates `handle` as `target.user`, trying every configured credential.
pub(super) async fn authenticate<H: Handler>(
    handle: &mut Handle<H>,
    target: &SshTarget,
    label: &str,
) -> Result<(), SshError> {
    let mut session = AuthSession {
        handle,
        user: target.user.clone(),
        // The server's silence is bounded by the caller (`ssh/silence.rs`); this bounds
        // each round trip, the agent's included, like the whole setup.
        timeout: super::setup_limit(target),
        address: format!("{label} (authentication)"),
        rsa_hash_known: false,
        rsa_hash: None,
        agent: target.identity_agent.clone(),
    };
    let mut tried: Vec<String> = Vec::new();
    for source in sources(target) {
        let outcome = match source {
            Source::KeyFile(path) if is_public_key_path(&path) => {
                session.try_agent_key(&path, &mut tried).await?
            }
            Source::KeyFile(path) => session.try_key_file(&path, &mut tried).await?,
            Source::Agent { announce_missing } => {
                session.try_agent(announce_missing, &mut tried).await?
            }
            Source::DefaultKeyFiles => session.try_default_key_files(&mut tried).await?,
            Source::Password => match &target.password {
                Some(password) => session.try_password(password, &mut tried).await?,
                None => Attempt::Rejected,
            },
        };
        match outcome {
            Attempt::Accepted => return Ok(()),
            Attempt::Rejected => {}
            Attempt::ConnectionClosed(reason) => {
                tried.push(format!("then the server closed the connection: {reason}"));
                break;
            }
        }
    }
    let tried = if tried.is_empty() {
        "nothing".to_owned()
    } else {
        tried.join(", ")
    };
    Err(SshError::Auth {
        target: label.to_owned(),
        tried,
    })
}

/// Keys first (files, agent; with `IdentitiesOnly` or `IdentityAgent none` never the
/// agent's other keys), the password last.
fn sources(target: &SshTarget) -> Vec<Source> {
    let no_agent = target.identity_agent == IdentityAgent::Disabled;
    let mut sources = if target.key_files.is_empty() {
        if target.identities_only || no_agent {
            vec![Source::DefaultKeyFiles]
        } else {
            vec![
                Source::Agent {
                    announce_missing: target.password.is_none(),
                },
                Source::DefaultKeyFiles,
            ]
        }
    } else {
        let mut sources: Vec<Source> = target
            .key_files
            .iter()
            .cloned()
            .map(Source::KeyFile)
            .collect();
        if !target.identities_only && !no_agent {
            sources.push(Source::Agent {
                announce_missing: false,
            });
        }
        sources
    };
    if target.password.is_some() {
        sources.push(Source::Password);
    }
    sources
}

struct AuthSession<'a, H: Handler> {
    handle: &'a mut Handle<H>,
    user: String,
    timeout: Duration,
    address: String,
    /// Whether the server was asked which signature hash to use with RSA keys.
    rsa_hash_known: bool,
    /// That hash (`None`: the old SHA-1 `ssh-rsa`).
    rsa_hash: Option<HashAlg>,
    /// The agent to ask.
    agent: IdentityAgent,
}

/// `IdentityFile ~/.ssh/key.pub`: a public key whose private half the agent holds.
fn is_public_key_path(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "pub")
}

/// The agent `agent` names; `Err` says why there is none to ask.
async fn connect_agent(
    agent: &IdentityAgent,
) -> Result<AgentClient<tokio::net::UnixStream>, AgentUnavailable> {
    match agent {
        IdentityAgent::Disabled => Err(AgentUnavailable::Disabled),
        IdentityAgent::Environment => {
            if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|socket| socket.is_empty()) {
                return Err(AgentUnavailable::NotSet);
            }
            AgentClient::connect_env()
                .await
                .map_err(|error| AgentUnavailable::Unreachable(error.to_string()))
        }
        IdentityAgent::Socket(path) => AgentClient::connect_uds(path).await.map_err(|error| {
            AgentUnavailable::SocketUnreachable {
                path: path.clone(),
                error: error.to_string(),
            }
        }),
    }
}

impl<H: Handler> AuthSession<'_, H> {
    async fn try_default_key_files(
        &mut self,
        tried: &mut Vec<String>,
    ) -> Result<Attempt, SshError> {
        let ssh_dir = crate::transport::home::home_dir().join(".ssh");
        let present: Vec<PathBuf> = DEFAULT_KEY_NAMES
            .iter()
            .map(|name| ssh_dir.join(name))
            .filter(|path| path.is_file())
            .collect();
        if present.is_empty() {
            tried.push(format!(
                "no key in {} ({})",
                ssh_dir.display(),
                DEFAULT_KEY_NAMES.join(", ")
            ));
            return Ok(Attempt::Rejected);
        }
        for path in present {
            match self.try_key_file(&path, tried).await? {
                Attempt::Rejected => {}
                other => return Ok(other),
            }
        }
        Ok(Attempt::Rejected)
    }

    async fn try_key_file(
        &mut self,
        path: &Path,
        tried: &mut Vec<String>,
    ) -> Result<Attempt, SshError> {
        let key = match load_key(path).await {
            LoadedKey::Ready(key) => key,
            LoadedKey::Unusable(reason) => {
                tried.push(format!("key {} ({reason})", path.display()));
                return Ok(Attempt::Rejected);
            }
        };
        if let Some(outcome) = self.try_certificate(path, &key, tried).await? {
            return Ok(outcome);
        }
        tried.push(format!("key {}", path.display()));
        let hash = if key.algorithm().is_rsa() {
            self.rsa_hash().await?
        } else {
            None
        };
        let request = self
            .handle
            .authenticate_publickey(self.user.clone(), PrivateKeyWithHashAlg::new(key, hash));
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(self.timed_out()),
            Ok(Ok(result)) => Ok(attempt_from(&result)),
            Ok(Err(error)) => Ok(Attempt::ConnectionClosed(error.to_string())),
        }
    }

    /// Offers `<key>-cert.pub` when it exists and certifies `key`; `None` when there is
    /// none or the server did not take it (the plain key is tried next, as OpenSSH does).
    async fn try_certificate(
        &mut self,
        key_path: &Path,
        key: &Arc<PrivateKey>,
        tried: &mut Vec<String>,
    ) -> Result<Option<Attempt>, SshError> {
        let cert_path = PathBuf::from(format!("{}-cert.pub", key_path.display()));
        if !cert_path.is_file() {
            return Ok(None);
        }
        let certificate = match russh::keys::load_openssh_certificate(&cert_path) {
            Ok(certificate) => certificate,
            Err(error) => {
                tried.push(format!(
                    "certificate {} (unreadable: {error})",
                    cert_path.display()
                ));
                return Ok(None);
            }
        };
        if certificate.public_key() != key.public_key().key_data() {
            tried.push(format!(
                "certificate {} (certifies another key)",
                cert_path.display()
            ));
            return Ok(None);
        }
        tried.push(format!("certificate {}", cert_path.display()));
        let request =
            self.handle
                .authenticate_openssh_cert(self.user.clone(), Arc::clone(key), certificate);
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(self.timed_out()),
            Ok(Ok(result)) => Ok(match attempt_from(&result) {
                Attempt::Rejected => None,
                other => Some(other),
            }),
            Ok(Err(error)) => Ok(Some(Attempt::ConnectionClosed(error.to_string()))),
        }
    }

    /// The agent's key matching the public key file `path`, signed by the agent.
    async fn try_agent_key(
        &mut self,
        path: &Path,
        tried: &mut Vec<String>,
    ) -> Result<Attempt, SshError> {
        let wanted = match std::fs::read_to_string(path) {
            Ok(text) => match PublicKey::from_openssh(text.trim()) {
                Ok(key) => key,
                Err(error) => {
                    tried.push(format!(
                        "public key {} (not an OpenSSH public key: {error})",
                        path.display()
                    ));
                    return Ok(Attempt::Rejected);
                }
            },
            Err(error) => {
                tried.push(format!(
                    "public key {} (unreadable: {error})",
                    path.display()
                ));
                return Ok(Attempt::Rejected);
            }
        };
        let mut agent = match connect_agent(&self.agent).await {
            Ok(agent) => agent,
            Err(why) => {
                tried.push(format!("agent key {} ({why})", path.display()));
                return Ok(Attempt::Rejected);
            }
        };
        if let Some(binding) = self.handle.agent_session_binding() {
            let _ = agent.bind_session(binding, false).await;
        }
        let held = match agent.request_identities().await {
            Ok(identities) => identities.into_iter().any(|identity| match identity {
                AgentIdentity::PublicKey { key, .. } => key.key_data() == wanted.key_data(),
                AgentIdentity::Certificate { .. } => false,
            }),
            Err(error) => {
                tried.push(format!("ssh-agent (listing keys failed: {error})"));
                return Ok(Attempt::Rejected);
            }
        };
        if !held {
            tried.push(format!(
                "agent key {} (the ssh-agent does not hold this key: add it with ssh-add, or plug in the hardware key)",
                path.display()
            ));
            return Ok(Attempt::Rejected);
        }
        tried.push(format!("agent key {}", path.display()));
        let hash = if wanted.algorithm().is_rsa() {
            self.rsa_hash().await?
        } else {
            None
        };
        let request =
            self.handle
                .authenticate_publickey_with(self.user.clone(), wanted, hash, &mut agent);
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(self.timed_out()),
            Ok(Ok(result)) => Ok(attempt_from(&result)),
            Ok(Err(russh::AgentAuthError::Key(error))) => {
                tried.push(format!("(the agent refused to sign: {error})"));
                Ok(Attempt::Rejected)
            }
            Ok(Err(error)) => Ok(Attempt::ConnectionClosed(error.to_string())),
        }
    }

    async fn try_agent(
        &mut self,
        announce_missing: bool,
        tried: &mut Vec<String>,
    ) -> Result<Attempt, SshError> {
        let mut agent = match connect_agent(&self.agent).await {
            Ok(agent) => agent,
            Err(why) => {
                if announce_missing || !why.none_configured() {
                    tried.push(why.to_string());
                }
                return Ok(Attempt::Rejected);
            }
        };
        if let Some(binding) = self.handle.agent_session_binding() {
            // Agents without session binding still sign; destination-constrained
            // keys simply stay hidden from them.
            let _ = agent.bind_session(binding, false).await;
        }
        let identities = match agent.request_identities().await {
            Ok(identities) => identities,
            Err(error) => {
                tried.push(format!("ssh-agent (listing keys failed: {error})"));
                return Ok(Attempt::Rejected);
            }
        };
        let mut keys = Vec::new();
        let mut certificates = Vec::new();
        for identity in identities {
            match identity {
                AgentIdentity::PublicKey { key, .. } => keys.push(key),
                AgentIdentity::Certificate { certificate, .. } => certificates.push(certificate),
            }
        }
        if keys.is_empty() && certificates.is_empty() {
            tried.push("ssh-agent (holds no keys)".to_owned());
            return Ok(Attempt::Rejected);
        }
        tried.push(if certificates.is_empty() {
            "ssh-agent".to_owned()
        } else {
            format!("ssh-agent ({} certificates first)", certificates.len())
        });
        // Certificates first: their plain keys may not be authorized anywhere.
        for certificate in certificates {
            let hash = if certificate.algorithm().is_rsa() {
                self.rsa_hash().await?
            } else {
                None
            };
            let request = self.handle.authenticate_certificate_with(
                self.user.clone(),
                certificate,
                hash,
                &mut agent,
            );
            match tokio::time::timeout(self.timeout, request).await {
                Err(_) => return Err(self.timed_out()),
                Ok(Ok(result)) => match attempt_from(&result) {
                    Attempt::Rejected => {}
                    other => return Ok(other),
                },
                Ok(Err(russh::AgentAuthError::Key(_))) => {}
                Ok(Err(error)) => return Ok(Attempt::ConnectionClosed(error.to_string())),
            }
        }
        for key in keys {
            let hash = if key.algorithm().is_rsa() {
                self.rsa_hash().await?
            } else {
                None
            };
            let request =
                self.handle
                    .authenticate_publickey_with(self.user.clone(), key, hash, &mut agent);
            match tokio::time::timeout(self.timeout, request).await {
                Err(_) => return Err(self.timed_out()),
                Ok(Ok(result)) => match attempt_from(&result) {
                    Attempt::Rejected => {}
                    other => return Ok(other),
                },
                // The agent refused to sign with this key; the next one may do.
                Ok(Err(russh::AgentAuthError::Key(_))) => {}
                Ok(Err(error)) => return Ok(Attempt::ConnectionClosed(error.to_string())),
            }
        }
        Ok(Attempt::Rejected)
    }

    async fn try_password(
        &mut self,
        password: &Secret,
        tried: &mut Vec<String>,
    ) -> Result<Attempt, SshError> {
        tried.push("password".to_owned());
        let request = self
            .handle
            .authenticate_password(self.user.clone(), password.expose());
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(self.timed_out()),
            Ok(Ok(result)) => Ok(attempt_from(&result)),
            Ok(Err(error)) => Ok(Attempt::ConnectionClosed(error.to_string())),
        }
    }

    async fn rsa_hash(&mut self) -> Result<Option<HashAlg>, SshError> {
        if self.rsa_hash_known {
            return Ok(self.rsa_hash);
        }
        // Waits up to a second for the server's `server-sig-algs`, hence only for RSA.
        let hash =
            match tokio::time::timeout(self.timeout, self.handle.best_supported_rsa_hash()).await {
                Err(_) => return Err(self.timed_out()),
                Ok(Ok(hash)) => hash.flatten(),
                Ok(Err(_)) => None,
            };
        self.rsa_hash_known = true;
        self.rsa_hash = hash;
        Ok(hash)
    }

    fn timed_out(&self) -> SshError {
        SshError::Timeout {
            address: self.address.clone(),
            stage: "waiting for the server to answer",
            after: self.timeout,
        }
    }
}

fn attempt_from(result: &AuthResult) -> Attempt {
    if result.success() {
        Attempt::Accepted
    } else {
        Attempt::Rejected
    }
}

/// Reads and, if needed, decrypts a private key file, remembering the result.
async fn load_key(path: &Path) -> LoadedKey {
    if let Some(key) = cached_key(path) {
        return LoadedKey::Ready(key);
    }
    let loading = KEY_LOADING.lock().await;
    if let Some(key) = cached_key(path) {
        return LoadedKey::Ready(key);
    }
    let text = match tokio::fs::read_to_string(path).await {
        Ok(text) => Zeroizing::new(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return LoadedKey::Unusable("file not found".to_owned());
        }
        Err(error) => return LoadedKey::Unusable(format!("unreadable: {error}")),
    };
    let loaded = match decode(&text, None).await {
        Ok(key) => LoadedKey::Ready(Arc::new(key)),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            // Asking for a passphrase has its own lock: other key files need not wait.
            drop(loading);
            decrypt(path, &text).await
        }
        Err(error) => LoadedKey::Unusable(format!("not a usable private key: {error}")),
    };
    if let LoadedKey::Ready(key) = &loaded {
        DECRYPTED_KEYS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_path_buf(), Arc::clone(key));
    }
    loaded
}

fn cached_key(path: &Path) -> Option<Arc<PrivateKey>> {
    DECRYPTED_KEYS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
        .cloned()
}

async fn decrypt(path: &Path, text: &Zeroizing<String>) -> LoadedKey {
    if let Some(passphrase) = std::env::var_os(PASSPHRASE_ENV) {
        let passphrase = Zeroizing::new(passphrase.to_string_lossy().into_owned());
        return match decode(text, Some(passphrase)).await {
            Ok(key) => LoadedKey::Ready(Arc::new(key)),
            Err(_) => LoadedKey::Unusable(format!(
                "encrypted, and the passphrase in {PASSPHRASE_ENV} does not decrypt it"
            )),
        };
    }
    if !std::io::stdin().is_terminal() {
        return LoadedKey::Unusable(format!(
            "encrypted: set {PASSPHRASE_ENV} or run from a terminal to be asked"
        ));
    }
    let _prompt = PROMPT_LOCK.lock().await;
    // Another host may have asked for this very file while we waited.
    if let Some(key) = cached_key(path) {
        return LoadedKey::Ready(key);
    }
    for _ in 0..PROMPT_ATTEMPTS {
        let prompt = format!("Passphrase for key {}: ", path.display());
        let answer = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt)).await;
        let passphrase = match answer {
            Ok(Ok(passphrase)) => Zeroizing::new(passphrase),
            Ok(Err(error)) => {
                return LoadedKey::Unusable(format!("passphrase prompt failed: {error}"));
            }
            Err(error) => return LoadedKey::Unusable(format!("passphrase prompt failed: {error}")),
        };
        if let Ok(key) = decode(text, Some(passphrase)).await {
            return LoadedKey::Ready(Arc::new(key));
        }
    }
    LoadedKey::Unusable(format!(
        "encrypted, and {PROMPT_ATTEMPTS} passphrases typed did not decrypt it"
    ))
}

/// Decodes a private key off the async threads: decryption runs bcrypt on purpose slowly.
async fn decode(
    text: &Zeroizing<String>,
    passphrase: Option<Zeroizing<String>>,
) -> Result<PrivateKey, russh::keys::Error> {
    let text = text.clone();
    tokio::task::spawn_blocking(move || {
        russh::keys::decode_secret_key(&text, passphrase.as_ref().map(|p| p.as_str()))
    })
    .await
    .map_err(|_| russh::keys::Error::CouldNotReadKey)?
}
