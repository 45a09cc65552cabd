//! Dated backups: the two places a file's backup of a day may be (the one home of that
//! naming; which one a run uses is the engine's choice, `engine::backup_name`), and the
//! listing of a host's runs and backups with the parser of its lines.

use std::fmt::Write as _;

use super::journal::{self, Manifest};
use super::{STATE_DIR, quote};

/// Opens a listed run's line: `RUN <id> <state> <manifest, base64>`.
const RUN: &str = "RUN";
/// Opens a listed backup's line: `BACKUP <path>`.
const BACKUP: &str = "BACKUP";

/// `<file>.backup-YYYY-MM-DD`: a day's backup beside the file.
fn beside(real: &str, date: &str) -> String {
    format!("{real}.backup-{date}")
}

/// `/var/lib/wsdeploy/backups/YYYY-MM-DD/<absolute path>`: where a backup nginx could
/// load goes instead.
fn in_state_dir(real: &str, date: &str) -> String {
    format!("{STATE_DIR}/backups/{date}{real}")
}

/// The two places a day's backup of `real` may be: beside it, then under the state
/// directory (the engine picks one for each file, by whether nginx could load the first).
#[must_use]
pub fn backup_candidates(real: &str, date: chrono::NaiveDate) -> [String; 2] {
    let date = date.format("%Y-%m-%d").to_string();
    [beside(real, &date), in_state_dir(real, &date)]
}

/// Lists runs (`RUN <id> <state> <manifest_b64>`) and dated backups
/// (`BACKUP <path>`) of the given files, beside them or under the state directory. An
/// unsafe state directory is refused first, as every script that reads it does
/// (`state_dir`: `WSD-UNSAFE-STATE <why>` on stderr, exit 92), nothing listed.
#[must_use]
pub fn list_backups_script(files: &[String]) -> String {
    let mut s = format!(
        "set -u\n{check}for d in {STATE_DIR}/runs/*/; do\n\
         \x20 [ -f \"$d/state\" ] || continue\n\
         \x20 id=${{d%/}}; id=${{id##*/}}; st=\n\
         \x20 IFS= read -r st < \"$d/state\" || :\n\
         \x20 printf '{RUN} %s %s ' \"$id\" \"$st\"\n\
         \x20 base64 -w0 < \"$d/manifest.json\" 2>/dev/null\n\
         \x20 echo\n\
         done\n",
        check = super::state_dir::check(STATE_DIR, 2)
    );
    beside_backups(&mut s, files);
    let _ = writeln!(
        s,
        "[ -d {STATE_DIR}/backups ] && find {STATE_DIR}/backups -type f ! -path \"*$nl*\" | sort | sed 's/^/{BACKUP} /'\nexit 0"
    );
    s
}

/// Lists (`BACKUP <path>`) the dated backups beside the given files only: a short
/// output, whatever the number of files (the script may be long).
#[must_use]
pub fn dated_backups_script(files: &[String]) -> String {
    let mut s = "set -u\n".to_owned();
    beside_backups(&mut s, files);
    s.push_str("exit 0\n");
    s
}

/// Sets `$nl` to a newline (the shell's `$'\n'` is not POSIX).
const NEWLINE_VAR: &str = "nl=$(printf '\\nx'); nl=${nl%x}\n";

/// The lines listing each file's `.backup-*` beside it (the file's real path).
fn beside_backups(s: &mut String, files: &[String]) {
    // A name holding a newline (a user can make one beside their file) would forge a
    // listing line of its own: such names are never listed.
    s.push_str(NEWLINE_VAR);
    for f in files {
        let _ = writeln!(
            s,
            "r=$(readlink -f -- {p} 2>/dev/null) || r={p}\nfor b in \"$r\".backup-*; do case $b in *\"$nl\"*) continue;; esac; [ -e \"$b\" ] && printf '{BACKUP} %s\\n' \"$b\"; done",
            p = quote(f)
        );
    }
}

/// One line of [`list_backups_script`]'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// A run in the journal: its id, its state's word, its manifest when readable.
    Run {
        id: String,
        state: String,
        manifest: Option<Box<Manifest>>,
    },
    /// A dated backup.
    Backup(String),
}

/// Reads the output of [`list_backups_script`] (other lines are ignored).
#[must_use]
pub fn parse_listing(stdout: &str) -> Vec<Listed> {
    stdout
        .lines()
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix(RUN).and_then(|l| l.strip_prefix(' ')) {
                let mut parts = rest.splitn(3, ' ');
                Some(Listed::Run {
                    id: parts.next().unwrap_or_default().to_owned(),
                    state: parts.next().unwrap_or_default().to_owned(),
                    manifest: parts
                        .next()
                        .and_then(journal::decode_manifest)
                        .map(Box::new),
                })
            } else {
                line.strip_prefix(BACKUP)
                    .and_then(|l| l.strip_prefix(' '))
                    .map(|path| Listed::Backup(path.to_owned()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user who owns the directory of a backed-up file names a file
    /// `app.conf.backup-D<newline>RUN <id> committed …`: the listing (run by a real `sh`)
    /// shows the real backup only, never a forged run or backup line.
    #[test]
    fn a_name_with_a_newline_cannot_forge_a_listing_line() {
        let dir = std::env::temp_dir().join(format!("wsd-backups-nl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("app.conf");
        std::fs::write(&file, "x=1\n").expect("file");
        std::fs::write(dir.join("app.conf.backup-2026-01-01"), "x=0\n").expect("backup");
        let forged = "app.conf.backup-2026-01-02\nRUN 20261123T000000Z-00ab12 committed e30=";
        std::fs::write(dir.join(forged), "forged\n").expect("forged name");
        let path = file.display().to_string();
        for script in [
            dated_backups_script(std::slice::from_ref(&path)),
            list_backups_script(std::slice::from_ref(&path)),
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .expect("sh runs");
            let listed = parse_listing(&String::from_utf8_lossy(&out.stdout));
            let ours: Vec<&Listed> = listed
                .iter()
                .filter(|l| match l {
                    Listed::Backup(p) => p.contains("wsd-backups-nl"),
                    Listed::Run { id, .. } => id == "20261123T000000Z-00ab12",
                })
                .collect();
            assert_eq!(
                ours,
                vec![&Listed::Backup(format!("{path}.backup-2026-01-01"))],
                "{script}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_listing_gives_runs_with_their_manifest_and_backups() {
        let out = "RUN 20261123T000000Z-00ab12 committed bm90IGpzb24=\nRUN r2 in_progress\nnoise\nBACKUP /etc/a b.backup-2026-01-01\n";
        assert_eq!(
            parse_listing(out),
            [
                Listed::Run {
                    id: "20261123T000000Z-00ab12".to_owned(),
                    state: "committed".to_owned(),
                    manifest: None,
                },
                Listed::Run {
                    id: "r2".to_owned(),
                    state: "in_progress".to_owned(),
                    manifest: None,
                },
                Listed::Backup("/etc/a b.backup-2026-01-01".to_owned()),
            ]
        );
    }
}
