//! Admin bearer tokens: HS256 JWTs with a required `exp`, algorithm pinned, for `/api` and `/admin`;
//! a maximum lifetime checked at minting and at verification, `nbf` honoured, and revocation (every
//! token issued before an instant, or listed by its `jti`).

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
    /// Not valid before (honoured when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The token's id, for the deny list (`admin.revoked_token_ids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The one account an account-scoped token (scope [`ACCOUNT_SCOPE`]) may see and change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Claims {
    /// The account this token is limited to; None: an admin token, all-powerful.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }
}

/// What a token must also satisfy, from the `admin` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Longest lifetime (`exp` − `iat`, and `exp` from now) accepted or minted.
    pub max_ttl: Duration,
    /// Tokens issued (`iat`) before this Unix time are revoked.
    pub not_before: Option<i64>,
    /// Revoked token ids (`jti`).
    pub revoked_ids: Vec<String>,
}

/// Default longest lifetime of an admin token: one year.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(365 * 86_400);

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            max_ttl: DEFAULT_MAX_TTL,
            not_before: None,
            revoked_ids: Vec::new(),
        }
    }
}

/// Why a token was refused (logged; never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("invalid signature, shape or scope")]
    Invalid,
    #[error("expired")]
    Expired,
    #[error("not yet valid (nbf)")]
    NotYetValid,
    #[error("lifetime longer than the configured maximum")]
    TooLong,
    #[error("revoked")]
    Revoked,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::TooLong => "too_long",
            Self::Revoked => "revoked",
        }
    }
}

/// The scope every admin token carries.
pub const ADMIN_SCOPE: &str = "calsync:admin";
/// The scope of an account-scoped token. A scope of its own, not `calsync:admin` plus a claim: a
/// verifier that does not know the `account` claim refuses the token instead of granting it all.
pub const ACCOUNT_SCOPE: &str = "calsync:account";

/// Signs an admin token for `subject` valid for `ttl`.
pub fn mint(
    secret: &str,
    subject: &str,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    mint_scoped(secret, subject, ttl, None)
}

/// Signs a token for `subject` valid for `ttl`: limited to `account` when given, else an admin token.
pub fn mint_scoped(
    secret: &str,
    subject: &str,
    ttl: Duration,
    account: Option<&str>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: subject.to_string(),
        iat: now,
        exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
        scope: if account.is_some() {
            ACCOUNT_SCOPE
        } else {
            ADMIN_SCOPE
        }
        .into(),
        nbf: None,
        jti: Some(uuid::Uuid::new_v4().simple().to_string()),
        account: account.map(str::to_string),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// [`mint`] within `policy`: a lifetime over its maximum is refused.
pub fn mint_within(
    secret: &str,
    subject: &str,
    ttl: Duration,
    account: Option<&str>,
    policy: &TokenPolicy,
) -> Result<String, String> {
    if ttl > policy.max_ttl {
        return Err(format!(
            "a lifetime of {}s is longer than admin.token_max_ttl_secs ({}s)",
            ttl.as_secs(),
            policy.max_ttl.as_secs()
        ));
    }
    mint_scoped(secret, subject, ttl, account).map_err(|e| format!("cannot sign the token: {e}"))
}

/// Leeway on `exp`, `nbf` and the lifetime, for clocks a little apart.
const LEEWAY: u64 = 5;

/// Verifies signature (HS256 only), expiry, `nbf` and scope, under the default policy.
pub fn verify(secret: &str, token: &str) -> Result<Claims, Refused> {
    verify_with(secret, token, &TokenPolicy::default())
}

/// Verifies signature (HS256 only), expiry, `nbf`, scope, and `policy`'s lifetime and revocations.
pub fn verify_with(secret: &str, token: &str, policy: &TokenPolicy) -> Result<Claims, Refused> {
    use jsonwebtoken::errors::ErrorKind;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature => Refused::Expired,
        ErrorKind::ImmatureSignature => Refused::NotYetValid,
        _ => Refused::Invalid,
    })?;
    let c = data.claims;
    let scoped = c
        .account
        .as_deref()
        .is_some_and(crate::accounts::valid_name);
    match c.scope.as_str() {
        ADMIN_SCOPE if c.account.is_none() => {}
        ACCOUNT_SCOPE if scoped => {}
        _ => return Err(Refused::Invalid),
    }
    let max = i64::try_from(policy.max_ttl.as_secs().saturating_add(LEEWAY)).unwrap_or(i64::MAX);
    let now = chrono::Utc::now().timestamp();
    if c.exp.saturating_sub(c.iat) > max || c.exp.saturating_sub(now) > max {
        return Err(Refused::TooLong);
    }
    if policy.not_before.is_some_and(|nb| c.iat < nb)
        || c.jti
            .as_ref()
            .is_some_and(|j| policy.revoked_ids.contains(j))
    {
        return Err(Refused::Revoked);
    }
    Ok(c)
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
                nbf: None,
                jti: None,
                account: None,
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
                nbf: None,
                jti: None,
                account: None,
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

    fn signed(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap()
    }

    #[test]
    fn lifetime_nbf_and_revocation_are_enforced() {
        let now = chrono::Utc::now().timestamp();
        let policy = TokenPolicy {
            max_ttl: Duration::from_secs(3600),
            not_before: Some(now - 100),
            revoked_ids: vec!["gone".into()],
        };
        let claims = |iat: i64, exp: i64, extra: serde_json::Value| {
            let mut c =
                serde_json::json!({"sub": "x", "iat": iat, "exp": exp, "scope": ADMIN_SCOPE});
            if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
                c.extend(e.clone());
            }
            signed(&c)
        };
        let ok = claims(now, now + 600, serde_json::json!({}));
        assert!(verify_with("s3cret", &ok, &policy).is_ok());
        let year_9999 = claims(now, 253_402_300_799, serde_json::json!({}));
        assert_eq!(
            verify_with("s3cret", &year_9999, &policy),
            Err(Refused::TooLong)
        );
        assert_eq!(
            verify("s3cret", &year_9999),
            Err(Refused::TooLong),
            "default maximum"
        );
        let future = claims(now, now + 600, serde_json::json!({"nbf": now + 300}));
        assert_eq!(
            verify_with("s3cret", &future, &policy),
            Err(Refused::NotYetValid)
        );
        let old = claims(now - 200, now + 600, serde_json::json!({}));
        assert_eq!(verify_with("s3cret", &old, &policy), Err(Refused::Revoked));
        let listed = claims(now, now + 600, serde_json::json!({"jti": "gone"}));
        assert_eq!(
            verify_with("s3cret", &listed, &policy),
            Err(Refused::Revoked)
        );
        assert!(mint_within("s3cret", "x", Duration::from_secs(3601), None, &policy).is_err());
        let minted = mint_within("s3cret", "x", Duration::from_secs(3600), None, &policy).unwrap();
        assert!(
            verify_with("s3cret", &minted, &policy)
                .unwrap()
                .jti
                .is_some()
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

    #[test]
    fn scoped_tokens_carry_their_account_and_a_scope_of_their_own() {
        let token = mint_scoped("s3cret", "ops", Duration::from_secs(60), Some("hopital")).unwrap();
        let c = verify("s3cret", &token).unwrap();
        assert_eq!(c.account(), Some("hopital"));
        assert_eq!(c.scope, ACCOUNT_SCOPE);
        let now = chrono::Utc::now().timestamp();
        // The admin scope with an account claim, or the account scope without one: refused.
        for (scope, account) in [(ADMIN_SCOPE, Some("hopital")), (ACCOUNT_SCOPE, None)] {
            let forged = Claims {
                sub: "x".into(),
                iat: now,
                exp: now + 60,
                scope: scope.into(),
                nbf: None,
                jti: None,
                account: account.map(str::to_string),
            };
            let t = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &forged,
                &EncodingKey::from_secret(b"s3cret"),
            )
            .unwrap();
            assert_eq!(
                verify("s3cret", &t),
                Err(Refused::Invalid),
                "{scope} {account:?}"
            );
        }
    }
}
