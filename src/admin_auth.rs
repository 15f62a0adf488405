//! Admin bearer tokens: HS256 JWTs with a required `exp`, algorithm pinned, for `/api` and `/admin`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims calsync puts in (and requires of) an admin token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub scope: String,
}

/// The scope every admin token carries.
pub const ADMIN_SCOPE: &str = "calsync:admin";

/// Signs a token for `subject` valid for `ttl`.
pub fn mint(
    secret: &str,
    subject: &str,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: subject.to_string(),
        iat: now,
        exp: now + ttl.as_secs() as i64,
        scope: ADMIN_SCOPE.into(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// Verifies signature (HS256 only), expiry and scope.
pub fn verify(secret: &str, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.leeway = 5;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )?;
    if data.claims.scope != ADMIN_SCOPE {
        return Err(jsonwebtoken::errors::ErrorKind::InvalidToken.into());
    }
    Ok(data.claims)
}

/// Parses a lifetime such as `90s`, `30m`, `1h`, `7d` or a bare number of seconds.
pub fn parse_ttl(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (digits, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| raw.split_at(i))
        .unwrap_or((raw, "s"));
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_tampered_ones_do_not() {
        let token = mint("s3cret", "n8n", Duration::from_secs(60)).unwrap();
        assert_eq!(verify("s3cret", &token).unwrap().sub, "n8n");
        assert!(verify("other", &token).is_err());
        let expired = {
            let claims = Claims {
                sub: "x".into(),
                iat: 0,
                exp: 1,
                scope: ADMIN_SCOPE.into(),
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(b"s3cret"),
            )
            .unwrap()
        };
        assert!(verify("s3cret", &expired).is_err());
        let hs512 = {
            let claims = Claims {
                sub: "x".into(),
                iat: 0,
                exp: i64::MAX / 2,
                scope: ADMIN_SCOPE.into(),
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS512),
                &claims,
                &EncodingKey::from_secret(b"s3cret"),
            )
            .unwrap()
        };
        assert!(
            verify("s3cret", &hs512).is_err(),
            "algorithm must be pinned to HS256"
        );
    }

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_ttl("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_ttl("0s"), None);
        assert_eq!(parse_ttl("1y"), None);
        assert_eq!(parse_ttl("h"), None);
    }
}
