//! The host's run lock and its heartbeat, against a real OpenSSH server (and locally).
//!
//! The lock holder of `host::lock::lock_command_in` runs on a temporary lock path, spawned
//! through `Transport::spawn` (a session of the transport's connection) with the heartbeat
//! wsdeploy uses, and with the real `host::lock::LOCK_GIVE_UP`: the partition test takes
//! that long and a little more (~50 s).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::partition::Forwarder;
use support::sshd::{Sshd, SshdOptions, process_alive};
use wsdeploy::host::lock;
use wsdeploy::transport::local::LocalSession;
use wsdeploy::transport::ssh::{SshSession, SshTarget};
use wsdeploy::transport::{Child, Heartbeat, Transport};

fn heartbeat() -> Heartbeat {
    Heartbeat {
        interval: lock::LOCK_HEARTBEAT_INTERVAL,
        bytes: lock::LOCK_HEARTBEAT.as_bytes(),
    }
}

fn lock_is_free(dir: &Path) -> bool {
    Command::new("flock")
        .arg("-n")
        .arg(dir.join("lock"))
        .arg("true")
        .status()
        .expect("run flock")
        .success()
}

/// sshd as a host whose admin left `ClientAliveInterval` at its default: a dead client's
/// session lives on (for hours, with the kernel's TCP keepalive defaults).
fn sshd_keeping_dead_sessions() -> Sshd {
    Sshd::start_with(&SshdOptions {
        extra_config: "ClientAliveInterval 0\n".to_owned(),
        ..SshdOptions::default()
    })
}

async fn ssh(sshd: &Sshd, target: &SshTarget) -> Transport {
    let session = SshSession::connect(target)
        .await
        .unwrap_or_else(|error| panic!("connect failed: {error}\nsshd log:\n{}", sshd.log()));
    Transport::Ssh(session)
}

/// The target of `sshd` reached through `forwarder` (known_hosts names the forwarder's port).
fn forwarded_target(sshd: &Sshd, forwarder: &Forwarder) -> SshTarget {
    let known_hosts = sshd.dir.path().join("known_hosts_forwarded");
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {}\n", forwarder.port, sshd.host_key_line()),
    )
    .expect("write known_hosts");
    SshTarget {
        port: forwarder.port,
        known_hosts,
        ..sshd.target()
    }
}

/// Takes the lock in `dir` through `transport`, with the heartbeat.
async fn take_lock(transport: &Transport, dir: &Path, holder: &str) -> Child {
    let command = lock::lock_command_in(&dir.to_string_lossy(), holder, None);
    let mut child = transport
        .spawn(&command, Some(heartbeat()))
        .await
        .expect("spawn the lock holder");
    let line = tokio::time::timeout(Duration::from_secs(10), child.read_line())
        .await
        .expect("the holder answers within 10 s")
        .expect("read the holder's answer");
    assert_eq!(
        line.as_deref().map(lock::LockReply::parse),
        Some(lock::LockReply::Locked),
        "{holder}: {line:?}"
    );
    assert!(!lock_is_free(dir), "{holder}: locked but the lock is free");
    child
}

/// Closes `child` and returns how long it took until its lock was free (panics past 5 s).
async fn close_and_time(child: Child, dir: &Path) -> Duration {
    let started = Instant::now();
    child.close().await;
    while !lock_is_free(dir) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "lock in {} still held 5 s after close",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

fn lock_dir(root: &tempfile::TempDir, name: &str) -> PathBuf {
    root.path().join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_the_lock_past_the_give_up_time_and_a_partitioned_holder_gives_it_up() {
    let give_up = lock::LOCK_GIVE_UP;
    let sshd = sshd_keeping_dead_sessions();
    let forwarder = Forwarder::start(sshd.port).await;
    let root = tempfile::tempdir().expect("temp dir");
    let (live_dir, cut_dir, local_dir) = (
        lock_dir(&root, "live"),
        lock_dir(&root, "cut"),
        lock_dir(&root, "local"),
    );

    let live_transport = ssh(&sshd, &sshd.target()).await;
    let cut_transport = ssh(&sshd, &forwarded_target(&sshd, &forwarder)).await;
    let local_transport = Transport::Local(LocalSession);
    let live = take_lock(&live_transport, &live_dir, "live run").await;
    let cut = take_lock(&cut_transport, &cut_dir, "partitioned run").await;
    let local = take_lock(&local_transport, &local_dir, "local run").await;
    let sessions = sshd.connection_pids();
    assert!(
        sessions.len() >= 2,
        "expected a connection per SSH transport (the holder runs in a session of it), found sshd pids {sessions:?}"
    );

    forwarder.partition();
    let cut_at = Instant::now();
    let watch_until = give_up + Duration::from_secs(10);
    let mut cut_freed_after = None;
    while cut_at.elapsed() < watch_until {
        let elapsed = cut_at.elapsed();
        assert!(
            !lock_is_free(&live_dir),
            "the live SSH holder lost its lock {elapsed:?} after the cut although its heartbeats flow"
        );
        assert!(
            !lock_is_free(&local_dir),
            "the local holder lost its lock {elapsed:?} after the cut although its heartbeats flow"
        );
        if cut_freed_after.is_none() && lock_is_free(&cut_dir) {
            cut_freed_after = Some(elapsed);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let freed_after = cut_freed_after.unwrap_or_else(|| {
        panic!(
            "the partitioned holder kept the lock {watch_until:?} after the cut (give-up time {give_up:?})"
        )
    });
    println!("partitioned holder gave the lock up {freed_after:?} after the cut");
    assert!(
        freed_after >= give_up - Duration::from_secs(3)
            && freed_after <= give_up + Duration::from_secs(5),
        "the partitioned holder gave the lock up {freed_after:?} after the cut, expected about {give_up:?}"
    );
    // sshd still believes in every connection, the cut one included: the holder's own
    // deadline freed the lock, not sshd.
    let gone: Vec<u32> = sessions
        .iter()
        .copied()
        .filter(|&pid| !process_alive(pid))
        .collect();
    assert!(
        gone.is_empty(),
        "sshd ended connection processes {gone:?}: the test no longer shows that the heartbeat frees the lock\n{}",
        sshd.log()
    );

    let live_close = close_and_time(live, &live_dir).await;
    let local_close = close_and_time(local, &local_dir).await;
    println!("close freed the lock in {live_close:?} (ssh), {local_close:?} (local)");
    assert!(
        live_close < Duration::from_secs(2),
        "ssh close took {live_close:?}"
    );
    assert!(
        local_close < Duration::from_secs(2),
        "local close took {local_close:?}"
    );
    drop(cut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_heartbeating_holder_frees_the_lock_at_once() {
    let sshd = Sshd::start();
    let root = tempfile::tempdir().expect("temp dir");
    let transports = [
        ("ssh", ssh(&sshd, &sshd.target()).await),
        ("local", Transport::Local(LocalSession)),
    ];
    for (name, transport) in &transports {
        let dir = lock_dir(&root, name);
        let child = take_lock(transport, &dir, name).await;
        let started = Instant::now();
        drop(child);
        while !lock_is_free(&dir) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{name}: lock still held 5 s after the holder was dropped"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("{name}: drop freed the lock in {:?}", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(2), "{name}");
    }
}
