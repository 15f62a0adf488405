//! Chromium for the browser tests (the status page, the connect flow): chromedriver on a free
//! port, driven through `fantoccini`'s WebDriver client.

use std::process::Stdio;
use std::time::Duration;

use calsync_testkit::wait_ok;
use serde_json::json;

/// chromedriver on a free port, killed with the test, driven through `fantoccini`'s WebDriver client.
pub struct Driver {
    _child: tokio::process::Child,
    pub client: fantoccini::Client,
}

impl Driver {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; .ci/run installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1200,900", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run"]}),
        );
        // chromedriver listens a moment after it starts; plain HTTP on loopback.
        let client = wait_ok(
            "chromedriver to start",
            Duration::from_secs(20),
            Duration::from_millis(100),
            || async {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                fantoccini::ClientBuilder::new(connector)
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await
            },
        )
        .await;
        Self {
            _child: child,
            client,
        }
    }

    pub async fn go(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }
}
