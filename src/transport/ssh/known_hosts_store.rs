//! The `known_hosts` files of a run, shared by all its connections: each file is read
//! once, not once per handshake (a fleet's file grows with the fleet, and every
//! connection used to read it twice, synchronously, on a runtime thread), and read again
//! only when its size, time or inode shows that something else changed it. The copy is
//! parsed once too ([`known_hosts::KnownHosts`]), so a lookup does not match every line.
//!
//! A host key learnt mid-run (`accept_new_host_keys`) is appended to the file and to
//! the shared copy under one lock: a later connection sees it, and no two appends
//! interleave.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use russh::keys::PublicKey;

use super::error::SshError;
use super::known_hosts::{self, KnownHosts};

/// The copies, by path. One lock for reading and appending: a file is read by one
/// connection while the others wait for its copy, and appends never interleave.
static FILES: Mutex<BTreeMap<PathBuf, Copy>> = Mutex::new(BTreeMap::new());

/// A file's text as last read or written by this process, parsed, and the file it came
/// from.
struct Copy {
    stamp: Option<Stamp>,
    text: Arc<str>,
    known: Arc<KnownHosts>,
}

impl Copy {
    fn of(stamp: Option<Stamp>, text: Arc<str>) -> Copy {
        Copy {
            stamp,
            known: Arc::new(KnownHosts::parse(&text)),
            text,
        }
    }
}

/// What tells a file apart from a changed one without reading it (`None`: no file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    device: u64,
    inode: u64,
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }
}

/// The `known_hosts` file at `path`, parsed (a missing file is an empty one).
///
/// # Errors
/// The file exists but cannot be read.
pub(super) fn known(path: &Path) -> Result<Arc<KnownHosts>, SshError> {
    let mut files = lock();
    current(&mut files, path)
        .map(|copy| Arc::clone(&copy.known))
        .map_err(|source| SshError::KnownHosts {
            action: "read",
            path: path.to_path_buf(),
            source,
        })
}

/// The text of the `known_hosts` file at `path` as this process holds it.
#[cfg(test)]
fn text(path: &Path) -> io::Result<Arc<str>> {
    let mut files = lock();
    current(&mut files, path).map(|copy| Arc::clone(&copy.text))
}

/// Records `host`:`port` with `key` in the file at `path` (created with its directory
/// if needed; a missing final newline added first), and in the shared copy.
///
/// # Errors
/// The file cannot be read, created or written.
pub(super) fn append(path: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    let mut files = lock();
    let before = current(&mut files, path)?;
    let line = known_hosts::entry_line(&before.text, host, port, key)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line.as_bytes())?;
    file.flush()?;
    let after = Stamp::of(&file.metadata()?);
    let grown_by_us_alone = before.stamp.map_or(0, |stamp| stamp.len) + line.len() as u64;
    let copy = if after.len == grown_by_us_alone {
        Copy::of(Some(after), format!("{}{line}", before.text).into())
    } else {
        // Another process wrote too: take the file as it is now.
        read(path)?
    };
    files.insert(path.to_path_buf(), copy);
    Ok(())
}

fn lock() -> MutexGuard<'static, BTreeMap<PathBuf, Copy>> {
    FILES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The copy of `path`, read anew when the file is not the one it was read from.
fn current<'a>(files: &'a mut BTreeMap<PathBuf, Copy>, path: &Path) -> io::Result<&'a Copy> {
    let stamp = match fs::metadata(path) {
        Ok(metadata) => Some(Stamp::of(&metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(error),
    };
    let fresh = files.get(path).is_some_and(|copy| copy.stamp == stamp);
    if !fresh {
        files.insert(path.to_path_buf(), read(path)?);
    }
    Ok(&files[path])
}

fn read(path: &Path) -> io::Result<Copy> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(Copy::of(None, Arc::from("")));
        }
        Err(error) => return Err(error),
    };
    // The stamp of what is read (taken first: a write racing the read makes it stale).
    let stamp = Stamp::of(&file.metadata()?);
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(Copy::of(
        Some(stamp),
        String::from_utf8_lossy(&bytes).into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(base64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {base64}")).unwrap()
    }

    #[test]
    fn append_adds_missing_newline_and_bracket_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("known_hosts");
        append(&path, "10.0.0.5", 22, &key(KEY_A)).unwrap();
        fs::write(
            &path,
            fs::read_to_string(&path).unwrap().trim_end_matches('\n'),
        )
        .unwrap();
        append(&path, "10.0.0.5", 2222, &key(KEY_B)).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("10.0.0.5 ssh-ed25519 {KEY_A}\n[10.0.0.5]:2222 ssh-ed25519 {KEY_B}\n")
        );
        assert_eq!(&*super::text(&path).unwrap(), text);
        assert_eq!(
            known_hosts::check(&known(&path).unwrap(), "10.0.0.5", 2222, &key(KEY_B)),
            known_hosts::HostKeyStatus::Trusted
        );
    }

    #[test]
    fn the_copy_follows_a_file_changed_by_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        assert_eq!(&*text(&path).unwrap(), "");
        fs::write(&path, format!("a ssh-ed25519 {KEY_A}\n")).unwrap();
        assert_eq!(&*text(&path).unwrap(), format!("a ssh-ed25519 {KEY_A}\n"));
        // Another process appends behind this one's back, then this one appends.
        let mut other = OpenOptions::new().append(true).open(&path).unwrap();
        other.write_all(b"# other\n").unwrap();
        append(&path, "b", 22, &key(KEY_B)).unwrap();
        let expected = format!("a ssh-ed25519 {KEY_A}\n# other\nb ssh-ed25519 {KEY_B}\n");
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
        assert_eq!(&*text(&path).unwrap(), expected);
    }

    #[test]
    fn the_same_unchanged_file_is_one_shared_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, format!("a ssh-ed25519 {KEY_A}\n")).unwrap();
        let first = known(&path).unwrap();
        let second = known(&path).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "read or parsed twice");
    }
}
