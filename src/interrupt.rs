//! Ctrl-C and SIGTERM during a run. The first one asks for a clean stop: the fleet starts
//! no new host, a host that has not taken its run lock stops there with nothing changed,
//! and a host in the middle of a change finishes its transaction (or rolls it back) as
//! usual; the run then prints its summary and exits 130. The second one exits at once,
//! naming the hosts that were in the middle of a change: their journal is still
//! `in_progress`, and the next apply on each rolls that run back before anything else.
//!
//! The state is the process's, as signals are: `requested` is read by `fleet` and
//! `engine`, which also record (with [`Changing`]) which hosts hold their run lock.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::report::out::errln;

/// The exit code of an interrupted run (128 + SIGINT, as a shell reports it).
pub const EXIT_CODE: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static CHANGING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Whether a stop was asked for: start nothing new.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// A host holding its run lock (from taking it until it is released): if the process
/// ends meanwhile, the host may have an `in_progress` journal for the next apply.
pub struct Changing {
    host: String,
}

impl Changing {
    /// Records `host` as changing until the value is dropped.
    #[must_use]
    pub fn begin(host: &str) -> Self {
        changing().insert(host.to_owned());
        Self {
            host: host.to_owned(),
        }
    }
}

impl Drop for Changing {
    fn drop(&mut self) {
        changing().remove(&self.host);
    }
}

fn changing() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    // A panic while holding this lock left a valid set behind.
    CHANGING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Listens for SIGINT and SIGTERM until the returned task is aborted.
///
/// # Errors
/// The signal handlers could not be installed.
pub fn listen() -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(tokio::spawn(async move {
        let mut count = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count == 1 {
                first();
            } else {
                second();
            }
        }
    }))
}

fn first() {
    REQUESTED.store(true, Ordering::SeqCst);
    errln!(
        "\ninterrupted: starting no new host; hosts in the middle of a change finish it or roll it back, then the summary follows (interrupt again to exit at once)"
    );
}

fn second() -> ! {
    errln!("{}", exit_message(&changing()));
    std::process::exit(i32::from(EXIT_CODE));
}

/// What the second interrupt says before the process ends.
fn exit_message(changing: &BTreeSet<String>) -> String {
    if changing.is_empty() {
        return "interrupted again: exiting now; no host was in the middle of a change, nothing needs recovery".to_owned();
    }
    let hosts: Vec<&str> = changing.iter().map(String::as_str).collect();
    format!(
        "interrupted again: exiting now; in the middle of a change: {} — the next `wsdeploy apply` on {} rolls the interrupted run back (from its journal) before anything else",
        hosts.join(", "),
        if hosts.len() == 1 { "it" } else { "each" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_interrupt_names_the_hosts_to_recover() {
        let none = BTreeSet::new();
        assert!(exit_message(&none).contains("nothing needs recovery"));
        let two: BTreeSet<String> = ["web2".to_owned(), "web1".to_owned()].into();
        let message = exit_message(&two);
        assert!(
            message.contains("in the middle of a change: web1, web2"),
            "{message}"
        );
        assert!(
            message.contains("on each rolls the interrupted run back"),
            "{message}"
        );
    }
}
