//! The load balancer in front of the scale run's replicas: Google's pushes go to one public address,
//! and this forwards each HTTP/1.1 request (head and Content-Length body) to the next live replica,
//! round robin; a replica that refuses or drops the connection is skipped (the request goes to the
//! next one), as a health-checked balancer would. Keep-alive on both sides.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

struct Shared {
    backends: RwLock<Vec<u16>>,
    next: AtomicUsize,
    /// Requests a backend failed (refused, dropped), retried on the next one.
    skipped: AtomicUsize,
}

pub struct Forwarder {
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Forwarder {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            backends: RwLock::new(Vec::new()),
            next: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                tokio::spawn(serve(client, s.clone()));
            }
        });
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            shared,
            task,
        })
    }

    /// The replicas' ports.
    pub fn set_backends(&self, ports: Vec<u16>) {
        *self
            .shared
            .backends
            .write()
            .unwrap_or_else(|p| p.into_inner()) = ports;
    }

    pub fn skipped(&self) -> usize {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, s: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4096);
    let mut upstream: HashMap<u16, (TcpStream, Vec<u8>)> = HashMap::new();
    while let Some(request) = read_message(&mut client, &mut buf).await {
        let ports = s.backends.read().unwrap_or_else(|p| p.into_inner()).clone();
        let first = s.next.fetch_add(1, Ordering::Relaxed);
        let mut answer = None;
        for k in 0..ports.len() {
            let port = ports[(first + k) % ports.len()];
            // A kept-alive connection the replica closed meanwhile gets one fresh try.
            for _ in 0..2 {
                match exchange(&mut upstream, port, &request).await {
                    Some(resp) => {
                        answer = Some(resp);
                        break;
                    }
                    None => {
                        upstream.remove(&port);
                    }
                }
            }
            if answer.is_some() {
                break;
            }
            s.skipped.fetch_add(1, Ordering::Relaxed);
        }
        let resp = answer
            .unwrap_or_else(|| b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".to_vec());
        if client.write_all(&resp).await.is_err() {
            return;
        }
    }
}

async fn exchange(
    upstream: &mut HashMap<u16, (TcpStream, Vec<u8>)>,
    port: u16,
    request: &[u8],
) -> Option<Vec<u8>> {
    if let std::collections::hash_map::Entry::Vacant(e) = upstream.entry(port) {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let _ = stream.set_nodelay(true);
        e.insert((stream, Vec::with_capacity(4096)));
    }
    let (stream, buf) = upstream.get_mut(&port)?;
    stream.write_all(request).await.ok()?;
    read_message(stream, buf).await
}

/// One HTTP/1.1 message (head and a Content-Length body) from `stream`, bytes as read; leftover
/// bytes stay in `buf`. None at end of stream or on an error.
pub async fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf.drain(..total).collect());
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
