//! `calsync demo`: the emulator and the server in one process against `DATABASE_URL`, the role calendars
//! seeded with sample events, then changes made at "Google" every few seconds (and one local insert in
//! three), each printed with its push-to-database delay.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::Failure;
use crate::config::{Secret, Settings};
use crate::db::probes;
use crate::emulator::{Emulator, EmulatorConfig, dev_credentials};
use crate::services::Services;
use crate::startup::Application;

/// Sample events per role: (summary, location, day offset, hour, minutes long).
const SAMPLES: [(&str, &str, &str, i64, u32, i64); 6] = [
    (
        "medecin",
        "Consultation cardio",
        "Cabinet médical",
        0,
        14,
        60,
    ),
    ("medecin", "Garde urgences", "Hôpital", 1, 8, 600),
    (
        "enseignant",
        "Réunion pédagogique",
        "Salle des profs",
        0,
        17,
        90,
    ),
    ("enseignant", "Cours L3", "Amphi B", 2, 10, 120),
    ("chercheur", "Séminaire recherche", "Labo 204", 1, 15, 90),
    ("chercheur", "Comité de lecture", "Visio", 3, 11, 60),
];

pub async fn run(mut settings: Settings, changes: Option<u32>, every: u64) -> Result<(), Failure> {
    if std::env::var_os("RUST_LOG").is_none() {
        // SAFETY of intent: set before any thread reads the environment (telemetry is not initialised yet).
        unsafe { std::env::set_var("RUST_LOG", "warn") };
    }
    crate::telemetry::init(settings.telemetry.log_format, true);
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());

    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .context("emulator")?;
    let creds = std::env::temp_dir().join(format!("calsync-demo-{}", std::process::id()));
    dev_credentials::write(&creds, &emu.token_url()).context("demo credentials")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("http client")?;
    let control = |path: &str| format!("{}/emulator{path}", emu.base_url());
    for cal in &settings.google_calendar.calendars {
        http.post(control("/calendars"))
            .json(&json!({"id": cal.id, "summary": cal.name, "timeZone": cal.time_zone.clone().unwrap_or_else(|| "Europe/Paris".into())}))
            .send()
            .await
            .context("creating demo calendars")?;
    }
    let mut seeded: Vec<(String, String)> = Vec::new();
    let today = chrono::Utc::now().date_naive();
    for (casquette, summary, location, day, hour, minutes) in SAMPLES {
        let Some(cal) = settings
            .google_calendar
            .calendars
            .iter()
            .find(|c| c.casquette == casquette)
        else {
            continue;
        };
        let start = (today + chrono::Duration::days(day))
            .and_hms_opt(hour, 0, 0)
            .unwrap_or_default();
        let end = start + chrono::Duration::minutes(minutes);
        let body = json!({"summary": summary, "location": location,
            "start": {"dateTime": format!("{}", start.format("%Y-%m-%dT%H:%M:%S")), "timeZone": "Europe/Paris"},
            "end": {"dateTime": format!("{}", end.format("%Y-%m-%dT%H:%M:%S")), "timeZone": "Europe/Paris"}});
        let event: Value = http
            .post(control(&format!("/calendars/{}/events", cal.id)))
            .json(&body)
            .send()
            .await
            .context("seeding")?
            .json()
            .await
            .context("seeding")?;
        if let Some(id) = event["id"].as_str() {
            seeded.push((cal.id.clone(), id.to_string()));
        }
    }

    let listener = TcpListener::bind("127.0.0.1:8080")
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .context("listen")?;
    let port = listener.local_addr().context("listen")?.port();
    settings.google.api_base_url = emu.api_base_url();
    settings.google.token_url = Some(emu.token_url());
    settings.google.token_path = Some(creds.join("token.json"));
    settings.google.client_secret_path = Some(creds.join("client_secret.json"));
    settings.google.service_account_key_path = None;
    settings.google_calendar.enabled = true;
    settings.server.workers_enabled = true;
    settings.server.public_url = Some(format!("http://127.0.0.1:{port}"));
    let random = || uuid::Uuid::new_v4().simple().to_string();
    settings
        .admin
        .channel_token_secret
        .get_or_insert_with(|| Secret::new(random()));
    let jwt = settings
        .admin
        .jwt_secret
        .get_or_insert_with(|| Secret::new(random()))
        .clone();
    // A newcomer without PostgreSQL should hear so within seconds, not after a server's minute.
    let services = Services::builder(settings.clone())
        .shutdown(shutdown.clone())
        .database_wait(Duration::from_secs(3))
        .build()
        .await
        .context("startup")?;
    let pool = services.pool.clone();
    let app = Application::serve(services, listener).context("startup")?;
    let server = tokio::spawn(app.run_until_stopped());
    let token = crate::admin_auth::mint(jwt.expose(), "demo", Duration::from_secs(86_400))
        .context("admin token")?;

    println!("calsync demo");
    println!("  server   http://127.0.0.1:{port}  (try /readyz, /metrics)");
    println!("  status   http://127.0.0.1:{port}/  (sign in with the admin token below)");
    println!("  google   {} (emulator)", emu.base_url());
    println!(
        "  admin    curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{port}/api/v1/events/today"
    );
    let started = Instant::now();
    let expected = seeded.len() as i64;
    wait_until(&shutdown, Duration::from_secs(30), || async {
        live_events(&pool).await >= expected
    })
    .await?;
    println!(
        "initial sync: {expected} events from 3 calendars in PostgreSQL after {} ms (push channels registered)",
        started.elapsed().as_millis()
    );

    let mut round = 0u32;
    let mut delays = Vec::new();
    while changes.is_none_or(|n| round < n) && !shutdown.is_cancelled() {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(every)) => {}
        }
        round += 1;
        if round.is_multiple_of(3) {
            let cal = &settings.google_calendar.calendars
                [(round as usize) % settings.google_calendar.calendars.len()];
            let t0 = Instant::now();
            let id = probes::insert_sample(&pool, &cal.id)
                .await
                .context("local insert")?;
            let url = control(&format!("/calendars/{}/events/{}", cal.id, id.simple()));
            wait_until(&shutdown, Duration::from_secs(30), || async {
                http.get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            })
            .await?;
            println!(
                "[{round}] PostgreSQL insert → Google ({}, {}) in {} ms",
                cal.id,
                cal.casquette,
                t0.elapsed().as_millis()
            );
            continue;
        }
        let (cal, id) = &seeded[(round as usize) % seeded.len()];
        let t0 = Instant::now();
        let changed: Value = http
            .patch(control(&format!("/calendars/{cal}/events/{id}")))
            .json(&json!({"location": format!("Salle {}", 100 + round)}))
            .send()
            .await
            .context("change at Google")?
            .json()
            .await
            .context("change at Google")?;
        let etag = changed["etag"].as_str().unwrap_or_default().to_string();
        wait_until(&shutdown, Duration::from_secs(30), || async {
            probes::etag_of(&pool, cal, id).await.as_deref() == Some(etag.as_str())
        })
        .await?;
        let ms = t0.elapsed().as_millis();
        delays.push(ms);
        println!("[{round}] Google change ({cal}) → PostgreSQL by push in {ms} ms");
    }
    if !delays.is_empty() {
        delays.sort_unstable();
        println!(
            "push → database delay: median {} ms over {} changes",
            delays[delays.len() / 2],
            delays.len()
        );
    }
    shutdown.cancel();
    let _ = server.await;
    emu.stop().await;
    let _ = std::fs::remove_dir_all(&creds);
    Ok(())
}

async fn live_events(pool: &PgPool) -> i64 {
    probes::live_events(pool).await
}

async fn wait_until<F, Fut>(
    shutdown: &CancellationToken,
    limit: Duration,
    mut check: F,
) -> Result<(), Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(anyhow!(
                "the demo's change did not arrive within {} s",
                limit.as_secs()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}
