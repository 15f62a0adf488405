//! One seed end to end: fresh database, emulator (three users) and calsync process(es); a random schedule of
//! operations under faults, a SIGKILL, a PostgreSQL restart and the account faults; then faults cleared and a
//! bounded wait for convergence.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use calsync_testkit::poll;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;

use crate::account_faults::AccountFaults;
use crate::api::Api;
use crate::chaos::{Plan, Timeline, random_faults, skipped};
use crate::converge::{converge, supervise};
use crate::diagnostics::{self, Chaos};
use crate::forwarder::Forwarder;
use crate::google::Google;
use crate::model::{Ends, Model};
use crate::postgres::{self, PgRestart};
use crate::process::{Calsync, free_port, shared_env};
use crate::world::{ACCOUNTS, CALS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One calsync, SIGKILLed and restarted midway.
    Single,
    /// `n` replicas on one database behind a round-robin forwarder; one is SIGKILLed for good.
    Replicas(usize),
}

impl Topology {
    fn label(self) -> &'static str {
        match self {
            Self::Single => "s",
            Self::Replicas(_) => "r",
        }
    }
}

/// Runs `count` seeds from `first`, one after another; panics at the end if any failed.
pub async fn run_seeds(first: u64, count: u64, topology: Topology) {
    let started = Instant::now();
    let mut failed = Vec::new();
    for seed in first..first + count {
        // A seed's panic (a bounded wait that ran out, a diff) is reported and the next seed runs.
        if tokio::spawn(run_seed(seed, topology)).await.is_err() {
            failed.push(seed);
            if std::env::var_os("CONVERGENCE_FAIL_FAST").is_some() {
                break;
            }
        }
    }
    println!(
        "{topology:?}: {count} seeds in {:.1} s, {} failed {failed:?}",
        started.elapsed().as_secs_f64(),
        failed.len()
    );
    assert!(failed.is_empty(), "seeds that did not converge: {failed:?}");
}

fn log_path(topology: Topology, seed: u64, replica: usize) -> PathBuf {
    let name = match topology {
        Topology::Single => format!("calsync-convergence-seed-{seed}.log"),
        Topology::Replicas(_) => format!("calsync-convergence-replicas-seed-{seed}-r{replica}.log"),
    };
    std::env::temp_dir().join(name)
}

async fn wait_for_channels(google: &Google, at_least: usize, timeout: Duration) -> bool {
    poll(timeout, Duration::from_millis(100), || async {
        google.live_channels().await.len() >= at_least
    })
    .await
}

pub async fn run_seed(seed: u64, topology: Topology) {
    let mut plan_rng = StdRng::seed_from_u64(seed);
    let mut op_rng = StdRng::seed_from_u64(seed ^ 0x5eed_0f0b);
    let replicas = match topology {
        Topology::Single => 1,
        Topology::Replicas(n) => n,
    };
    let (db_url, db_name) = postgres::create_database(&format!("{}{seed}", topology.label())).await;
    let google = Google::start(seed).await;
    let ports: Vec<u16> = (0..replicas).map(|_| free_port()).collect();
    let forwarder = match topology {
        Topology::Single => None,
        Topology::Replicas(_) => Some(Forwarder::start(ports.clone()).await),
    };
    let public = forwarder
        .as_ref()
        .map(|f| f.url.clone())
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", ports[0]));
    let env = shared_env(&db_url, &public, google.env(), seed);
    let mut procs: Vec<Calsync> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| Calsync::spawn(&format!("r{i}"), *port, &env, log_path(topology, seed, i)))
        .collect();
    let logs: Vec<String> = procs.iter().map(|p| p.log.display().to_string()).collect();
    let mut timeline = Timeline::default();
    for p in &mut procs {
        p.wait_ready(Duration::from_secs(30)).await;
        timeline.note(format_args!("{} ready (pid {})", p.name, p.pid()));
    }
    // Lazy: a parallel stream's PostgreSQL restart may be under way; every use of the pool tolerates one.
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(&db_url)
        .expect("test pool URL");
    if !wait_for_channels(&google, CALS.len(), Duration::from_secs(15)).await {
        println!(
            "seed {seed}: no live channel on every calendar after 15 s; going on (the poll covers)"
        );
    }

    let api = Api::new(&ports);
    let ends = Ends {
        google: &google,
        pool: &pool,
        api: &api,
    };
    let plan = Plan::draw(&mut plan_rng);
    let mut accounts = AccountFaults::draw(&mut plan_rng, plan.ops);
    let mut model = Model::new(seed, topology.label());
    let mut next_faults = 0;
    let mut respawns = 0;
    let mut pg_restart: Option<PgRestart> = None;
    let mut killed = "kill 0".to_string();
    let mut chaos = Chaos {
        kill: None,
        pg_restart: None,
    };
    timeline.note(format_args!("op #0 of {}", plan.ops));
    for n in 0..plan.ops {
        if n == next_faults {
            let faults = random_faults(&mut plan_rng);
            google.set_faults(faults.clone()).await;
            timeline.note(format_args!("op #{n}: faults {faults}"));
            next_faults = n + plan_rng.random_range(4..=9);
        }
        if plan.invalidate_at.contains(&n) {
            google.invalidate_sync_tokens().await;
            timeline.note(format_args!("op #{n}: sync tokens invalidated (410)"));
        }
        if n == plan.expire_at {
            let live = google.live_channels().await;
            if !live.is_empty() {
                let channel = &live[plan_rng.random_range(0..live.len())];
                google.expire_channel(channel).await;
                timeline.note(format_args!("op #{n}: channel {channel} expired early"));
            }
        }
        if n == plan.kill_at && !skipped("kill") {
            let victim = match topology {
                Topology::Single => 0,
                Topology::Replicas(_) => plan_rng.random_range(0..replicas),
            };
            let pid = procs[victim].pid();
            procs[victim].kill().await;
            chaos.kill =
                Some(timeline.note(format_args!("op #{n}: SIGKILL r{victim} (pid {pid})")));
            if topology == Topology::Single {
                procs[victim].restart();
                timeline.note(format_args!(
                    "op #{n}: r0 restarted (pid {})",
                    procs[victim].pid()
                ));
                killed = "kill+restart 1".into();
            } else {
                killed = format!("kill 1 (r{victim}, not restarted)");
            }
        }
        if n == plan.pg_restart_at && !skipped("pg") {
            let from = timeline.note(format_args!("op #{n}: PostgreSQL restart"));
            let how = postgres::restart(&db_name).await;
            let to = timeline.note(format_args!(
                "op #{n}: PostgreSQL accepts connections ({how})"
            ));
            if let PgRestart::Simulated(why) = &how {
                println!(
                    "seed {seed}: PostgreSQL not restarted ({why}); terminated the seed's backends instead"
                );
            }
            chaos.pg_restart = Some((from, to));
            pg_restart = Some(how);
        }
        accounts.at(n, &google, &pool, &ports, &mut timeline).await;
        model.step(&mut op_rng, n, &ends).await;
        respawns += supervise(&mut procs, &mut timeline).await;
        tokio::time::sleep(Duration::from_millis(op_rng.random_range(5..=60))).await;
    }

    // Every rate back to 0 (and no latency or push faults).
    google.set_faults(json!({})).await;
    timeline.note(format_args!("op #{}: faults cleared", plan.ops));
    if let Err(e) = accounts.settle(&mut timeline).await {
        model.anomalies.push(format!("explicit sync: {e}"));
    }
    let cleared = Instant::now();
    let outcome = converge(
        &model,
        &google,
        &pool,
        &mut procs,
        &mut timeline,
        &mut respawns,
    )
    .await;
    let statuses = google.error_statuses(None).await;
    let injected: usize = statuses.values().sum();
    let breakdown: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
    let mut extra = if respawns > 0 {
        format!(", exited on their own and restarted: {respawns}")
    } else {
        String::new()
    };
    extra += &forwarder
        .as_ref()
        .map(|f| format!(", pushes forwarded: {}", f.summary()))
        .unwrap_or_default();
    let per_account: Vec<String> = ACCOUNTS
        .iter()
        .zip(model.account_ops)
        .map(|(a, n)| format!("{} {n}", a.name))
        .collect();
    let head = format!(
        "seed {seed}: {} ops ({} google, {} local of which {} by API; {}), faults injected: {injected} ({}), account faults: {}, {killed}, pg restart {}{extra}",
        plan.ops,
        model.google_ops,
        model.local_ops,
        model.api_ops,
        per_account.join(", "),
        breakdown.join(" "),
        accounts.summary(&google).await,
        pg_restart
            .as_ref()
            .map_or("0".to_string(), |p| format!("1 ({p})")),
    );
    match outcome {
        Ok(done) if model.anomalies.is_empty() => {
            println!(
                "{head}, converged in {:.1} s ({})",
                done.took.as_secs_f64(),
                done.per_account()
            );
            for p in &mut procs {
                p.kill().await;
            }
            pool.close().await;
            if let Some(f) = forwarder {
                f.stop().await;
            }
            google.stop().await;
            postgres::drop_database(&db_name).await;
            // `CONVERGENCE_KEEP_LOGS=1` keeps a passing seed's logs too (with CONVERGENCE_RUST_LOG=info).
            for l in logs
                .iter()
                .filter(|_| std::env::var_os("CONVERGENCE_KEEP_LOGS").is_none())
            {
                let _ = std::fs::remove_file(l);
            }
        }
        outcome => {
            let mut report = vec![format!(
                "{head}, NOT converged ({:.1} s after faults were cleared)",
                cleared.elapsed().as_secs_f64()
            )];
            report.extend(model.anomalies.iter().map(|a| format!("  anomaly: {a}")));
            if let Err(problems) = outcome {
                report.extend(problems.iter().map(|p| format!("  {p}")));
            }
            report.extend(
                diagnostics::diagnostics(&pool, &chaos)
                    .await
                    .into_iter()
                    .map(|d| format!("  state: {d}")),
            );
            report.extend(timeline.0.iter().map(|t| format!("  at {t}")));
            report.push(format!("  database kept: {db_name}"));
            report.extend(logs.iter().map(|l| format!("  log: {l}")));
            for p in &mut procs {
                p.kill().await;
            }
            google.stop().await;
            let report = report.join("\n");
            println!("{report}");
            panic!("seed {seed} did not converge");
        }
    }
}
