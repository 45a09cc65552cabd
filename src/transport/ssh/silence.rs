//! The server's silence while a connection is set up: how long the server has left our
//! oldest unanswered byte unanswered.
//!
//! The connect timeout bounds that silence, not the time elapsed since the connection
//! started: a controller busy with hundreds of other hosts (or not scheduled at all for
//! a while) reads the server's answers late, and must not report a host unreachable
//! that answered in time. An answer already waiting in the kernel's socket buffer counts
//! as an answer, even when the controller has not read it yet.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// `waiting_since` when no byte of ours is unanswered.
const NOT_WAITING: u64 = u64::MAX;
/// How often a silence shorter than the limit is looked at again.
const TICK: Duration = Duration::from_millis(250);
/// A short sleep that tells whether the controller keeps time before a silence counts.
const LAG_PROBE: Duration = Duration::from_millis(20);
/// How late that sleep may end on a controller that still reads its sockets in time.
const LAG_TOLERANCE: Duration = Duration::from_millis(100);

/// Watches one connection's setup; [`ServerSilence::watch`] wraps its stream.
pub(super) struct ServerSilence {
    clock: Arc<Clock>,
    limit: Duration,
    /// A second handle on the TCP socket, to see whether the server's answer is already
    /// in the kernel's buffer (none through a jump host). Closed with this value, once
    /// the connection is set up.
    probe: Option<std::net::TcpStream>,
}

struct Clock {
    epoch: Instant,
    /// Milliseconds after `epoch` of our oldest unanswered byte, or [`NOT_WAITING`].
    /// The connection starts waiting: the server speaks first (its version line).
    waiting_since: AtomicU64,
}

impl Clock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NOT_WAITING - 1)
    }

    fn sent(&self) {
        let _ = self.waiting_since.compare_exchange(
            NOT_WAITING,
            self.now_ms(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    fn heard(&self) {
        self.waiting_since.store(NOT_WAITING, Ordering::Release);
    }

    fn unanswered_for(&self) -> Option<Duration> {
        match self.waiting_since.load(Ordering::Acquire) {
            NOT_WAITING => None,
            since => Some(Duration::from_millis(self.now_ms().saturating_sub(since))),
        }
    }
}

impl ServerSilence {
    /// A watch that allows the server `limit` of silence per answer; `probe` is a
    /// duplicate of the TCP socket's descriptor when there is one.
    pub(super) fn new(limit: Duration, probe: Option<std::net::TcpStream>) -> ServerSilence {
        ServerSilence {
            clock: Arc::new(Clock {
                epoch: Instant::now(),
                waiting_since: AtomicU64::new(0),
            }),
            limit,
            probe,
        }
    }

    /// `stream`, noting each byte sent and received on this watch's clock.
    pub(super) fn watch<S>(&self, stream: S) -> Watched<S> {
        Watched {
            inner: stream,
            clock: Arc::clone(&self.clock),
        }
    }

    /// Resolves once the server has left a byte of ours unanswered for longer than the
    /// limit, with nothing of its answer waiting to be read. Never resolves otherwise.
    pub(super) async fn outlasted(&self) {
        loop {
            match self.clock.unanswered_for() {
                None => tokio::time::sleep(TICK).await,
                Some(waited) if waited < self.limit => {
                    tokio::time::sleep(self.limit - waited).await;
                }
                Some(_) if self.answer_pending() => tokio::time::sleep(TICK).await,
                Some(_) => {
                    // The tasks that read for us may be queued behind this one: let them
                    // run once before concluding.
                    tokio::task::yield_now().await;
                    // An answer can wait where no probe sees it (in a jump host's tunnel,
                    // read by the jump's connection but not yet by ours): a controller late
                    // on its own timers has not had the time to read it.
                    if controller_lagging().await {
                        continue;
                    }
                    let still = self
                        .clock
                        .unanswered_for()
                        .is_some_and(|waited| waited >= self.limit);
                    if still && !self.answer_pending() {
                        return;
                    }
                }
            }
        }
    }

    /// Whether bytes from the server wait in the socket's buffer, unread.
    fn answer_pending(&self) -> bool {
        let Some(probe) = &self.probe else {
            return false;
        };
        // The descriptor is non-blocking (shared with the runtime's socket): no data is
        // `WouldBlock`, and peeking leaves the bytes for the real reader.
        matches!(probe.peek(&mut [0_u8; 1]), Ok(n) if n > 0)
    }
}

/// Whether a short sleep ended late: the controller is too busy (too many hosts on too
/// few cores, or not scheduled) for a silence to be the server's. The connection's
/// whole setup stays bounded (`setup_limit` in `ssh.rs`).
async fn controller_lagging() -> bool {
    let asked = Instant::now();
    tokio::time::sleep(LAG_PROBE).await;
    asked.elapsed() > LAG_PROBE + LAG_TOLERANCE
}

/// A stream whose traffic is timed by a [`ServerSilence`].
pub(super) struct Watched<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.heard();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.sent();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMIT: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn a_server_that_never_speaks_outlasts_the_limit() {
        let (client, _server) = tokio::io::duplex(64);
        let silence = ServerSilence::new(LIMIT, None);
        let _stream = silence.watch(client);
        let started = Instant::now();
        silence.outlasted().await;
        assert!(started.elapsed() >= LIMIT);
    }

    #[tokio::test]
    async fn only_unanswered_time_counts() {
        let (client, mut server) = tokio::io::duplex(64);
        let silence = ServerSilence::new(LIMIT, None);
        let mut stream = silence.watch(client);
        // The server answers at once; then the client takes its time (a busy
        // controller) before the next request: none of that is the server's silence.
        server.write_all(b"SSH-2.0-x\r\n").await.unwrap();
        let mut line = [0_u8; 11];
        stream.read_exact(&mut line).await.unwrap();
        assert_eq!(silence.clock.unanswered_for(), None);
        tokio::select! {
            () = silence.outlasted() => panic!("the controller's own delay counted as the server's silence"),
            () = tokio::time::sleep(LIMIT * 5) => {}
        }
        // Now a request of ours goes unanswered.
        stream.write_all(b"request").await.unwrap();
        let sent = Instant::now();
        silence.outlasted().await;
        assert!(sent.elapsed() >= LIMIT);
    }

    #[tokio::test]
    async fn a_controller_late_on_its_own_timers_does_not_count_its_delay_as_silence() {
        // A tunnel (no socket to peek at): the server's answer waits in it, unread,
        // while the controller's only thread is busy with other hosts.
        let (client, mut server) = tokio::io::duplex(64);
        let silence = ServerSilence::new(LIMIT, None);
        let mut stream = silence.watch(client);
        stream.write_all(b"request").await.unwrap();
        server.write_all(b"answer").await.unwrap();
        let busy = tokio::spawn(async {
            for _ in 0..8 {
                std::thread::sleep(LIMIT);
                tokio::task::yield_now().await;
            }
        });
        tokio::select! {
            () = silence.outlasted() => panic!("the controller's own delay counted as the server's silence"),
            done = busy => done.unwrap(),
        }
        let mut answer = [0_u8; 6];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(silence.clock.unanswered_for(), None);
    }

    #[test]
    fn an_answer_waiting_in_the_socket_buffer_is_an_answer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();
        let silence = ServerSilence::new(LIMIT, Some(client.try_clone().unwrap()));
        assert!(!silence.answer_pending());
        std::io::Write::write_all(&mut server, b"SSH-2.0-x\r\n").unwrap();
        let waited = std::time::Instant::now();
        while !silence.answer_pending() {
            assert!(waited.elapsed() < Duration::from_secs(5), "never seen");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Peeking left the bytes for the reader.
        let mut line = [0_u8; 11];
        client.set_nonblocking(false).unwrap();
        std::io::Read::read_exact(&mut &client, &mut line).unwrap();
        assert_eq!(&line, b"SSH-2.0-x\r\n");
    }
}
