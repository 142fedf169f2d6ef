//! The console's sign-in through a pool (`POOLGATE_CONSOLE_POOL`): the console is an
//! OAuth 2.0 client of that pool, through the pool's own `/oauth2/authorize` (and so
//! its hosted page: any of its providers, or a password) with a built-in public client
//! ([`CONSOLE_CLIENT_ID`]; authorization code, PKCE S256, `state` and `nonce`). The
//! answer is bound to the browser that began it (the hash of a cookie's value is kept
//! with the state) and used once; its code is exchanged in-process, the ID token
//! verified (signature by the pool's keys, issuer, audience, nonce, expiry), and only
//! a member of the console group, enabled, gets a console session. The tokens are
//! never kept or logged: the refresh token is revoked at once.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::builtin_client::CodeFlow;
use super::error::{AdminError, AdminResult};
use super::service::Admin;
use super::sessions::{ConsoleMember, ConsoleSession};
use crate::config::ConsoleAccess;
use crate::flow::PoolCtx;
use crate::model::{CONSOLE_CLIENT_ID, NATIVE_PROVIDER};
use crate::secret::{constant_time_eq, random_token};
use crate::store::EphemeralKind;
use crate::token::{SigningKey, jws};

/// How long a sign-in may take at the pool (and its provider).
pub const SIGN_IN_TTL_S: u64 = 600;
/// Group members checked for a password when the client's providers are chosen.
const NATIVE_CHECK_LIMIT: usize = 100;

/// Where the browser goes to sign in, and the value of the cookie binding the answer to
/// that browser.
pub use super::builtin_client::SignInStart as ConsoleSignInStart;

/// A sign-in waiting for its answer, stored under the hash of its `state`.
#[derive(Serialize, Deserialize)]
struct Pending {
    #[serde(flatten)]
    flow: CodeFlow,
    group: String,
    nonce: String,
}

/// Why an answer opened no console session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not the answer to a sign-in begun in this browser and still waiting: unknown,
    /// expired, already used, another browser's, or begun under other settings.
    State,
    /// The pool's sign-in answered with this error code (the user cancelled, the
    /// provider refused, ...).
    Upstream(String),
    /// The code could not be exchanged, or the ID token did not verify.
    Token,
    /// Signed in as this user, who is not an enabled member of the console group.
    NotMember(String),
}

/// The end of a console sign-in through a pool (no `Debug`: it holds a session id).
pub enum ConsoleSignIn {
    /// A session: its cookie value and the session.
    Opened(String, ConsoleSession),
    Refused(Refusal),
}

fn ttl() -> Duration {
    Duration::from_secs(SIGN_IN_TTL_S)
}

/// An error code as the answer carries it, when it looks like one (else `error`).
fn error_code(e: &str) -> String {
    if (1..=64).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        e.to_owned()
    } else {
        "error".to_owned()
    }
}

/// The claims of an ID token of the console's client: signed by one of the pool's
/// published keys, for `issuer`, to [`CONSOLE_CLIENT_ID`], with `nonce`, not expired.
/// `Err` names the check that failed (never the token).
fn verify_id_token<'k>(
    find: impl FnOnce(&str) -> Option<&'k SigningKey>,
    token: &str,
    issuer: &str,
    nonce: &str,
    now: i64,
) -> Result<serde_json::Map<String, Value>, &'static str> {
    let (header, payload) = jws::verify(token, find).map_err(|_| "signature")?;
    if header.get("typ").and_then(Value::as_str) != Some("JWT") {
        return Err("typ");
    }
    let Value::Object(claims) = payload else {
        return Err("payload");
    };
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    if text("iss") != issuer {
        return Err("iss");
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == CONSOLE_CLIENT_ID,
        Some(Value::Array(a)) => a.len() == 1 && a[0] == CONSOLE_CLIENT_ID,
        _ => false,
    };
    if !aud_ok {
        return Err("aud");
    }
    if text("token_use") != "id" {
        return Err("token_use");
    }
    if !constant_time_eq(text("nonce").as_bytes(), nonce.as_bytes()) {
        return Err("nonce");
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|e| e <= now)
    {
        return Err("exp");
    }
    if text("sub").is_empty() {
        return Err("sub");
    }
    Ok(claims)
}

impl Admin {
    /// The console's client in `access.pool`, made or brought up to date: every
    /// provider of the pool, and `COGNITO` (the password form) when a member of the
    /// console group is a native user; `redirect_uri` among its callback URLs.
    async fn console_client(&self, access: &ConsoleAccess, redirect_uri: &str) -> AdminResult<()> {
        let pool = &access.pool;
        let mut providers: Vec<String> = self
            .store
            .list_providers(pool)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let members = self.store.group_members(pool, &access.group).await?;
        for id in members.iter().take(NATIVE_CHECK_LIMIT) {
            if self.store.get_credential(pool, id).await?.is_some() {
                providers.push(NATIVE_PROVIDER.to_owned());
                break;
            }
        }
        if providers.is_empty() {
            return Err(AdminError::Conflict(format!(
                "the pool {pool} has no identity provider and no member of the group {} has a password, so nobody could sign in through it; sign in with the admin token and add one",
                access.group
            )));
        }
        self.builtin_client(
            pool,
            CONSOLE_CLIENT_ID,
            "poolgate console",
            redirect_uri,
            providers,
        )
        .await?;
        Ok(())
    }

    /// Begins a console sign-in through the pool of `ctx` (its domain `base` and
    /// issuer), coming back to `redirect_uri` (the console's callback).
    pub async fn begin_console_sign_in(
        &self,
        ctx: &PoolCtx,
        access: &ConsoleAccess,
        redirect_uri: &str,
    ) -> AdminResult<ConsoleSignInStart> {
        self.console_client(access, redirect_uri).await?;
        let begun = CodeFlow::begin(ctx, redirect_uri);
        let pending = Pending {
            flow: begun.flow,
            group: access.group.clone(),
            nonce: random_token(24),
        };
        self.keep_sign_in(EphemeralKind::ConsoleSignIn, &begun.state, &pending, ttl())
            .await?;
        let authorize =
            pending
                .flow
                .authorize_url(ctx, CONSOLE_CLIENT_ID, &begun.state, &pending.nonce, &[]);
        Ok(ConsoleSignInStart {
            authorize,
            state: begun.state,
            binding: begun.binding,
        })
    }

    /// Finishes the console sign-in whose answer (`code` or `error`, and `state`) came
    /// back in a browser whose binding cookie is `binding`, under the console's current
    /// `access`. The state is used once, whatever the outcome.
    pub async fn finish_console_sign_in(
        &self,
        params: &BTreeMap<String, String>,
        binding: Option<&str>,
        access: &ConsoleAccess,
    ) -> AdminResult<ConsoleSignIn> {
        let refused = |r| Ok(ConsoleSignIn::Refused(r));
        let state = params.get("state").map(String::as_str).unwrap_or("");
        let Some(p) = self
            .take_sign_in::<Pending>(EphemeralKind::ConsoleSignIn, state)
            .await?
        else {
            return refused(Refusal::State);
        };
        if !p.flow.bound(binding) || p.flow.pool != access.pool || p.group != access.group {
            tracing::warn!("console sign-in: an answer not bound to this browser was refused");
            return refused(Refusal::State);
        }
        if let Some(e) = params.get("error") {
            return refused(Refusal::Upstream(error_code(e)));
        }
        let Some(code) = params.get("code") else {
            return refused(Refusal::Upstream("error".to_owned()));
        };
        let pool = self.pool(&p.flow.pool).await?;
        let alg = pool.settings.signing_alg;
        let ctx = p.flow.ctx(pool)?;
        // The console keeps no pool tokens: the refresh token is revoked at once.
        let tokens = match self
            .exchange_code(&ctx, CONSOLE_CLIENT_ID, &p.flow, code)
            .await
        {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "console sign-in: the code exchange failed");
                return refused(Refusal::Token);
            }
        };
        let ring = self
            .keys
            .ring(&p.flow.pool, alg)
            .await
            .map_err(|e| AdminError::unavailable("keys unavailable", e))?;
        let id_token = tokens.id_token.as_deref().unwrap_or("");
        let now = self.clock.now();
        let claims =
            match verify_id_token(|k| ring.find(k), id_token, &p.flow.issuer, &p.nonce, now) {
                Ok(c) => c,
                Err(check) => {
                    tracing::warn!(check, "console sign-in: the ID token did not verify");
                    return refused(Refusal::Token);
                }
            };
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
        let username = claims
            .get("cognito:username")
            .and_then(Value::as_str)
            .unwrap_or(sub)
            .to_owned();
        let in_claims = claims
            .get("cognito:groups")
            .and_then(Value::as_array)
            .is_some_and(|g| g.iter().any(|n| n.as_str() == Some(p.group.as_str())));
        let valid_from = match self.store.get_user(&p.flow.pool, sub).await? {
            Some(u) => now.max(u.tokens_valid_after),
            None => now,
        };
        let member = ConsoleMember {
            pool: p.flow.pool.clone(),
            group: p.group.clone(),
            sub: sub.to_owned(),
            username: username.clone(),
            valid_from,
        };
        // The token says so, and so does the store (a pre-token hook may rewrite the
        // token's groups; membership is the store's).
        if !in_claims || !self.member_may_use_console(&member, Some(access)).await? {
            tracing::warn!(pool = %p.flow.pool, username = %username, "console sign-in refused: not a member of the console group");
            return refused(Refusal::NotMember(username));
        }
        tracing::info!(pool = %p.flow.pool, username = %username, "console sign-in through the pool");
        let (id, session) = self.open_console_session_for(Some(member)).await?;
        Ok(ConsoleSignIn::Opened(id, session))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::SigningAlg;
    use crate::token::TokenType;

    #[test]
    fn id_tokens_are_checked_claim_by_claim() {
        let (key, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
        let (other, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
        let good = json!({"iss": "https://login.acme.com", "aud": CONSOLE_CLIENT_ID,
            "token_use": "id", "nonce": "n-1", "exp": 2000, "sub": "u-1"});
        let check = |k: &SigningKey, typ, claims: &Value, nonce: &str| {
            let t = k.sign(typ, claims).unwrap();
            verify_id_token(
                |kid| (kid == key.kid).then_some(&key),
                &t,
                "https://login.acme.com",
                nonce,
                1000,
            )
        };
        let ok = check(&key, TokenType::Jwt, &good, "n-1").unwrap();
        assert_eq!(ok["sub"], "u-1");
        assert_eq!(
            check(&key, TokenType::Jwt, &good, "n-2").err(),
            Some("nonce")
        );
        assert_eq!(
            check(&other, TokenType::Jwt, &good, "n-1").err(),
            Some("signature")
        );
        assert_eq!(
            check(&key, TokenType::AccessToken, &good, "n-1").err(),
            Some("typ")
        );
        for (claim, value, failed) in [
            ("iss", json!("https://evil.example"), "iss"),
            ("aud", json!("another-client"), "aud"),
            ("aud", json!([CONSOLE_CLIENT_ID, "another-client"]), "aud"),
            ("token_use", json!("access"), "token_use"),
            ("exp", json!(1000), "exp"),
            ("sub", json!(""), "sub"),
        ] {
            let mut c = good.clone();
            c[claim] = value;
            assert_eq!(
                check(&key, TokenType::Jwt, &c, "n-1").err(),
                Some(failed),
                "{claim}"
            );
        }
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check(&key, TokenType::Jwt, &c, "n-1").err(), Some("nonce"));
    }

    #[test]
    fn error_codes_are_codes() {
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(error_code("<script>"), "error");
        assert_eq!(error_code(""), "error");
    }
}
