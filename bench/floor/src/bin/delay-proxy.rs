//! A TCP proxy that adds a fixed latency each way, to emulate a WAN in front of each
//! lab host's sshd where the kernel has no `netem`.
//!
//! ```text
//! delay-proxy --delay-ms 25 [--bind 127.0.0.1] LISTEN_PORT=TARGET_HOST:TARGET_PORT...
//! ```
//!
//! Every chunk read from one side is stamped on arrival and written to the other side
//! no earlier than `stamp + delay`: latency is added, bandwidth is not limited (chunks
//! in flight are pipelined, as on a real long link). Prints `ready` on stdout once every
//! port listens; runs until killed.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Chunks in flight per direction before reading pauses (backpressure).
const IN_FLIGHT: usize = 4096;

struct Mapping {
    listen: u16,
    target: String,
}

fn usage() -> String {
    "usage: delay-proxy --delay-ms MS [--bind ADDR] LISTEN_PORT=HOST:PORT...".to_owned()
}

fn parse_args() -> Result<(Duration, String, Vec<Mapping>), String> {
    let mut delay = None;
    let mut bind = "127.0.0.1".to_owned();
    let mut mappings = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--delay-ms" => {
                let ms: u64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("--delay-ms needs whole milliseconds\n{}", usage()))?;
                delay = Some(Duration::from_millis(ms));
            }
            "--bind" => {
                bind = args
                    .next()
                    .ok_or_else(|| format!("--bind needs an address\n{}", usage()))?;
            }
            other => {
                let (port, target) = other
                    .split_once('=')
                    .ok_or_else(|| format!("bad mapping {other}\n{}", usage()))?;
                let listen = port
                    .parse()
                    .map_err(|_| format!("bad listen port in {other}\n{}", usage()))?;
                mappings.push(Mapping {
                    listen,
                    target: target.to_owned(),
                });
            }
        }
    }
    let delay = delay.ok_or_else(|| format!("--delay-ms is required\n{}", usage()))?;
    if mappings.is_empty() {
        return Err(format!("no mapping given\n{}", usage()));
    }
    Ok((delay, bind, mappings))
}

/// Reads chunks from `from`, stamps them, and hands them to the delayed writer.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now() + delay;
                    if tx.send((due, buffer[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `tx` lets the writer finish the queue and then shut down.
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

async fn serve(listener: TcpListener, target: String, delay: Duration) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let target = target.clone();
        tokio::spawn(async move {
            // The connection to the host is also delayed: one way out, one way back.
            tokio::time::sleep(delay * 2).await;
            let Ok(server) = TcpStream::connect(&target).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(
                pump(client_read, server_write, delay),
                pump(server_read, client_write, delay)
            );
        });
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (delay, bind, mappings) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut servers = Vec::new();
    for mapping in mappings {
        match TcpListener::bind((bind.as_str(), mapping.listen)).await {
            Ok(listener) => servers.push(tokio::spawn(serve(listener, mapping.target, delay))),
            Err(e) => {
                eprintln!("cannot listen on {bind}:{}: {e}", mapping.listen);
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!("ready");
    for server in servers {
        let _ = server.await;
    }
    std::process::ExitCode::SUCCESS
}
