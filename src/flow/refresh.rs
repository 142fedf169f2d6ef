//! The refresh grant (RFC 6749 section 6), however it arrives: `/oauth2/token`, or the
//! Cognito API's `REFRESH_TOKEN_AUTH` and `GetTokensFromRefreshToken`. Rotation follows
//! the app client's `refresh_token_rotation` (interface.md section 5, Cognito's
//! `RefreshTokenRotation`):
//!
//! - off (the default, as Cognito's): the token stays valid until it expires or is
//!   revoked, and the answer carries no new `refresh_token`;
//! - on: each use rotates it; within `retry_grace_s` the previous token works once
//!   more (a client that lost the answer retries), and a used token presented after
//!   that revokes its whole family (RFC 9700 section 4.14.2).

use std::time::Duration;

use super::grant::{TokenResponse, invalid_grant};
use super::{Flow, FlowError, PoolCtx, split_scope};
use crate::hooks::{TokenOverrides, TokenSource};
use crate::model::{AppClient, RefreshState, RefreshTokenRecord};
use crate::secret::{random_token, sha256_hex};
use crate::store::EphemeralKind;
use crate::store::RotateOutcome;

impl Flow {
    /// Refreshes with `token` for `client` (already authenticated), optionally
    /// narrowing the scope. A disabled or deleted user, a revoked or expired token, or
    /// one of another client is `invalid_grant`, with nothing issued.
    pub async fn refresh_tokens(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        token: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, FlowError> {
        if token.is_empty() || token.len() > 256 {
            return Err(invalid_grant("the refresh token is invalid"));
        }
        let hash = sha256_hex(token);
        let pool = &ctx.pool.id;
        let current = self
            .store
            .get_refresh(pool, &hash)
            .await?
            .filter(|r| r.pool_id == *pool)
            .ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
        if current.client_id != client.client_id {
            return Err(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        let scope = narrow_scope(&current.scope, scope)?;
        let now = self.clock.now();
        let rotation = client.refresh_token_rotation;
        let live = current.state == RefreshState::Active && current.expires_at > now;

        if !rotation.enabled && live {
            let (user, identities) = self.active_user(pool, &current.user_id).await?;
            let overrides = self
                .refresh_overrides(ctx, client, (&user, &identities), &scope)
                .await?;
            return self
                .issue(
                    ctx,
                    client,
                    &user,
                    &identities,
                    &scope,
                    current.auth_time,
                    None,
                    &current.family_id,
                    overrides.as_ref(),
                )
                .await;
        }

        let new_token = random_token(32);
        let new = RefreshTokenRecord {
            token_hash: sha256_hex(&new_token),
            pool_id: pool.clone(),
            family_id: current.family_id.clone(),
            user_id: current.user_id.clone(),
            client_id: current.client_id.clone(),
            scope: scope.clone(),
            auth_time: current.auth_time,
            issued_at: now,
            expires_at: current.expires_at,
            state: RefreshState::Active,
        };

        if rotation.enabled
            && current.state == RefreshState::Used
            && current.expires_at > now
            && self
                .store
                .take(pool, EphemeralKind::RefreshGrace, &hash)
                .await?
                .is_some()
        {
            // The one retry of a just-rotated token: a new token in the same family.
            let user = self.active_user(pool, &current.user_id).await?;
            let overrides = self
                .refresh_overrides(ctx, client, (&user.0, &user.1), &scope)
                .await?;
            self.store.insert_refresh(&new).await?;
            if self.is_revoked(pool, &current.family_id).await? {
                self.store
                    .revoke_refresh_family(pool, &current.family_id)
                    .await?;
                return Err(invalid_grant("the refresh token is invalid"));
            }
            return self
                .finish(ctx, client, user, &current, &scope, new_token, overrides)
                .await;
        }

        // A disabled or deleted user cannot refresh. (A token that is not active is
        // refused by the rotation below, with reuse detection, whatever its user.)
        let user = if live {
            Some(self.active_user(pool, &current.user_id).await?)
        } else {
            None
        };
        // `TokenGeneration_RefreshTokens` runs before the rotation: a failed hook
        // leaves the presented token as it was and stores nothing.
        let overrides = match &user {
            Some((u, links)) => {
                self.refresh_overrides(ctx, client, (u, links), &scope)
                    .await?
            }
            None => None,
        };
        if live && rotation.retry_grace_s > 0 {
            // Set before the token turns `Used`, so a retry never finds it used without
            // its grace. It is spent only on a used token.
            self.store
                .put(
                    pool,
                    EphemeralKind::RefreshGrace,
                    &hash,
                    b"1",
                    Duration::from_secs(rotation.retry_grace_s.min(60)),
                )
                .await?;
        }
        match self.store.rotate_refresh(&hash, &new, now).await? {
            RotateOutcome::Rotated(_) => {}
            RotateOutcome::Reused(old) => {
                tracing::warn!(pool = %pool, "refresh token reused: family revoked");
                self.mark_revoked(pool, &old.family_id).await?;
                return Err(invalid_grant("the refresh token was already used"));
            }
            RotateOutcome::Invalid => return Err(invalid_grant("the refresh token is invalid")),
        }
        let user = match user {
            Some(u) => u,
            None => self.active_user(pool, &current.user_id).await?,
        };
        self.finish(ctx, client, user, &current, &scope, new_token, overrides)
            .await
    }

    /// The pre-token-generation hook's changes for a refresh (none without a hook).
    async fn refresh_overrides(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        (user, links): (&crate::model::User, &[crate::model::IdentityLink]),
        scope: &str,
    ) -> Result<Option<TokenOverrides>, FlowError> {
        self.token_overrides(
            ctx,
            &client.client_id,
            Some((user, links)),
            scope,
            TokenSource::RefreshTokens,
        )
        .await
        .map_err(|e| super::hooks::token_error(&e))
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        (user, identities): (crate::model::User, Vec<crate::model::IdentityLink>),
        current: &RefreshTokenRecord,
        scope: &str,
        new_token: String,
        overrides: Option<TokenOverrides>,
    ) -> Result<TokenResponse, FlowError> {
        let mut resp = self
            .issue(
                ctx,
                client,
                &user,
                &identities,
                scope,
                current.auth_time,
                None,
                &current.family_id,
                overrides.as_ref(),
            )
            .await?;
        resp.refresh_token = Some(new_token);
        Ok(resp)
    }
}

/// The scope of a refresh: the granted one, or a subset of it (RFC 6749 section 6).
fn narrow_scope(granted: &str, asked: Option<&str>) -> Result<String, FlowError> {
    let Some(asked) = asked else {
        return Ok(granted.to_owned());
    };
    let have = split_scope(granted);
    let want = split_scope(asked);
    if want.iter().any(|w| !have.contains(w)) {
        return Err(FlowError::oauth(
            400,
            "invalid_scope",
            "a refresh cannot widen the scope",
        ));
    }
    Ok(want.join(" "))
}
