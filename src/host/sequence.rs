//! Consecutive steps with no check between them, in one exec: the writes due before a
//! command (`write::write_script`) and the plan's commands, in plan order. Each part runs
//! in a subshell of its own with its stdout and stderr kept apart in a private
//! `mktemp -d`, then sent length-framed as soon as it ends:
//! `WSD-PART <i> <exit> <stdout length> <stderr length>\n`, then those bytes, so whatever
//! a command prints stays inside its own frame. A write that fails, or a command that
//! ends with an exit its step does not expect, ends the exec: nothing after it runs
//! (a failed `nginx -t` is never followed by the reload). A command is recorded in the
//! journal's `ran` right before it starts (so an interrupted run knows which reload or restart to repeat when it is rolled back), travels
//! inside the script (never in a process's argv), gets an empty stdin, runs under its
//! own `timeout`, and with the umask the exec started with (wsdeploy's own parts use 077;
//! a command creating files, a virtualenv for instance, must not get that).

use std::fmt::Write as _;
use std::time::Duration;

use super::markers::PART;
use super::read::frame_at;
use super::{KILL_GRACE, RunId, SCRIPT_BOUND, bound_secs, journal, quote};
use crate::transport::ExecOutput;

/// One part of a sequence.
#[derive(Debug, Clone)]
pub enum Part<'a> {
    /// A write script (`write::write_script`).
    Write(String),
    /// A plan command.
    Command(SequencedCommand<'a>),
}

/// A plan command in a sequence.
#[derive(Debug, Clone)]
pub struct SequencedCommand<'a> {
    /// Its position in the run's flat step list (what `ran` records).
    pub index: usize,
    /// The command text (it may hold secrets).
    pub run: &'a str,
    /// How long the host lets it run.
    pub timeout: Duration,
    /// The exits that let the sequence go on.
    pub expect_exit: &'a [i32],
}

/// The script that runs `parts` in order for run `run_id`, stopping after the first
/// that fails; the controller reads it back with [`parse`].
#[must_use]
pub fn sequence_script(run_id: &RunId, parts: &[Part<'_>]) -> String {
    let mut s = format!(
        "wsd_um=$(umask)\numask 077\nwsd_d=$(mktemp -d) || exit 1\n\
         trap 'rm -rf -- \"$wsd_d\"' EXIT\n\
         wsd_part() {{\n\
         \x20 wsd_s=$(stat -c %s -- \"$wsd_d/o\" \"$wsd_d/e\") || exit 1\n\
         \x20 set -- \"$1\" \"$2\" $wsd_s\n\
         \x20 printf '{PART} %s %s %s %s\\n' \"$1\" \"$2\" \"$3\" \"$4\"\n\
         \x20 cat -- \"$wsd_d/o\" \"$wsd_d/e\" || exit 1\n\
         }}\n"
    );
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Write(script) => {
                let _ = writeln!(
                    s,
                    "( {script}\n) > \"$wsd_d/o\" 2> \"$wsd_d/e\"; wsd_c=$?\n\
                     wsd_part {i} $wsd_c\n[ $wsd_c = 0 ] || exit 0"
                );
            }
            Part::Command(c) => command_part(&mut s, run_id, i, c),
        }
    }
    s.push_str("exit 0\n");
    s
}

/// Part `i`, a command: `ran` first (a failure there fails the part, as it ends a
/// journaled command), then the command under its `timeout`, then its frame; the
/// sequence goes on only after an exit the step expects.
fn command_part(s: &mut String, run_id: &RunId, i: usize, c: &SequencedCommand<'_>) {
    let accepted: Vec<String> = c.expect_exit.iter().map(i32::to_string).collect();
    let go_on = if accepted.is_empty() {
        "exit 0".to_owned()
    } else {
        format!(
            "case $wsd_c in {}) ;; *) exit 0 ;; esac",
            accepted.join("|")
        )
    };
    let _ = writeln!(
        s,
        "if printf '%s\\n' {index} >> {ran}; then\n\
         \x20 wsd_r={run}\n\
         \x20 printf '%s\\n' \"$wsd_r\" | timeout -k {grace} {bound} sh -c 'umask \"$1\"; eval \"$(cat)\"' sh \"$wsd_um\" > \"$wsd_d/o\" 2> \"$wsd_d/e\"; wsd_c=$?\n\
         \x20 wsd_r=\n\
         else\n\
         \x20 : > \"$wsd_d/o\"; echo 'cannot record in the journal that the command starts' > \"$wsd_d/e\"; wsd_c=1\n\
         fi\n\
         wsd_part {i} $wsd_c\n{go_on}",
        index = c.index,
        ran = quote(&format!("{}/ran", journal::dir(run_id))),
        run = quote(c.run),
        grace = KILL_GRACE.as_secs(),
        bound = bound_secs(c.timeout),
    );
}

/// How long the host may take for `parts`: each command's own bound and kill grace,
/// and [`SCRIPT_BOUND`] for the writes and the frames.
#[must_use]
pub fn bound(parts: &[Part<'_>]) -> Duration {
    parts
        .iter()
        .map(|part| match part {
            Part::Write(_) => SCRIPT_BOUND,
            Part::Command(c) => c.timeout + KILL_GRACE,
        })
        .sum::<Duration>()
        + SCRIPT_BOUND
}

/// The frames of the parts that ended, in order, as far as they are whole: one
/// [`ExecOutput`] per part, as an exec of its own would have ended.
#[must_use]
pub fn parse(stdout: &[u8]) -> Vec<ExecOutput> {
    let mut frames = Vec::new();
    let mut at = 0;
    while let Ok((frame, end)) = frame_at(stdout, at, frames.len(), PART) {
        frames.push(frame);
        at = end;
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> ExecOutput {
        let out = std::process::Command::new("sh")
            .arg("-s")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(script.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_status: out.status.code().and_then(|c| u32::try_from(c).ok()),
            exit_signal: None,
        }
    }

    fn command(index: usize, run: &str) -> Part<'_> {
        Part::Command(SequencedCommand {
            index,
            run,
            timeout: Duration::from_secs(10),
            expect_exit: &[0],
        })
    }

    /// The journal directory of a fake run in `dir` (`journal::dir` is absolute).
    fn with_journal_dir(script: &str, dir: &std::path::Path) -> String {
        let run_id = RunId::parse("20261123T000000Z-00ab12").unwrap();
        script.replace(
            &quote(&format!("{}/ran", journal::dir(&run_id))),
            &quote(&dir.join("ran").to_string_lossy()),
        )
    }

    #[test]
    fn each_part_keeps_its_output_and_a_failure_stops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let run_id = RunId::parse("20261123T000000Z-00ab12").unwrap();
        let forged = format!("{PART} 1 0 0 0");
        let first = format!("printf '{forged}\\n'; echo err >&2");
        let parts = [
            command(3, &first),
            command(4, "echo nope; exit 7"),
            command(5, "touch never"),
        ];
        let script = with_journal_dir(&sequence_script(&run_id, &parts), dir.path());
        let out = run(&script);
        assert!(out.success(), "{}", out.combined());
        let frames = parse(&out.stdout);
        assert_eq!(frames.len(), 2, "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(frames[0].stdout, format!("{forged}\n").as_bytes());
        assert_eq!(frames[0].stderr, b"err\n");
        assert_eq!(frames[0].code(), 0);
        assert_eq!(frames[1].stdout, b"nope\n");
        assert_eq!(frames[1].code(), 7);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ran")).unwrap(),
            "3\n4\n"
        );
        assert!(!std::path::Path::new("never").exists());
    }

    #[test]
    fn a_command_never_sees_the_script_on_its_stdin_and_a_failed_write_stops_it() {
        let dir = tempfile::tempdir().unwrap();
        let run_id = RunId::parse("20261123T000000Z-00ab12").unwrap();
        let parts = [
            command(0, "cat; echo end"),
            Part::Write("echo wrote-nothing; exit 90".to_owned()),
            command(1, "echo after"),
        ];
        let script = with_journal_dir(&sequence_script(&run_id, &parts), dir.path());
        let frames = parse(&run(&script).stdout);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].stdout, b"end\n");
        assert_eq!(frames[1].stdout, b"wrote-nothing\n");
        assert_eq!(frames[1].code(), 90);
    }

    #[test]
    fn a_command_runs_with_the_umask_the_exec_started_with() {
        let dir = tempfile::tempdir().unwrap();
        let run_id = RunId::parse("20261123T000000Z-00ab12").unwrap();
        let parts = [command(0, "umask")];
        let script = with_journal_dir(&sequence_script(&run_id, &parts), dir.path());
        let frames = parse(&run(&format!("umask 022\n{script}")).stdout);
        assert_eq!(frames.len(), 1);
        assert_eq!(String::from_utf8_lossy(&frames[0].stdout), "0022\n");
    }
}
