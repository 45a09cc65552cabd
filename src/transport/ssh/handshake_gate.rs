//! How many SSH connection setups (key exchange and authentication: the CPU-heavy part
//! of a connection, on both ends) run at once in this process.
//!
//! `--forks` bounds the hosts worked on at once; the gate bounds, separately, the
//! handshakes among them, sized to the controller's cores. With `--forks 500`, five
//! hundred key exchanges started together queue for the same two cores, and the last
//! ones finish long after their servers answered; behind the gate, each handshake
//! starts only when the controller can do it, and its connect timeout starts with it.

use std::sync::LazyLock;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Handshakes in flight per core of the controller. A handshake costs the controller
/// about a millisecond of CPU (a release build; tens in a debug build) and a few round
/// trips: 32 per core keeps the cores busy on a LAN and still overlaps the round trips
/// of hosts far away.
pub const HANDSHAKES_PER_CORE: usize = 32;

/// A bound on concurrent connection setups.
#[derive(Debug)]
pub struct HandshakeGate {
    slots: Semaphore,
    limit: usize,
}

static PROCESS_GATE: LazyLock<HandshakeGate> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    HandshakeGate::new(handshake_limit(cores))
});

/// The gate's size for a controller with `cores` usable cores (its CPU affinity and
/// cgroup quota count, as `std::thread::available_parallelism` reports them).
#[must_use]
pub fn handshake_limit(cores: usize) -> usize {
    cores.max(1) * HANDSHAKES_PER_CORE
}

impl HandshakeGate {
    /// A gate letting `limit` (at least one) setups through at once.
    #[must_use]
    pub fn new(limit: usize) -> HandshakeGate {
        let limit = limit.max(1);
        HandshakeGate {
            slots: Semaphore::new(limit),
            limit,
        }
    }

    /// The gate every connection of this process goes through.
    #[must_use]
    pub fn process() -> &'static HandshakeGate {
        &PROCESS_GATE
    }

    /// How many setups may run at once.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Waits for a slot; the setup runs while the returned permit lives.
    pub async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed: `None` cannot happen, and would only mean
        // going through unbounded.
        self.slots.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_limit_follows_the_cores() {
        assert_eq!(handshake_limit(0), HANDSHAKES_PER_CORE);
        assert_eq!(handshake_limit(1), HANDSHAKES_PER_CORE);
        assert_eq!(handshake_limit(2), 2 * HANDSHAKES_PER_CORE);
        assert!(HandshakeGate::process().limit() >= HANDSHAKES_PER_CORE);
    }

    #[tokio::test]
    async fn no_more_than_the_limit_pass_at_once() {
        let gate = HandshakeGate::new(2);
        let first = gate.enter().await;
        let _second = gate.enter().await;
        let third = tokio::time::timeout(Duration::from_millis(100), gate.enter()).await;
        assert!(third.is_err(), "a third setup went through a gate of 2");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), gate.enter()).await;
        assert!(
            third.is_ok(),
            "a freed slot was not given to the waiting setup"
        );
    }
}
