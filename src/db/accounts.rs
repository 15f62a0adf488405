//! Accounts whose credentials are stored in PostgreSQL, sealed (see `secrets::at_rest`): connect,
//! read, reseal, list and remove. Only ciphertext crosses this module; nothing here decrypts.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::secrets::at_rest::SealedSecret;

/// What `calsync accounts list` shows: no secret, only the key id.
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub name: String,
    pub secret_key_id: String,
    pub connected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Stores (or replaces, on a new login) an account's sealed credentials.
pub async fn connect(pool: &PgPool, name: &str, sealed: &SealedSecret) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO accounts (name, secret_key_id, secret_nonce, credentials)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE
              SET secret_key_id = EXCLUDED.secret_key_id, secret_nonce = EXCLUDED.secret_nonce,
                  credentials = EXCLUDED.credentials, connected_at = now(), updated_at = now()"#,
        name,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The sealed credentials of one account (None: not connected).
pub async fn sealed(pool: &PgPool, name: &str) -> Result<Option<SealedSecret>, sqlx::Error> {
    Ok(sqlx::query!(
        "SELECT secret_key_id, secret_nonce, credentials FROM accounts WHERE name = $1",
        name
    )
    .fetch_optional(pool)
    .await?
    .map(|r| SealedSecret {
        key_id: r.secret_key_id,
        nonce: r.secret_nonce,
        ciphertext: r.credentials,
    }))
}

/// Replaces one account's sealed credentials (a refresh that returned a new refresh token, or a
/// rotation inside its transaction). False when the account was removed meanwhile.
pub async fn reseal<'e>(
    db: impl sqlx::PgExecutor<'e>,
    name: &str,
    sealed: &SealedSecret,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE accounts SET secret_key_id = $2, secret_nonce = $3, credentials = $4, updated_at = now()
           WHERE name = $1"#,
        name,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every stored account, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<AccountRow>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "SELECT name, secret_key_id, connected_at, updated_at FROM accounts ORDER BY name"
    )
    .fetch_all(pool)
    .await
}

/// Forgets an account's credentials; false when there was none.
pub async fn remove(conn: &mut sqlx::PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("DELETE FROM accounts WHERE name = $1", name)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How a rotation went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub resealed: usize,
    pub already_current: usize,
}

/// Reseals every account under `seal_again`'s key in one transaction (rows locked, so a concurrent
/// refresh waits): `seal_again` gets each row's name and sealed value and returns the new one, or None
/// when the row is already under the current key. An error from `seal_again` rolls everything back.
pub async fn rotate<E>(
    pool: &PgPool,
    mut seal_again: impl FnMut(&str, &SealedSecret) -> Result<Option<SealedSecret>, E>,
) -> Result<Result<Rotation, E>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        "SELECT name, secret_key_id, secret_nonce, credentials FROM accounts ORDER BY name FOR UPDATE"
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut rotation = Rotation::default();
    for r in rows {
        let old = SealedSecret {
            key_id: r.secret_key_id,
            nonce: r.secret_nonce,
            ciphertext: r.credentials,
        };
        let new = match seal_again(&r.name, &old) {
            Ok(Some(new)) => new,
            Ok(None) => {
                rotation.already_current += 1;
                continue;
            }
            Err(e) => return Ok(Err(e)),
        };
        reseal(&mut *tx, &r.name, &new).await?;
        rotation.resealed += 1;
    }
    tx.commit().await?;
    Ok(Ok(rotation))
}
