//! A real Odoo 17 bus client for the lab: the WebSocket handshake the web client makes
//! (`/websocket?version=…` with an Origin), a `subscribe` to a channel, and a bus
//! notification written into the host's database (`bus_bus` + `pg_notify('imbus')`, what
//! `bus.bus._sendone` does) that must come back as a frame.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::lab::Lab;

/// What a client got: the handshake status, and the bus frame when one came.
#[derive(Debug)]
pub struct BusResult {
    pub status: u16,
    pub frame: Option<String>,
    pub error: Option<String>,
}

impl BusResult {
    /// The handshake gave 101 and the notification came back.
    pub fn ok(&self) -> bool {
        self.status == 101
            && self
                .frame
                .as_deref()
                .is_some_and(|f| f.contains("wsdeploy_probe"))
    }
}

/// Connects to `url` (ws:// through nginx, as the browser does) with `origin`, subscribes to
/// a channel, sends a notification on it in database `db` of host `i`, and waits up to 20 s
/// for the frame.
pub fn bus_roundtrip(lab: &Lab, i: usize, url: &str, origin: &str, db: &str) -> BusResult {
    bus_roundtrip_tls(lab, i, url, origin, db, None)
}

/// Same; a `wss://` URL is verified against `ca_file` (the lab's CA) for the URL's host.
pub fn bus_roundtrip_tls(
    lab: &Lab,
    i: usize,
    url: &str,
    origin: &str,
    db: &str,
    ca_file: Option<&str>,
) -> BusResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(roundtrip(lab, i, url, origin, db, ca_file))
}

type Stream = std::pin::Pin<Box<dyn wsdeploy::transport::Stream>>;

async fn open(url: &str, ca_file: Option<&str>) -> Result<Stream, String> {
    let endpoint = wsdeploy::plan::Endpoint::parse(url)?;
    let tcp = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    match endpoint.tls {
        None => Ok(Box::pin(tcp)),
        Some(mut tls) => {
            tls.ca_file = ca_file.map(str::to_owned);
            Ok(Box::pin(
                wsdeploy::tls::connect(tcp, &tls)
                    .await
                    .map_err(|e| e.to_string())?,
            ))
        }
    }
}

#[expect(clippy::too_many_lines, reason = "one end-to-end round trip in order")]
async fn roundtrip(
    lab: &Lab,
    i: usize,
    url: &str,
    origin: &str,
    db: &str,
    ca_file: Option<&str>,
) -> BusResult {
    let mut request = url.into_client_request().expect("ws url");
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_str(origin).expect("origin"));
    let connected = tokio::time::timeout(Duration::from_secs(15), async {
        let stream = open(url, ca_file)
            .await
            .map_err(|e| tokio_tungstenite::tungstenite::Error::Io(std::io::Error::other(e)))?;
        tokio_tungstenite::client_async(request, stream).await
    })
    .await;
    let (mut ws, response) = match connected {
        Err(_) => {
            return BusResult {
                status: 0,
                frame: None,
                error: Some("no handshake answer within 15 s".into()),
            };
        }
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(r))) => {
            let body = r
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            return BusResult {
                status: r.status().as_u16(),
                frame: None,
                error: Some(body.chars().take(400).collect()),
            };
        }
        Ok(Err(e)) => {
            return BusResult {
                status: 0,
                frame: None,
                error: Some(e.to_string()),
            };
        }
        Ok(Ok(pair)) => pair,
    };
    let status = response.status().as_u16();
    let channel = format!("wsdeploy-probe-{}", std::process::id());
    let subscribe = format!(
        r#"{{"event_name": "subscribe", "data": {{"channels": ["{channel}"], "last": 0}}}}"#
    );
    if let Err(e) = ws.send(Message::Text(subscribe.into())).await {
        return BusResult {
            status,
            frame: None,
            error: Some(format!("sending subscribe: {e}")),
        };
    }
    // Let Odoo register the subscription before the notification is sent.
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The row in the database, then the notification where Odoo's dispatcher listens (the
    // `postgres` database, as bus.bus._sendmany does).
    let insert = format!(
        "INSERT INTO bus_bus (channel, message, create_date, write_date) VALUES \
         ('[\"{db}\",\"{channel}\"]', '{{\"type\":\"wsdeploy_probe\",\"payload\":{{\"n\":1}}}}', \
         now() at time zone 'utc', now() at time zone 'utc')"
    );
    let notify = format!("SELECT pg_notify('imbus', '[[\"{db}\",\"{channel}\"]]')");
    let psql = |database: &str, sql: &str| {
        format!(
            "docker exec opticserp_odoo runuser -u postgres -- psql -q -d {database} -c \"{}\" >/dev/null",
            sql.replace('"', "\\\"")
        )
    };
    lab.ok(
        i,
        &format!("{} && {}", psql(db, &insert), psql("postgres", &notify)),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => {
                return BusResult {
                    status,
                    frame: None,
                    error: Some("no bus frame within 20 s".into()),
                };
            }
            Ok(None) => {
                return BusResult {
                    status,
                    frame: None,
                    error: Some("connection closed before a bus frame".into()),
                };
            }
            Ok(Some(Err(e))) => {
                return BusResult {
                    status,
                    frame: None,
                    error: Some(format!("reading: {e}")),
                };
            }
            Ok(Some(Ok(Message::Text(text)))) if text.contains("wsdeploy_probe") => {
                let _ = ws.close(None).await;
                return BusResult {
                    status,
                    frame: Some(text.to_string()),
                    error: None,
                };
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}
