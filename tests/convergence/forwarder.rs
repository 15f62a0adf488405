//! A round-robin HTTP forwarder in front of several calsync replicas: each `POST /webhooks/google` goes, with
//! all its headers, to replica `i % n`, or to the next one when that replica refuses connections; the replica's
//! status comes back to Google.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

struct Targets {
    ports: Vec<u16>,
    next: AtomicUsize,
    /// Pushes delivered per replica.
    delivered: Vec<AtomicUsize>,
    /// Connection refusals met (a dead replica skipped).
    refused: AtomicUsize,
    http: reqwest::Client,
}

pub struct Forwarder {
    pub url: String,
    handle: ServerHandle,
    targets: Arc<Targets>,
}

impl Forwarder {
    pub async fn start(ports: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("forwarder binds");
        let port = listener.local_addr().expect("forwarder port").port();
        let targets = Arc::new(Targets {
            delivered: ports.iter().map(|_| AtomicUsize::new(0)).collect(),
            ports,
            next: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1))
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        });
        let data = web::Data::from(targets.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/webhooks/google", web::post().to(forward))
        })
        .workers(1)
        .listen(listener)
        .expect("forwarder listens")
        .disable_signals()
        .shutdown_timeout(1)
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            handle,
            targets,
        }
    }

    /// "r0 12, r1 11, r2 4; 3 refused".
    pub fn summary(&self) -> String {
        let per: Vec<String> = self
            .targets
            .delivered
            .iter()
            .enumerate()
            .map(|(i, n)| format!("r{i} {}", n.load(Ordering::Relaxed)))
            .collect();
        format!(
            "{}; {} refused",
            per.join(", "),
            self.targets.refused.load(Ordering::Relaxed)
        )
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

async fn forward(req: HttpRequest, body: web::Bytes, t: web::Data<Targets>) -> HttpResponse {
    let n = t.ports.len();
    let first = t.next.fetch_add(1, Ordering::Relaxed);
    for k in 0..n {
        let i = (first + k) % n;
        let mut out = t
            .http
            .post(format!("http://127.0.0.1:{}/webhooks/google", t.ports[i]))
            .body(body.to_vec());
        for (name, value) in req.headers() {
            if matches!(name.as_str(), "host" | "content-length" | "connection") {
                continue;
            }
            out = out.header(name.as_str(), value.as_bytes());
        }
        match out.send().await {
            Ok(resp) => {
                t.delivered[i].fetch_add(1, Ordering::Relaxed);
                let status =
                    StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let bytes = resp.bytes().await.unwrap_or_default();
                return HttpResponse::build(status).body(bytes.to_vec());
            }
            Err(e) if e.is_connect() => {
                t.refused.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => return HttpResponse::BadGateway().finish(),
        }
    }
    HttpResponse::BadGateway().finish()
}
