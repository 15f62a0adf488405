//! The emulator's documented development credentials, and the files `--write-credentials` produces.

use std::path::Path;

/// The default user: the identity behind the dev refresh token and every consent without `login_hint`,
/// and the user of the unscoped control routes (its address is its `primary` calendar's alias).
pub const USER_EMAIL: &str = "demo.user@calsync.test";
/// Google's stable account id for [`USER_EMAIL`].
pub const USER_SUB: &str = "107354917463802918467";

/// OAuth client id accepted by the emulator's token endpoint.
pub const CLIENT_ID: &str = "calsync-dev.apps.googleusercontent.com";
/// OAuth client secret accepted by the emulator's token endpoint.
pub const CLIENT_SECRET: &str = "calsync-dev-secret";
/// Refresh token accepted by the emulator's token endpoint (until revoked through the control API).
pub const REFRESH_TOKEN: &str = "1//calsync-dev-refresh-token";

fn write_private(path: &Path, content: &serde_json::Value) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(
        serde_json::to_string_pretty(content)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// Writes a google-auth `authorized_user` token file at `path` for `refresh_token` of the dev client (the
/// format of `token.json`; e.g. for a user added with `POST /emulator/users`).
pub fn write_token(path: &Path, token_url: &str, refresh_token: &str) -> std::io::Result<()> {
    write_private(
        path,
        &serde_json::json!({
            "token": null, "refresh_token": refresh_token, "token_uri": token_url,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "scopes": ["https://www.googleapis.com/auth/calendar"], "expiry": null}),
    )
}

/// Writes `client_secret.json` (`{"installed": …}`) and `token.json` (google-auth's format) into `dir`.
pub fn write(dir: &Path, token_url: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_private(
        &dir.join("client_secret.json"),
        &serde_json::json!({"installed": {
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "project_id": "calsync-emulator",
            "auth_uri": token_url.replace("/token", "/o/oauth2/auth"), "token_uri": token_url,
            "redirect_uris": ["http://localhost"]}}),
    )?;
    write_token(&dir.join("token.json"), token_url, REFRESH_TOKEN)
}
