//! The steps of a transaction between two checks, sent as one exec (`host::sequence`):
//! the writes due before each command and the commands, in plan order. Each part's
//! result is read back from its own frame and recorded as the step's own exec would
//! have been (`changed`, `ran`, `failed`, `skipped`, in plan order); the host stops at
//! the first failure, so the steps after it never run, and only the files a frame says
//! were replaced and the commands whose frame came back (every command not known to be
//! finished, when the connection failed) count for the rollback.

use std::collections::HashMap;

use super::checks::CommandRole;
use super::compute::{Buffer, due_writes_against, file_contents_against};
use super::{Flat, Host, failure};
use crate::host::sequence::{self, Part, SequencedCommand};
use crate::host::write;
use crate::host::{self, RunId};
use crate::plan::{Action, CommandAction};
use crate::run::{ActionStatus, Failure};
use crate::transport::{ExecOutput, TransportError};

/// One step of a sequence, in plan order.
enum Item {
    /// An edit step that changes something (recorded `changed`).
    Changed(usize),
    /// A command whose conditions are not met (recorded `skipped`).
    Skipped(usize),
    /// A write script and the content it leaves in each of its buffers.
    Write {
        script: String,
        written: Vec<(usize, Option<Vec<u8>>)>,
    },
    /// A command to run (its position in the flat step list).
    Command(usize),
}

/// The steps gathered since the last check, to send as one exec.
#[derive(Default)]
pub(super) struct Sequence {
    items: Vec<Item>,
    /// What each buffer holds once the writes already in the sequence are made.
    after_writes: HashMap<usize, Option<Vec<u8>>>,
}

impl Sequence {
    /// An edit step at `position` that changes something.
    pub(super) fn changed(&mut self, position: usize) {
        self.items.push(Item::Changed(position));
    }

    /// A command at `position` that does not run.
    pub(super) fn skipped(&mut self, position: usize) {
        self.items.push(Item::Skipped(position));
    }

    /// A command at `position` that runs.
    pub(super) fn command(&mut self, position: usize) {
        self.items.push(Item::Command(position));
    }

    /// The writes of `pending` whose content differs from what the host will hold by
    /// then (each checked against that content, compare-and-swap).
    pub(super) fn writes(&mut self, run_id: &RunId, buffers: &[Buffer], pending: &mut Vec<usize>) {
        let before = |i: usize| match self.after_writes.get(&i) {
            Some(planned) => planned.as_deref(),
            None => buffers[i].on_host.as_deref(),
        };
        let due = due_writes_against(buffers, pending, before);
        if due.is_empty() {
            return;
        }
        let contents = file_contents_against(buffers, &due, before);
        let script = write::write_script(run_id, &contents);
        let written: Vec<(usize, Option<Vec<u8>>)> = due
            .iter()
            .map(|&i| {
                (
                    i,
                    buffers[i].desired.as_ref().map(|d| d.as_bytes().to_vec()),
                )
            })
            .collect();
        self.after_writes.extend(written.iter().cloned());
        self.items.push(Item::Write { script, written });
    }
}

/// The command of the step at `position`.
fn command_at<'a>(flat: &'a [Flat<'_>], position: usize) -> Option<&'a CommandAction> {
    match &flat.get(position)?.step.action {
        Action::Command(c) => Some(c),
        _ => None,
    }
}

/// How the sequence's exec ended: the frames that came back, and, when the exec
/// failed, why.
struct Answer {
    frames: std::vec::IntoIter<ExecOutput>,
    /// Why the frames stop early: the connection failed, or the host's answer ended.
    cut: Result<String, TransportError>,
}

impl Host<'_> {
    /// Sends `sequence` (nothing when it only records) and records its steps; `ran`
    /// gets the commands that started.
    pub(super) async fn run_sequence(
        &mut self,
        flat: &[Flat<'_>],
        sequence: Sequence,
        buffers: &mut [Buffer],
        ran: &mut Vec<usize>,
    ) -> Result<(), Failure> {
        let mut answer = self.send(flat, &sequence.items).await;
        let mut items = sequence.items.into_iter();
        while let Some(item) = items.next() {
            let outcome = match item {
                Item::Changed(p) => {
                    self.record_at(flat, p, ActionStatus::Changed, "");
                    Ok(())
                }
                Item::Skipped(p) => {
                    self.record_at(
                        flat,
                        p,
                        ActionStatus::Skipped,
                        "nothing it depends on changed",
                    );
                    Ok(())
                }
                Item::Write { written, .. } => {
                    if answer.is_lost() {
                        // The host may have gone on past this write: how far is unknown.
                        ran.extend(items.by_ref().filter_map(commands));
                    }
                    written_part(buffers, &written, &mut answer)
                }
                Item::Command(p) => {
                    let Some((f, c)) = flat.get(p).zip(command_at(flat, p)) else {
                        continue;
                    };
                    ran.push(p);
                    match answer.frames.next() {
                        Some(out) => self.judge_command(f.step, c, Ok(out), CommandRole::Step),
                        None => {
                            if answer.cut.is_err() {
                                // How far the host got is unknown.
                                ran.extend(items.by_ref().filter_map(commands));
                            }
                            let why = answer.why();
                            Err(failure(Some(f.step), format!("`{}`: {why}", c.run)))
                        }
                    }
                }
            };
            outcome?;
        }
        Ok(())
    }

    /// Records the step at `position` with `status`.
    fn record_at(
        &mut self,
        flat: &[Flat<'_>],
        position: usize,
        status: ActionStatus,
        detail: &str,
    ) {
        if let Some(f) = flat.get(position) {
            self.record(f.step, status, detail.to_owned());
        }
    }

    /// Runs the sequence's writes and commands in one exec (none when there are none).
    async fn send(&self, flat: &[Flat<'_>], items: &[Item]) -> Answer {
        let parts: Vec<Part<'_>> = items
            .iter()
            .filter_map(|item| match item {
                Item::Write { script, .. } => Some(Part::Write(script.clone())),
                Item::Command(p) => command_at(flat, *p).map(|c| {
                    Part::Command(SequencedCommand {
                        index: *p,
                        run: &c.run,
                        timeout: c.timeout,
                        expect_exit: &c.expect_exit,
                    })
                }),
                _ => None,
            })
            .collect();
        if parts.is_empty() {
            return Answer {
                frames: Vec::new().into_iter(),
                cut: Ok(String::new()),
            };
        }
        let script = sequence::sequence_script(&self.opts.run_id, &parts);
        let bound = sequence::bound(&parts);
        let result = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), bound),
                Some(script.as_bytes()),
                bound,
            )
            .await;
        match result {
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                Answer {
                    frames: sequence::parse(&out.stdout).into_iter(),
                    // sudo refusing the whole exec says so on its stderr, with no frame.
                    cut: Ok(format!(
                        "the host's answer ended before this step's result ({}): {}{}",
                        out.status_text(),
                        stderr.trim(),
                        host::sudo_hint(&stderr)
                    )),
                }
            }
            Err(e) => Answer {
                frames: Vec::new().into_iter(),
                cut: Err(e),
            },
        }
    }
}

/// The position of a command item.
fn commands(item: Item) -> Option<usize> {
    match item {
        Item::Command(p) => Some(p),
        _ => None,
    }
}

impl Answer {
    /// Whether the frames are all gone and the connection failed.
    fn is_lost(&self) -> bool {
        self.frames.len() == 0 && self.cut.is_err()
    }

    /// Why a frame is missing.
    fn why(&self) -> String {
        match &self.cut {
            Ok(why) => why.clone(),
            Err(e) => e.to_string(),
        }
    }
}

/// A write part's frame: the buffers it replaced are on the host now.
fn written_part(
    buffers: &mut [Buffer],
    written: &[(usize, Option<Vec<u8>>)],
    answer: &mut Answer,
) -> Result<(), Failure> {
    let Some(out) = answer.frames.next() else {
        return Err(failure(None, format!("writing files: {}", answer.why())));
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (position, (i, content)) in written.iter().enumerate() {
        if write::wrote(&stdout, position) {
            buffers[*i].on_host.clone_from(content);
        }
    }
    if out.success() {
        Ok(())
    } else {
        Err(failure(None, write::failure(&out)))
    }
}
