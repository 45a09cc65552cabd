//! The gather phase: one round trip that reads every file a host's plan touches, the
//! config dumps it needs (`nginx -T`) and the journal's interrupted runs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::remote;
use crate::transport::{Transport, TransportError};

/// A file as found on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// The path as the plan wrote it.
    pub requested: String,
    /// The path after following symlinks (the one that gets edited).
    pub real: String,
    pub state: FileState,
}

/// Whether and how a file exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Present {
        mode: u32,
        uid: u32,
        gid: u32,
        content: Vec<u8>,
    },
    Absent,
    /// Exists but is not a regular file (directory, device...).
    NotAFile,
    Unreadable,
}

/// The output of a dump command such as `nginx -T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub command: String,
    pub exit: i32,
    pub output: String,
}

/// Everything the gather phase learned.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub files: Vec<HostFile>,
    pub dumps: Vec<Dump>,
    /// Runs whose journal still says `in_progress` (interrupted).
    pub interrupted: Vec<String>,
}

/// Why gathering failed.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("reading the host's files failed ({status}): {output}")]
    Script { status: String, output: String },
    #[error("unexpected output while reading the host's files: {0}")]
    Protocol(String),
}

/// Gathers `files` and `dumps` in one exec.
///
/// # Errors
/// Transport failure, or output that does not follow the protocol.
pub async fn gather(
    transport: &Transport,
    become_user: Option<&str>,
    files: &[String],
    dumps: &[String],
) -> Result<Gathered, GatherError> {
    let script = remote::gather_script(files, dumps);
    // On the command line rather than stdin: sshd opens a session with an empty input
    // window, so stdin would cost one more round trip on the hot path of every check.
    let out = if script.len() < 64 * 1024 {
        transport
            .exec(&remote::wrap_command(&script, become_user), None)
            .await?
    } else {
        transport
            .exec(&remote::script_runner(become_user), Some(script.as_bytes()))
            .await?
    };
    if !out.success() {
        return Err(GatherError::Script {
            status: out.status_text(),
            output: out.combined(),
        });
    }
    parse(&String::from_utf8_lossy(&out.stdout), files, dumps)
}

fn decode(field: &str) -> Result<Vec<u8>, GatherError> {
    if field == "-" {
        return Ok(Vec::new());
    }
    B64.decode(field)
        .map_err(|e| GatherError::Protocol(format!("bad base64 ({e})")))
}

fn parse(stdout: &str, files: &[String], dumps: &[String]) -> Result<Gathered, GatherError> {
    let mut gathered = Gathered::default();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["F", i, state, mode, uid, gid, real, content] => {
                let index: usize = i
                    .parse()
                    .map_err(|_| GatherError::Protocol(line.to_owned()))?;
                let requested = files
                    .get(index)
                    .ok_or_else(|| GatherError::Protocol(line.to_owned()))?
                    .clone();
                let real = String::from_utf8_lossy(&decode(real)?).into_owned();
                let num = |s: &str, radix| {
                    u32::from_str_radix(s, radix)
                        .map_err(|_| GatherError::Protocol(line.to_owned()))
                };
                let state = match *state {
                    "present" => FileState::Present {
                        mode: num(mode, 8)?,
                        uid: num(uid, 10)?,
                        gid: num(gid, 10)?,
                        content: decode(content)?,
                    },
                    "absent" => FileState::Absent,
                    "other" => FileState::NotAFile,
                    _ => FileState::Unreadable,
                };
                gathered.files.push(HostFile {
                    requested,
                    real,
                    state,
                });
            }
            ["D", i, output] => {
                let index: usize = i
                    .parse()
                    .map_err(|_| GatherError::Protocol(line.to_owned()))?;
                let command = dumps
                    .get(index)
                    .ok_or_else(|| GatherError::Protocol(line.to_owned()))?
                    .clone();
                let raw = String::from_utf8_lossy(&decode(output)?).into_owned();
                let (output, exit) = split_exit(&raw);
                gathered.dumps.push(Dump {
                    command,
                    exit,
                    output,
                });
            }
            ["J", run] => gathered.interrupted.push((*run).to_owned()),
            _ => {}
        }
    }
    if gathered.files.len() != files.len() || gathered.dumps.len() != dumps.len() {
        return Err(GatherError::Protocol(format!(
            "expected {} files and {} dumps, got {} and {}",
            files.len(),
            dumps.len(),
            gathered.files.len(),
            gathered.dumps.len()
        )));
    }
    Ok(gathered)
}

fn split_exit(raw: &str) -> (String, i32) {
    match raw.rfind("\nWSD-RC ") {
        Some(pos) => {
            let code = raw[pos + 8..].trim().parse().unwrap_or(-1);
            (raw[..pos].to_owned(), code)
        }
        None => (raw.to_owned(), -1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gathers_files_symlinks_and_dumps_from_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("site.conf");
        std::fs::write(&real, b"server {}\r\n").unwrap();
        let link = dir.path().join("enabled.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let missing = dir.path().join("missing.conf");
        let files = vec![
            link.display().to_string(),
            missing.display().to_string(),
            dir.path().display().to_string(),
        ];
        let dumps = vec!["echo dumped; echo oops >&2; exit 3".to_owned()];
        let t = Transport::Local(crate::transport::local::LocalSession);
        let g = gather(&t, None, &files, &dumps).await.unwrap();
        assert_eq!(g.files[0].real, real.display().to_string());
        assert!(
            matches!(&g.files[0].state, FileState::Present { content, .. } if content == b"server {}\r\n")
        );
        assert_eq!(g.files[1].state, FileState::Absent);
        assert_eq!(g.files[2].state, FileState::NotAFile);
        assert_eq!(g.dumps[0].exit, 3);
        assert!(g.dumps[0].output.contains("dumped") && g.dumps[0].output.contains("oops"));
    }
}
