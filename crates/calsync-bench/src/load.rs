//! A lean HTTP/1.1 load generator for the webhook phase: keep-alive connections on loopback, one
//! pre-built request each, responses parsed just enough (status, Content-Length) to time them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Latencies (ms) of the 2xx answers, and how many requests got anything else.
pub struct Outcome {
    pub latencies: Vec<f64>,
    pub failed: usize,
}

/// Sends `total` copies of `request` over `connections` keep-alive connections to `addr`.
pub async fn hammer(
    addr: &str,
    request: Arc<Vec<u8>>,
    total: usize,
    connections: usize,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (addr, request, next) = (addr.to_string(), request.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome {
                latencies: Vec::new(),
                failed: 0,
            };
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                return out;
            };
            let _ = stream.set_nodelay(true);
            let mut buf: Vec<u8> = Vec::with_capacity(4096);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let t0 = Instant::now();
                if stream.write_all(&request).await.is_err() {
                    out.failed += 1;
                    break;
                }
                match read_response(&mut stream, &mut buf).await {
                    Some(status) if (200..300).contains(&status) => {
                        out.latencies.push(t0.elapsed().as_secs_f64() * 1000.0)
                    }
                    Some(_) => out.failed += 1,
                    None => {
                        out.failed += 1;
                        break;
                    }
                }
            }
            out
        }));
    }
    let mut all = Outcome {
        latencies: Vec::with_capacity(total),
        failed: 0,
    };
    for t in tasks {
        if let Ok(o) = t.await {
            all.latencies.extend(o.latencies);
            all.failed += o.failed;
        }
    }
    all
}

/// Reads one response (headers and a Content-Length body); leftover bytes stay in `buf`.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?;
            let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
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
            buf.drain(..total);
            return Some(status);
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The raw bytes of a valid push for `channel`.
pub fn push_request(host: &str, channel: &str, resource: &str, token: &str) -> Vec<u8> {
    format!(
        "POST /webhooks/google HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nX-Goog-Channel-ID: {channel}\r\n\
         X-Goog-Message-Number: 2\r\nX-Goog-Resource-ID: {resource}\r\nX-Goog-Resource-State: exists\r\n\
         X-Goog-Resource-URI: https://www.googleapis.com/calendar/v3/calendars/primary/events\r\n\
         X-Goog-Channel-Token: {token}\r\n\r\n"
    )
    .into_bytes()
}
