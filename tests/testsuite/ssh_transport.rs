//! The SSH transport against a real OpenSSH server started for each test.
//!
//! Tests that depend on the process environment (`SSH_AUTH_SOCK`, `HOME`,
//! `WSDEPLOY_KEY_PASSPHRASE`) run their body in a child copy of this test binary with
//! exactly that environment, so parallel tests never see each other's variables.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use support::sshd::{Sshd, SshdOptions, connect_error, fingerprint, process_alive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsdeploy::transport::ssh::{SshError, SshErrorKind, SshSession, SshTarget};

fn target(sshd: &Sshd) -> SshTarget {
    sshd.target()
}

async fn connect(sshd: &Sshd) -> SshSession {
    SshSession::connect(&target(sshd))
        .await
        .unwrap_or_else(|error| panic!("connect failed: {error}\nsshd log:\n{}", sshd.log()))
}

/// Polls `condition` every 50 ms until it holds or `limit` passes.
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition()
}

fn sha256_hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(data)
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Deterministic bytes covering every byte value (xorshift).
fn pseudo_random_bytes(length: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect()
}

fn lock_is_free(lock: &Path) -> bool {
    Command::new("flock")
        .arg("-n")
        .arg(lock)
        .arg("true")
        .status()
        .expect("run flock")
        .success()
}

// ---------------------------------------------------------------- exec

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_collects_stdout_stderr_and_exit_status() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let output = session
        .exec("printf 'out\\nput'; printf err >&2; exit 3", None)
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "out\nput");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "err");
    assert_eq!(output.exit_status, Some(3));
    assert_eq!(output.exit_signal, None);

    let output = session.exec("true", None).await.unwrap();
    assert_eq!(output.exit_status, Some(0));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_output_past_the_cap_is_an_error_and_the_connection_stays_usable() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    // stdout and stderr together pass wsdeploy::transport::MAX_EXEC_OUTPUT (128 MiB).
    let error = session
        .exec(
            "head -c 100000000 /dev/zero; head -c 100000000 /dev/zero >&2",
            None,
        )
        .await
        .expect_err("an exec past the output cap is refused");
    assert!(
        error.to_string().contains("more than 128 MiB of output"),
        "{error}"
    );
    let output = session.exec("echo still-here", None).await.unwrap();
    assert_eq!(output.stdout, b"still-here\n");
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_reports_the_signal_that_killed_the_command() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let output = session
        .exec("echo before; kill -TERM $$", None)
        .await
        .unwrap();
    assert_eq!(output.stdout, b"before\n");
    assert_eq!(output.exit_signal.as_deref(), Some("TERM"));
    assert_eq!(output.exit_status, None);
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_stdin_round_trip_of_one_mebibyte_is_intact() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let data = pseudo_random_bytes(1 << 20);
    let expected = sha256_hex(&data);

    let echoed = session.exec("cat", Some(&data)).await.unwrap();
    assert_eq!(echoed.exit_status, Some(0));
    assert_eq!(echoed.stdout.len(), data.len());
    assert_eq!(sha256_hex(&echoed.stdout), expected);

    let remote = session.exec("sha256sum", Some(&data)).await.unwrap();
    assert_eq!(remote.exit_status, Some(0));
    let remote_hash = String::from_utf8_lossy(&remote.stdout);
    assert_eq!(
        remote_hash.split_whitespace().next(),
        Some(expected.as_str())
    );
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_without_reading_stdin_still_completes() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let data = pseudo_random_bytes(4 << 20);
    let output = session
        .exec("echo ignored input", Some(&data))
        .await
        .unwrap();
    assert_eq!(output.stdout, b"ignored input\n");
    assert_eq!(output.exit_status, Some(0));
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_execs_share_one_connection() {
    let sshd = Sshd::start_with(&SshdOptions {
        max_sessions: 10,
        ..SshdOptions::default()
    });
    let session = connect(&sshd).await;
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..20 {
        let session = session.clone();
        tasks.spawn(async move {
            let output = session
                .exec(&format!("sleep 0.2; echo {index}"), None)
                .await;
            (index, output)
        });
    }
    let mut succeeded = 0;
    while let Some(joined) = tasks.join_next().await {
        let (index, output) = joined.unwrap();
        let output = output.unwrap_or_else(|error| panic!("exec {index} failed: {error}"));
        assert_eq!(output.stdout, format!("{index}\n").into_bytes());
        assert_eq!(output.exit_status, Some(0));
        succeeded += 1;
    }
    assert_eq!(succeeded, 20);
    let log = sshd.log();
    assert_eq!(
        log.matches("Accepted publickey").count(),
        1,
        "one connection:\n{log}"
    );
    assert_eq!(sshd.connection_pids().len(), 1);
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_limit_above_max_sessions_waits_and_retries_instead_of_failing() {
    let sshd = Sshd::start_with(&SshdOptions {
        max_sessions: 3,
        ..SshdOptions::default()
    });
    let mut target = target(&sshd);
    target.max_channels = 12;
    let session = SshSession::connect(&target).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..12 {
        let session = session.clone();
        tasks.spawn(async move {
            session
                .exec(&format!("sleep 0.3; echo {index}"), None)
                .await
        });
    }
    let mut succeeded = 0;
    while let Some(joined) = tasks.join_next().await {
        let output = joined
            .unwrap()
            .unwrap_or_else(|error| panic!("exec failed: {error}"));
        assert_eq!(output.exit_status, Some(0));
        succeeded += 1;
    }
    assert_eq!(succeeded, 12);
    let log = sshd.log();
    assert!(
        log.contains("no more sessions"),
        "sshd should have refused some sessions (MaxSessions 3), exercising the retry:\n{log}"
    );
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_after_close_is_a_connection_error() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    session.close().await;
    let error = session.exec("true", None).await.unwrap_err();
    assert_eq!(error.kind(), SshErrorKind::Connect, "{error}");
    assert!(
        error
            .to_string()
            .contains(&format!("127.0.0.1:{}", sshd.port)),
        "{error}"
    );
}

// ---------------------------------------------------------------- spawn

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_process_ends_when_its_handle_is_dropped() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let mut child = session.spawn("echo $$; exec cat", None).await.unwrap();
    let pid: u32 = child.read_line().await.unwrap().unwrap().parse().unwrap();
    assert!(process_alive(pid), "remote process {pid} should run");
    drop(child);
    assert!(
        eventually(Duration::from_secs(10), || !process_alive(pid)).await,
        "remote process {pid} still alive after the handle was dropped"
    );
    // The connection stays usable.
    let output = session.exec("echo still here", None).await.unwrap();
    assert_eq!(output.stdout, b"still here\n");
}

/// A long-lived process takes one of the connection's sessions: with sshd's
/// `MaxSessions 1` none is left beside it (what the run lock checks before it stays on
/// the connection), with the default there is, and the probe runs no command.
#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spare_session_beside_a_spawned_process_depends_on_max_sessions() {
    for (max_sessions, spare) in [(1, false), (10, true)] {
        let sshd = Sshd::start_with(&SshdOptions {
            max_sessions,
            ..SshdOptions::default()
        });
        let session = connect(&sshd).await;
        assert!(
            session.has_spare_session().await.unwrap(),
            "MaxSessions {max_sessions}: no session to spare on an idle connection"
        );
        let mut child = session.spawn("echo up; exec cat", None).await.unwrap();
        assert_eq!(child.read_line().await.unwrap().as_deref(), Some("up"));
        assert_eq!(
            session.has_spare_session().await.unwrap(),
            spare,
            "MaxSessions {max_sessions}, beside a spawned process"
        );
        child.close().await;
        let log = sshd.log();
        assert_eq!(
            log.matches("Starting session").count(),
            1,
            "MaxSessions {max_sessions}: the probes ran a command:\n{log}"
        );
    }
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_process_ends_on_close_and_reports_its_stderr() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let mut child = session
        .spawn("echo warning >&2; echo $$; echo second; exec cat", None)
        .await
        .unwrap();
    let pid: u32 = child.read_line().await.unwrap().unwrap().parse().unwrap();
    assert_eq!(child.read_line().await.unwrap().as_deref(), Some("second"));
    assert!(
        eventually(Duration::from_secs(5), || child.stderr_text()
            == "warning\n")
        .await
    );
    child.close().await;
    assert!(eventually(Duration::from_secs(10), || !process_alive(pid)).await);
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_process_that_exits_ends_the_lines_with_its_status() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let mut child = session
        .spawn("echo one; printf two; exit 4", None)
        .await
        .unwrap();
    assert_eq!(child.read_line().await.unwrap().as_deref(), Some("one"));
    assert_eq!(child.read_line().await.unwrap().as_deref(), Some("two"));
    assert_eq!(child.read_line().await.unwrap(), None);
    assert_eq!(child.exit_status(), Some(4));
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_the_connection_ends_the_lock_holder_and_frees_the_lock() {
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let lock = sshd.dir.path().join("run.lock");
    let mut holder = session
        .spawn(
            &format!(
                "echo $$; exec flock -n {} sh -c 'echo locked; exec cat'",
                lock.display()
            ),
            None,
        )
        .await
        .unwrap();
    let pid: u32 = holder.read_line().await.unwrap().unwrap().parse().unwrap();
    assert_eq!(holder.read_line().await.unwrap().as_deref(), Some("locked"));
    assert!(
        !lock_is_free(&lock),
        "the remote flock should hold the lock"
    );

    sshd.kill_connections();

    assert!(
        eventually(Duration::from_secs(10), || lock_is_free(&lock)).await,
        "lock still held after the connection was cut"
    );
    assert!(eventually(Duration::from_secs(10), || !process_alive(pid)).await);
    let error = holder.read_line().await.unwrap_err();
    assert_eq!(error.kind(), SshErrorKind::Connect, "{error}");
    let error = session.exec("true", None).await.unwrap_err();
    assert_eq!(error.kind(), SshErrorKind::Connect, "{error}");
}

// ---------------------------------------------------------------- tunnels

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_tcp_reaches_a_local_echo_server_through_the_host() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = socket.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });

    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let mut stream = session.open_tcp("127.0.0.1", echo_port).await.unwrap();
    let payload = pseudo_random_bytes(256 * 1024);
    let (mut read, mut write) = tokio::io::split(&mut stream);
    let writer = async {
        write.write_all(&payload).await.unwrap();
        write.flush().await.unwrap();
    };
    let reader = async {
        let mut received = vec![0; payload.len()];
        read.read_exact(&mut received).await.unwrap();
        received
    };
    let ((), received) = tokio::join!(writer, reader);
    assert_eq!(sha256_hex(&received), sha256_hex(&payload));

    // A second tunnel on the same connection.
    let mut second = session.open_tcp("127.0.0.1", echo_port).await.unwrap();
    second.write_all(b"ping\n").await.unwrap();
    let mut answer = [0; 5];
    second.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"ping\n");
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_tcp_to_a_closed_port_is_a_channel_error() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sshd = Sshd::start();
    let session = connect(&sshd).await;
    let Err(error) = session.open_tcp("127.0.0.1", closed_port).await else {
        panic!("tunnel to a closed port should fail");
    };
    assert_eq!(error.kind(), SshErrorKind::Channel);
    assert_eq!(
        error.to_string(),
        format!(
            "{}@127.0.0.1:{}: cannot open a tunnel to 127.0.0.1:{closed_port}: the host could not connect there (is anything listening?)",
            sshd.user, sshd.port
        )
    );
}

// ---------------------------------------------------------------- host keys

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused_with_instructions() {
    let sshd = Sshd::start();
    let mut target = target(&sshd);
    target.known_hosts = sshd.dir.path().join("empty_known_hosts");
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::HostKeyUnknown);
    assert_eq!(
        error.to_string(),
        format!(
            "host key for [127.0.0.1]:{} is not in {} (ssh-ed25519 {}): verify it, then add it with ssh-keyscan or rerun with --accept-new-host-keys",
            sshd.port,
            target.known_hosts.display(),
            sshd.host_key_fingerprint()
        )
    );
    assert!(
        !target.known_hosts.exists(),
        "a refused key must not be recorded"
    );
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_the_key_and_the_next_strict_connect_succeeds() {
    let sshd = Sshd::start();
    let mut target = target(&sshd);
    target.known_hosts = sshd.dir.path().join("ssh").join("known_hosts");
    target.accept_new_host_keys = true;
    let session = SshSession::connect(&target).await.unwrap();
    session.close().await;
    assert_eq!(
        std::fs::read_to_string(&target.known_hosts).unwrap(),
        format!("{}\n", sshd.known_hosts_line())
    );

    target.accept_new_host_keys = false;
    let session = SshSession::connect(&target).await.unwrap();
    assert_eq!(session.exec("echo ok", None).await.unwrap().stdout, b"ok\n");
    // Nothing appended the second time.
    assert_eq!(
        std::fs::read_to_string(&target.known_hosts)
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_host_key_is_refused_naming_the_stale_line_even_with_accept_new() {
    let sshd = Sshd::start();
    let impostor = sshd.keygen("old_host_key", "ed25519", "");
    let impostor_public = PathBuf::from(format!("{}.pub", impostor.display()));
    let impostor_line: String = std::fs::read_to_string(&impostor_public)
        .unwrap()
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let known_hosts = sshd.dir.path().join("stale_known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "# fleet hosts\nother.example.com {impostor_line}\n[127.0.0.1]:{} {impostor_line}\n",
            sshd.port
        ),
    )
    .unwrap();
    let mut target = target(&sshd);
    target.known_hosts = known_hosts.clone();
    target.accept_new_host_keys = true;
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::HostKeyChanged);
    let path = known_hosts.display();
    assert_eq!(
        error.to_string(),
        format!(
            "host key for [127.0.0.1]:{port} has CHANGED: {path} line 3 has ssh-ed25519 {old} but the server presented ssh-ed25519 {new}; this can be an attack or a reinstalled host: verify the new key, then remove the stale line (ssh-keygen -R '[127.0.0.1]:{port}' -f {path})",
            port = sshd.port,
            old = fingerprint(&impostor_public),
            new = sshd.host_key_fingerprint(),
        )
    );
    assert_eq!(
        std::fs::read_to_string(&known_hosts)
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_known_hosts_entries_are_honoured() {
    let sshd = Sshd::start();
    let known_hosts = sshd.trusted_known_hosts();
    let hashed = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(hashed.status.success());
    let text = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(text.starts_with("|1|"), "ssh-keygen -H should hash: {text}");
    let session = connect(&sshd).await;
    assert_eq!(session.exec("echo ok", None).await.unwrap().stdout, b"ok\n");
}

// ---------------------------------------------------------------- authentication

#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_and_ecdsa_keys_authenticate() {
    let sshd = Sshd::start();
    for key_type in ["rsa", "ecdsa"] {
        let key = sshd.keygen(&format!("client_{key_type}"), key_type, "");
        sshd.authorize(&key);
        let mut target = target(&sshd);
        target.key_files = vec![key];
        let session = SshSession::connect(&target)
            .await
            .unwrap_or_else(|error| panic!("{key_type}: {error}\n{}", sshd.log()));
        assert_eq!(session.exec("echo ok", None).await.unwrap().stdout, b"ok\n");
    }
}

// ---------------------------------------------------------------- network errors

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_names_host_and_port() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut target = SshTarget::new("127.0.0.1", "deploy");
    target.port = closed_port;
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::Connect);
    assert_eq!(
        error.to_string(),
        format!(
            "connection to 127.0.0.1:{closed_port} refused: is sshd running there and is ansible_port right?"
        )
    );
}

/// A server that accepts and never answers is tried twice (a host up but too loaded to
/// answer gets a second chance), then reported with both attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_during_the_handshake() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let holder = {
        let accepted = std::sync::Arc::clone(&accepted);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        })
    };
    let mut target = SshTarget::new("127.0.0.1", "deploy");
    target.port = port;
    target.connect_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let error = connect_error(&target).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(error.kind(), SshErrorKind::Connect);
    assert_eq!(
        error.to_string(),
        format!(
            "timed out after 500ms connecting to 127.0.0.1:{port} (SSH handshake, twice): is the host up and the port reachable?"
        )
    );
    holder.abort();
}

/// A host whose sshd misses one handshake entirely (not scheduled in time on a loaded
/// host) is reached by the second attempt, not reported unreachable. The fault needs a
/// stand-in: a TCP front that holds its first connection in silence and passes every
/// later one to the real sshd.
#[cfg(feature = "host-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_the_server_missed_once_is_tried_again() {
    let sshd = Sshd::start();
    let mut target = target(&sshd);
    let sshd_port = target.port;
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    target.port = front.local_addr().unwrap().port();
    target.connect_timeout = Duration::from_millis(700);
    // The server's key, recorded for the front's port.
    let known = tempfile::NamedTempFile::new().expect("a temporary file");
    let line = sshd.known_hosts_line().replacen(
        &format!("[127.0.0.1]:{sshd_port} "),
        &format!("[127.0.0.1]:{} ", target.port),
        1,
    );
    std::fs::write(known.path(), format!("{line}\n")).expect("write known_hosts");
    target.known_hosts = known.path().to_path_buf();
    let relay = tokio::spawn(async move {
        let mut held = Vec::new();
        let mut first = true;
        while let Ok((mut socket, _)) = front.accept().await {
            if first {
                first = false;
                held.push(socket);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut server) =
                    tokio::net::TcpStream::connect(("127.0.0.1", sshd_port)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut socket, &mut server).await;
                }
            });
        }
    });
    let session = SshSession::connect(&target)
        .await
        .unwrap_or_else(|error| panic!("the second attempt failed: {error}\n{}", sshd.log()));
    let output = session.exec("echo ok", None).await.expect("exec");
    assert_eq!(output.stdout, b"ok\n");
    relay.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolvable_host_name_is_a_distinct_error() {
    let target = SshTarget::new("no-such-host.invalid", "deploy");
    let error = connect_error(&target).await;
    assert_eq!(error.kind(), SshErrorKind::Connect);
    assert!(
        matches!(error, SshError::Resolve { .. }),
        "expected a resolution error, got: {error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("cannot resolve host name no-such-host.invalid (port 22): "),
        "{error}"
    );
}

// ---------------------------------------------------------------- isolation helpers

/// A controller too busy to read its sockets (hundreds of other hosts at once) must not
/// report a server that answered in time as timed out. The runtime's only thread is
/// blocked for 1.5 s at a time, longer than the 1 s connect timeout, while the real sshd
/// answers at once. Blocking the runtime stands in for a starved controller: on a shared
/// machine, no scheduler setting makes a process late reliably, and this does.
#[test]
fn a_busy_controller_does_not_time_out_a_server_that_answered() {
    let sshd = Sshd::start();
    let mut target = target(&sshd);
    target.connect_timeout = Duration::from_secs(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("start a runtime");
    let started = Instant::now();
    let connected = runtime.block_on(async {
        let busy = tokio::spawn(async {
            for _ in 0..3 {
                // One turn for the connection, then the controller is busy again.
                tokio::task::yield_now().await;
                std::thread::sleep(Duration::from_millis(1500));
            }
        });
        let connected = SshSession::connect(&target).await;
        busy.await.expect("the busy task");
        connected
    });
    let session = connected.unwrap_or_else(|error| {
        panic!(
            "a server that answered in time was reported as: {error} (after {:?})\nsshd log:\n{}",
            started.elapsed(),
            sshd.log()
        )
    });
    let output = runtime
        .block_on(session.exec("echo ok", None))
        .expect("exec");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
}

/// The connect timeout starts when the handshake passes the gate, not while it queues
/// behind other hosts' handshakes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_timeout_starts_when_the_gate_lets_the_handshake_through() {
    use wsdeploy::transport::ssh::HandshakeGate;
    let sshd = Sshd::start();
    let mut target = target(&sshd);
    target.connect_timeout = Duration::from_secs(1);
    let gate = std::sync::Arc::new(HandshakeGate::new(1));
    let held = gate.enter().await;
    let queued = {
        let gate = std::sync::Arc::clone(&gate);
        let target = target.clone();
        tokio::spawn(async move { SshSession::connect_through(&target, &gate).await })
    };
    // Queued behind the gate for twice the connect timeout.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !queued.is_finished(),
        "the handshake did not wait for the gate"
    );
    drop(held);
    let session = queued
        .await
        .expect("the connecting task")
        .unwrap_or_else(|error| panic!("queued behind the gate, then: {error}"));
    assert!(!session.is_closed());
}
