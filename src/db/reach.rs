//! Whether PostgreSQL can be reached, and if not why, said once: host, port, database and the cause
//! (connection refused, no such database, authentication, no answer), with the fix to try.
//!
//! The pool connects lazily and its errors hide the cause (`pool timed out while waiting for an open
//! connection`), so startup first opens one connection of its own and reports what that one met.

use std::fmt;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::config::DatabaseSettings;

/// How long one probe waits for the server's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens there (the server is down or on another port).
    Refused,
    /// The server answered that the database does not exist.
    NoSuchDatabase,
    /// The server refused the user (bad password, unknown role, `pg_hba.conf`); its own words.
    Authentication(String),
    /// No answer within [`PROBE_TIMEOUT`].
    NoAnswer,
    /// Anything else (the host name does not resolve, TLS…); the driver's words.
    Other(String),
}

impl Cause {
    /// Waiting will not fix it: the database is missing or the user refused.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::NoSuchDatabase | Self::Authentication(_))
    }

    fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                Self::Refused
            }
            sqlx::Error::Database(d) => match d.code().as_deref() {
                Some("3D000") => Self::NoSuchDatabase,
                Some(c) if c.starts_with("28") => Self::Authentication(d.message().to_string()),
                _ => Self::Other(d.message().to_string()),
            },
            other => Self::Other(other.to_string()),
        }
    }
}

/// PostgreSQL could not be reached: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Unreachable {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub cause: Cause,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            host,
            port,
            database,
            user,
            cause,
        } = self;
        let at = format!("PostgreSQL at {host}:{port}");
        match cause {
            Cause::Refused => write!(
                f,
                "{at} (database \"{database}\"): connection refused. Is PostgreSQL running there? \
                 `./run services` starts a local one; otherwise fix the host and port in DATABASE_URL"
            ),
            Cause::NoSuchDatabase => write!(
                f,
                "{at}: database \"{database}\" does not exist. Create it: \
                 `createdb -h {host} -p {port} -U {user} {database}`"
            ),
            Cause::Authentication(why) => write!(
                f,
                "{at} (database \"{database}\") refused user \"{user}\": {why}. \
                 Check the user and password in DATABASE_URL"
            ),
            Cause::NoAnswer => write!(
                f,
                "{at} (database \"{database}\"): no answer within {} s. Check the host and port in \
                 DATABASE_URL, and any firewall between",
                PROBE_TIMEOUT.as_secs()
            ),
            Cause::Other(why) => write!(f, "{at} (database \"{database}\"): {why}"),
        }
    }
}

fn unreachable(opts: &PgConnectOptions, cause: Cause) -> Unreachable {
    Unreachable {
        host: opts.get_host().to_string(),
        port: opts.get_port(),
        database: opts.get_database().unwrap_or("postgres").to_string(),
        user: opts.get_username().to_string(),
        cause,
    }
}

/// Opens (and closes) one connection; the reason when that fails.
pub async fn probe(opts: &PgConnectOptions) -> Result<(), Unreachable> {
    match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(opts)).await {
        Err(_) => Err(unreachable(opts, Cause::NoAnswer)),
        Ok(Err(e)) => Err(unreachable(opts, Cause::of(&e))),
        Ok(Ok(conn)) => {
            let _ = tokio::time::timeout(PROBE_TIMEOUT, conn.close()).await;
            Ok(())
        }
    }
}

/// Probes until PostgreSQL answers, for up to `wait` (a server started beside its database, or while
/// it restarts); fails at once when waiting cannot help (no such database, user refused).
pub async fn wait_until_reachable(
    settings: &DatabaseSettings,
    wait: Duration,
) -> anyhow::Result<()> {
    let opts = super::connect_options(settings)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let Err(e) = probe(&opts).await else {
            return Ok(());
        };
        if e.cause.is_permanent() || started.elapsed() + pause > wait {
            return Err(e.into());
        }
        tracing::warn!(host = %e.host, port = e.port, database = %e.database,
            retry_in_ms = pause.as_millis() as u64, "PostgreSQL not reachable yet: {}", e.cause_label());
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

impl Unreachable {
    /// The cause in a word, for logs.
    fn cause_label(&self) -> &'static str {
        match self.cause {
            Cause::Refused => "connection refused",
            Cause::NoSuchDatabase => "no such database",
            Cause::Authentication(_) => "authentication",
            Cause::NoAnswer => "no answer",
            Cause::Other(_) => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str) -> PgConnectOptions {
        url.parse().expect("url")
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    #[tokio::test]
    async fn a_port_nobody_listens_on_is_named_with_its_cause_and_fix() {
        let port = free_port();
        let e = probe(&options(&format!(
            "postgres://postgres@127.0.0.1:{port}/calsync"
        )))
        .await
        .expect_err("nothing listens");
        assert_eq!(
            e.to_string(),
            format!(
                "PostgreSQL at 127.0.0.1:{port} (database \"calsync\"): connection refused. Is \
                 PostgreSQL running there? `./run services` starts a local one; otherwise fix the \
                 host and port in DATABASE_URL"
            )
        );
    }

    #[tokio::test]
    async fn a_missing_database_is_named_once_with_the_createdb_command() {
        let name = format!("calsync_missing_{}", uuid::Uuid::new_v4().simple());
        let e = probe(&options(&format!(
            "postgres://postgres@127.0.0.1:5432/{name}"
        )))
        .await
        .expect_err("no such database");
        assert_eq!(
            e.to_string(),
            format!(
                "PostgreSQL at 127.0.0.1:5432: database \"{name}\" does not exist. Create it: \
                 `createdb -h 127.0.0.1 -p 5432 -U postgres {name}`"
            )
        );
        assert!(e.cause.is_permanent());
    }

    #[tokio::test]
    async fn a_refused_user_is_named_with_the_servers_reason() {
        let e = probe(&options(
            "postgres://calsync_no_such_role@127.0.0.1:5432/postgres",
        ))
        .await
        .expect_err("no such role");
        assert_eq!(
            e.to_string(),
            "PostgreSQL at 127.0.0.1:5432 (database \"postgres\") refused user \
             \"calsync_no_such_role\": role \"calsync_no_such_role\" does not exist. Check the user \
             and password in DATABASE_URL"
        );
    }

    #[tokio::test]
    async fn waiting_gives_up_within_its_bound_when_nothing_listens() {
        let port = free_port();
        let settings = DatabaseSettings {
            url: format!("postgres://postgres@127.0.0.1:{port}/calsync"),
            ..DatabaseSettings::default()
        };
        let started = Instant::now();
        let e = wait_until_reachable(&settings, Duration::from_secs(2))
            .await
            .expect_err("nothing listens");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(e.to_string().contains("connection refused"), "{e}");
    }
}
