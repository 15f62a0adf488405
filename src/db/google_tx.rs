//! The transaction type for writes that came from Google: it sets `calsync.origin = 'google'` as it
//! begins, so the outbox trigger skips what it writes (no echo). The rule lives in the type: every
//! function that writes Google's data takes a `GoogleTx`.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// A transaction whose writes come from Google (the outbox trigger ignores them).
pub struct GoogleTx(Transaction<'static, Postgres>);

impl GoogleTx {
    /// `BEGIN; SET LOCAL calsync.origin = 'google'`, in one round trip.
    pub async fn begin(pool: &PgPool) -> Result<Self, sqlx::Error> {
        Ok(Self(
            pool.begin_with("BEGIN; SET LOCAL calsync.origin = 'google'")
                .await?,
        ))
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.0
    }

    /// The transaction itself, for the shared helpers that take one (the conflicts recorder).
    pub fn transaction(&mut self) -> &mut Transaction<'static, Postgres> {
        &mut self.0
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}
