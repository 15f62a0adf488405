//! Revoking a user's grant at Google (`calsync accounts remove --revoke`).

use super::*;

impl TokenProvider {
    /// Revokes the user's grant at Google (its revocation endpoint, beside the token endpoint);
    /// a service account has no grant to revoke. Never logs the token.
    pub async fn revoke(&self) -> Result<(), GoogleError> {
        let token = match &*self.source.lock().await {
            Source::User { refresh_token, .. } => refresh_token.clone(),
            Source::ServiceAccount { .. } => {
                return Err(GoogleError::Credentials(
                    "a service account has no grant to revoke".into(),
                ));
            }
        };
        let url = match self.token_url.strip_suffix("/token") {
            Some(base) => format!("{base}/revoke"),
            None => "https://oauth2.googleapis.com/revoke".into(),
        };
        let resp = self
            .http
            .post(&url)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .map_err(|e| GoogleError::transport(&e))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            // Already revoked or expired: the outcome asked for.
            400 => Ok(()),
            status => Err(GoogleError::Permanent {
                status,
                reason: "revoke".into(),
            }),
        }
    }
}
