//! The controller user's home directory and the defaults under it (`~/.ssh/known_hosts`),
//! for the SSH client and for `ssh_config` alike. A leaf of `transport`.

use std::path::PathBuf;

/// The home directory: `$HOME`, else the user's passwd entry, else `/root`. The one
/// definition every default under `~` uses (ssh_config, known_hosts, key files).
#[must_use]
pub fn home_dir() -> PathBuf {
    std::env::home_dir()
        .filter(|home| !home.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// `~/.ssh/known_hosts`, where host keys are checked when nothing names another file.
#[must_use]
pub fn default_known_hosts() -> PathBuf {
    home_dir().join(".ssh").join("known_hosts")
}
