//! A TCP forwarder that can be cut like a network partition.
//!
//! [`Forwarder::start`] listens on a free port of 127.0.0.1 and relays every connection
//! to a server port. After [`Forwarder::partition`] no byte goes through, either way,
//! yet every socket stays open: neither end hears of the cut (no FIN, no RST), as when
//! a link dies between two hosts. Dropping the forwarder closes everything.

#![allow(dead_code)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A running forwarder.
pub struct Forwarder {
    /// The port clients connect to.
    pub port: u16,
    cut: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Forwarder {
    /// Relays connections to 127.0.0.1:`server_port`.
    pub async fn start(server_port: u16) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the forwarder");
        let port = listener.local_addr().expect("forwarder address").port();
        let (cut, watching) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, server_port, watching));
        Forwarder { port, cut, accept }
    }

    /// Stops every byte, both ways, on every connection (present and future), keeping
    /// the sockets open.
    pub fn partition(&self) {
        self.cut.send_replace(true);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every relay.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, server_port: u16, cut: watch::Receiver<bool>) {
    let mut relays = JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)).await else {
            continue;
        };
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        relays.spawn(relay(client_read, server_write, cut.clone()));
        relays.spawn(relay(server_read, client_write, cut.clone()));
    }
}

/// Copies `from` to `to` until EOF (passed on) or the partition (after which it holds
/// both halves open and silent until aborted).
async fn relay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, cut: watch::Receiver<bool>) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        tokio::select! {
            biased;
            () = until_cut(cut.clone()) => break,
            read = from.read(&mut buffer) => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        let _ = to.shutdown().await;
                        return;
                    }
                    Ok(n) => n,
                };
                if *cut.borrow() {
                    break;
                }
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
    std::future::pending::<()>().await;
    drop((from, to));
}

async fn until_cut(mut cut: watch::Receiver<bool>) {
    while !*cut.borrow_and_update() {
        if cut.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
