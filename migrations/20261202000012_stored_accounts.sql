-- Google accounts connected at run time (`calsync auth login --account NAME`, later the connect flow):
-- their credentials live here, never in clear. `credentials` is the google-auth token document
-- (refresh token, scopes, client id) sealed with AES-256-GCM under CALSYNC_SECRET_KEY, the account's
-- name authenticated with it; `secret_key_id` names the key, so `calsync secrets rotate` can reseal
-- every row under a new key while the old one still opens them.
CREATE TABLE accounts (
    name TEXT PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    secret_key_id TEXT NOT NULL CHECK (secret_key_id ~ '^[0-9a-f]{8}$'),
    secret_nonce BYTEA NOT NULL CHECK (length(secret_nonce) = 12),
    credentials BYTEA NOT NULL,
    connected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
