//! `/oauth2/token` (RFC 6749 section 4.1.3, 4.4, 6): authorization_code with PKCE,
//! refresh_token (see `refresh.rs`), client_credentials, and the token exchange of
//! `exchange.rs`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::hooks::token_error;
use super::{CodeRecord, Flow, FlowError, PoolCtx, split_scope};
use crate::hooks::{TokenOverrides, TokenSource};
use crate::model::{AppClient, IdentityLink, OAuthFlow, RefreshState, RefreshTokenRecord, User};
use crate::secret::{constant_time_eq, random_token, s256, sha256_hex};
use crate::store::{EphemeralKind, Redeemed, Redemption};
use crate::token::{GroupRoles, UserTokenInput, issue_client_token_with, issue_user_tokens_with};

/// The successful token response (RFC 6749 section 5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8693 section 2.2.1, on a token-exchange answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// Client credentials as presented: HTTP Basic (RFC 6749 section 2.3.1) and/or form.
/// `Debug` shows the client id only.
#[derive(Clone, Default)]
pub struct ClientAuth {
    pub basic: Option<(String, String)>,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("basic_client_id", &self.basic.as_ref().map(|(id, _)| id))
            .finish()
    }
}

/// How long a used code is remembered, to revoke what it was exchanged for on a replay:
/// as long as the code itself could live. Past that, a replay is refused as an unknown
/// code (RFC 6749 section 4.1.2 asks to revoke "when possible").
const CODE_USED_TTL: std::time::Duration = super::CODE_TTL;

pub(super) fn invalid_grant(d: &str) -> FlowError {
    FlowError::oauth(400, "invalid_grant", d)
}

impl Flow {
    /// Authenticates the client of a token-style request. Public clients present only
    /// their id; confidential ones must prove their secret (constant-time compare).
    pub async fn authenticate_client(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        auth: &ClientAuth,
    ) -> Result<AppClient, FlowError> {
        let unauthorized =
            || FlowError::oauth(401, "invalid_client", "client authentication failed");
        let (id, secret) = match (&auth.basic, form.get("client_secret")) {
            (Some(_), Some(_)) => {
                return Err(FlowError::oauth(
                    400,
                    "invalid_request",
                    "use one client authentication method",
                ));
            }
            (Some((id, secret)), None) => {
                if form.get("client_id").is_some_and(|f| f != id) {
                    return Err(FlowError::oauth(
                        400,
                        "invalid_request",
                        "client_id differs from the authenticated client",
                    ));
                }
                (id.clone(), Some(secret.clone()))
            }
            (None, secret) => (
                form.get("client_id").cloned().ok_or_else(unauthorized)?,
                secret.cloned(),
            ),
        };
        if id.is_empty() || id.len() > 128 {
            return Err(unauthorized());
        }
        let client = self
            .store
            .get_client(&ctx.pool.id, &id)
            .await?
            .ok_or_else(unauthorized)?;
        // A confidential client authenticates with any of its current secrets.
        match (&client.secret_hash, secret) {
            (Some(_), Some(s)) if super::client_secrets::secret_matches(&client, &s) => Ok(client),
            (None, None) => Ok(client),
            _ => Err(unauthorized()),
        }
    }

    pub async fn token(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        auth: &ClientAuth,
    ) -> Result<TokenResponse, FlowError> {
        let grant = form
            .get("grant_type")
            .ok_or_else(|| FlowError::oauth(400, "invalid_request", "grant_type is required"))?
            .clone();
        let client = self.authenticate_client(ctx, form, auth).await?;
        let out = match grant.as_str() {
            "authorization_code" => self.code_grant(ctx, &client, form).await,
            "refresh_token" => self.refresh_grant(ctx, &client, form).await,
            "client_credentials" => self.client_credentials(ctx, &client, form).await,
            super::exchange::GRANT => self.token_exchange(ctx, &client, form).await,
            _ => Err(FlowError::oauth(
                400,
                "unsupported_grant_type",
                "unsupported grant_type",
            )),
        };
        self.metrics.grant(
            &grant_label(&grant),
            if out.is_ok() { "ok" } else { "error" },
        );
        out
    }

    async fn code_grant(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        form: &BTreeMap<String, String>,
    ) -> Result<TokenResponse, FlowError> {
        let code = form
            .get("code")
            .filter(|c| !c.is_empty() && c.len() <= 256)
            .ok_or_else(|| invalid_grant("code is required"))?;
        let code_hash = sha256_hex(code);
        let pool = &ctx.pool.id;
        let family = uuid::Uuid::new_v4().to_string();
        // Read and check the grant first. It is consumed below in one step with storing
        // the refresh token, before anything is signed: of two concurrent exchanges
        // exactly one gets the code, and the other finds the winner's family to revoke
        // (RFC 6749 4.1.2). A grant that fails a check is consumed at once.
        let Some(bytes) = self
            .store
            .get(pool, EphemeralKind::Code, &code_hash)
            .await?
        else {
            return Err(self.code_not_redeemable(pool, &code_hash, &family).await?);
        };
        let checked = match check_grant(client, form, &bytes) {
            Ok(rec) => self
                .active_user(pool, &rec.user_id)
                .await
                .map(|user| (rec, user)),
            Err(e) => Err(e),
        };
        let (rec, (user, identities)) = match checked {
            Ok(ok) => ok,
            Err(e) => {
                self.store
                    .take_and_put(
                        pool,
                        EphemeralKind::Code,
                        &code_hash,
                        EphemeralKind::CodeUsed,
                        &code_hash,
                        family.as_bytes(),
                        CODE_USED_TTL,
                    )
                    .await?;
                return Err(e);
            }
        };
        let now = self.clock.now().max(user.tokens_valid_after);
        let refresh_token = random_token(32);
        let refresh = RefreshTokenRecord {
            token_hash: sha256_hex(&refresh_token),
            pool_id: pool.clone(),
            family_id: family.clone(),
            user_id: user.id.clone(),
            client_id: client.client_id.clone(),
            scope: rec.scope.clone(),
            auth_time: rec.auth_time,
            issued_at: now,
            expires_at: now + client.refresh_token_validity_s as i64,
            state: RefreshState::Active,
        };
        let redeemed = self
            .store
            .redeem_code(&Redemption {
                pool,
                code_kind: EphemeralKind::Code,
                code_key: &code_hash,
                used_kind: EphemeralKind::CodeUsed,
                used_ttl: CODE_USED_TTL,
                revoked_kind: EphemeralKind::Revoked,
                refresh: &refresh,
            })
            .await?;
        match redeemed {
            Redeemed::Redeemed(_) => {}
            Redeemed::NotFound => {
                return Err(self.code_not_redeemable(pool, &code_hash, &family).await?);
            }
            Redeemed::RevokedMeanwhile => return Err(invalid_grant("the code was used twice")),
        }
        let mut resp = self
            .issue(
                ctx,
                client,
                &user,
                &identities,
                &rec.scope,
                rec.auth_time,
                rec.nonce.as_deref(),
                &family,
                rec.token_overrides.as_ref(),
            )
            .await?;
        resp.refresh_token = Some(refresh_token);
        Ok(resp)
    }

    /// The answer to a code that is gone. When it was exchanged before (a replay), the
    /// tokens of that exchange are revoked.
    async fn code_not_redeemable(
        &self,
        pool: &str,
        code_hash: &str,
        family: &str,
    ) -> Result<FlowError, FlowError> {
        if let Some(first) = self
            .store
            .get(pool, EphemeralKind::CodeUsed, code_hash)
            .await?
        {
            let first = String::from_utf8_lossy(&first).into_owned();
            if first != family {
                tracing::warn!(pool = %pool, "authorization code reused: revoking its tokens");
                self.revoke_family(pool, &first).await?;
            }
        }
        Ok(invalid_grant(
            "the code is invalid, expired or already used",
        ))
    }

    /// Revokes a token family: marks it first (access tokens, and a concurrent code
    /// exchange that checks after storing its refresh token), then its refresh tokens.
    async fn revoke_family(&self, pool: &str, family: &str) -> Result<(), FlowError> {
        self.mark_revoked(pool, family).await?;
        self.store.revoke_refresh_family(pool, family).await?;
        Ok(())
    }

    pub(super) async fn refresh_grant(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        form: &BTreeMap<String, String>,
    ) -> Result<TokenResponse, FlowError> {
        let token = form
            .get("refresh_token")
            .ok_or_else(|| invalid_grant("refresh_token is required"))?;
        self.refresh_tokens(ctx, client, token, form.get("scope").map(String::as_str))
            .await
    }

    async fn client_credentials(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        form: &BTreeMap<String, String>,
    ) -> Result<TokenResponse, FlowError> {
        if client.secret_hash.is_none()
            || !client
                .allowed_oauth_flows
                .contains(&OAuthFlow::ClientCredentials)
        {
            return Err(FlowError::oauth(
                400,
                "unauthorized_client",
                "client_credentials is not enabled for this client",
            ));
        }
        // Only resource-server scopes (`{identifier}/{name}`) are granted here.
        let allowed: Vec<&String> = client
            .allowed_scopes
            .iter()
            .filter(|s| s.contains('/'))
            .collect();
        let scope = match form.get("scope") {
            None => allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            Some(s) => {
                let want = split_scope(s);
                if want.is_empty() || want.iter().any(|w| !allowed.contains(&w)) {
                    return Err(FlowError::oauth(
                        400,
                        "invalid_scope",
                        "a requested scope is not allowed",
                    ));
                }
                want.join(" ")
            }
        };
        if scope.is_empty() {
            return Err(FlowError::oauth(
                400,
                "invalid_scope",
                "the client has no resource-server scopes",
            ));
        }
        // A V3_0 pre-token-generation hook sees machine-to-machine tokens too.
        let overrides = self
            .token_overrides(
                ctx,
                &client.client_id,
                None,
                &scope,
                TokenSource::ClientCredentials,
            )
            .await
            .map_err(|e| token_error(&e))?;
        let ring = self.ring(ctx).await?;
        let ttl = client.access_token_validity_s as i64;
        let customize = |kind, claims: &mut serde_json::Map<String, serde_json::Value>| {
            if let Some(o) = &overrides {
                o.apply(kind, claims);
            }
        };
        let issued = issue_client_token_with(
            &ring,
            &ctx.issuer,
            &client.client_id,
            &scope,
            ttl,
            self.clock.now(),
            &customize,
        )
        .map_err(|e| FlowError::internal("sign the client-credentials token", e))?;
        let scope = match &overrides {
            Some(o) => o.scope(&scope),
            None => scope,
        };
        Ok(TokenResponse {
            id_token: None,
            access_token: issued.access_token,
            refresh_token: None,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: Some(scope),
            issued_token_type: None,
        })
    }

    /// The user and its identity links, when it exists and is enabled; else
    /// `invalid_grant`.
    pub(super) async fn active_user(
        &self,
        pool: &str,
        user_id: &str,
    ) -> Result<(User, Vec<IdentityLink>), FlowError> {
        match self.store.get_user_with_identities(pool, user_id).await? {
            Some(mut u) if u.0.enabled => {
                // The pool's groups, as they are now (`cognito:groups`).
                u.0.groups =
                    crate::store::groups::user_group_names(self.store.as_ref(), pool, user_id)
                        .await?;
                Ok(u)
            }
            Some(_) => Err(invalid_grant("the user is disabled")),
            None => Err(invalid_grant("the user no longer exists")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn issue(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        identities: &[IdentityLink],
        scope: &str,
        auth_time: i64,
        nonce: Option<&str>,
        family: &str,
        overrides: Option<&TokenOverrides>,
    ) -> Result<TokenResponse, FlowError> {
        let ring = self.ring(ctx).await?;
        // A global sign-out cuts off every token issued before the end of its second
        // (`tokens_valid_after`, whole seconds like `iat`); tokens issued later in that
        // second are dated at the cut-off so that they are not born revoked.
        let now = self.clock.now().max(user.tokens_valid_after);
        // `cognito:roles` and `cognito:preferred_role` from the groups' `RoleArn`.
        let mut groups = self.store.groups_of_user(&ctx.pool.id, &user.id).await?;
        crate::store::groups::token_order(&mut groups);
        let roles =
            GroupRoles::from_groups(groups.iter().map(|g| (g.precedence, g.role_arn.as_deref())));

        let customize = |kind, claims: &mut serde_json::Map<String, serde_json::Value>| {
            if let Some(o) = overrides {
                o.apply(kind, claims);
            }
        };
        let issued = issue_user_tokens_with(
            &ring,
            &UserTokenInput {
                issuer: &ctx.issuer,
                user,
                identities,
                client_id: &client.client_id,
                scope,
                auth_time,
                nonce,
                origin_jti: family,
                id_ttl_s: client.id_token_validity_s as i64,
                access_ttl_s: client.access_token_validity_s as i64,
                roles: &roles,
                with_id_token: split_scope(scope).iter().any(|s| s == "openid"),
                now,
            },
            &customize,
        )
        .map_err(|e| FlowError::internal("sign the tokens", e))?;
        Ok(TokenResponse {
            id_token: issued.id_token,
            access_token: issued.access_token,
            refresh_token: None,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: Some(overrides.map_or_else(|| scope.to_owned(), |o| o.scope(scope))),
            issued_token_type: None,
        })
    }
}

/// The checks of RFC 6749 section 4.1.3 and RFC 7636 section 4.6 on a stored grant.
fn check_grant(
    client: &AppClient,
    form: &BTreeMap<String, String>,
    bytes: &[u8],
) -> Result<CodeRecord, FlowError> {
    let rec: CodeRecord = serde_json::from_slice(bytes)
        .map_err(|e| FlowError::internal("decode the code record", e))?;
    if rec.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if form.get("redirect_uri") != Some(&rec.redirect_uri) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&rec.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if verifier.len() < 43
                || verifier.len() > 128
                || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
            {
                return Err(invalid_grant("PKCE verification failed"));
            }
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(invalid_grant("no code_challenge was sent for this code"));
        }
        (None, None) => {}
    }
    Ok(rec)
}

fn grant_label(g: &str) -> String {
    match g {
        "authorization_code" | "refresh_token" | "client_credentials" => g.to_owned(),
        super::exchange::GRANT => "token_exchange".to_owned(),
        _ => "other".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::ClientAuth;

    #[test]
    fn debug_never_shows_the_client_secret() {
        let auth = ClientAuth {
            basic: Some(("app".into(), "s3cr3t-value".into())),
        };
        let shown = format!("{auth:?}");
        assert!(shown.contains("app"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
