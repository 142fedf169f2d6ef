//! Tokens presented back to poolgate: `/oauth2/userInfo`, `/oauth2/revoke` (RFC 7009),
//! `/oauth2/introspect` (RFC 7662), and `/logout`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use url::Url;

use super::grant::ClientAuth;
use super::{Flow, FlowError, PoolCtx};
use crate::model::{RefreshState, User};
use crate::secret::sha256_hex;
use crate::token::claims::narrowed;
use crate::token::{AccessClaims, as_string, identities_claim, released_attributes, verify_access};

/// Query of `/logout` (Cognito's).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LogoutParams {
    pub client_id: Option<String>,
    pub logout_uri: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
}

impl Flow {
    /// Verifies an access token of this pool and that it is still honoured: not
    /// revoked (itself or its family), and its user exists, is enabled and was not
    /// signed out after it was issued. Client tokens have no user.
    pub async fn check_access(
        &self,
        ctx: &PoolCtx,
        token: &str,
    ) -> Result<Option<(AccessClaims, Option<User>)>, FlowError> {
        let ring = self.ring(ctx).await?;
        let Ok(claims) = verify_access(&ring, token, &ctx.issuer, self.clock.now()) else {
            return Ok(None);
        };
        let pool = &ctx.pool.id;
        if self.is_revoked(pool, &claims.jti).await? {
            return Ok(None);
        }
        if let Some(family) = &claims.origin_jti
            && self.is_revoked(pool, family).await?
        {
            return Ok(None);
        }
        // The tokens of a deleted app client die with it.
        if self
            .store
            .get_client(pool, &claims.client_id)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        if claims.sub == claims.client_id && claims.username.is_none() {
            return Ok(Some((claims, None)));
        }
        match self.store.get_user(pool, &claims.sub).await? {
            Some(u) if u.enabled && claims.iat >= u.tokens_valid_after => {
                Ok(Some((claims, Some(u))))
            }
            _ => Ok(None),
        }
    }

    /// OIDC Core 5.3 as Cognito answers it: `sub`, `username` and the attributes the
    /// token's scopes release, every value a string (`"email_verified": "true"`), for
    /// an access token with the `openid` scope.
    pub async fn userinfo(&self, ctx: &PoolCtx, token: &str) -> Result<Value, FlowError> {
        let invalid = || {
            FlowError::oauth(
                401,
                "invalid_token",
                "the access token is invalid or expired",
            )
        };
        let (claims, user) = self.check_access(ctx, token).await?.ok_or_else(invalid)?;
        let user = user.ok_or_else(invalid)?;
        if !claims.scope.split(' ').any(|s| s == "openid") {
            return Err(FlowError::oauth(
                403,
                "insufficient_scope",
                "the access token lacks the openid scope",
            ));
        }
        let mut out = Map::new();
        out.insert("sub".into(), json!(user.id));
        for (k, v) in released_attributes(&user, &claims.scope) {
            out.insert(k, as_string(&v));
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        if !narrowed(&scopes) {
            let links = self.store.list_identities(&ctx.pool.id, &user.id).await?;
            if !links.is_empty() {
                out.insert("identities".into(), as_string(&identities_claim(&links)));
            }
        }
        out.insert("username".into(), json!(user.username));
        Ok(Value::Object(out))
    }

    /// RFC 7009: revokes a refresh token (its whole family, and the access tokens issued
    /// in it) or an access token. Unknown or foreign tokens are answered the same way.
    pub async fn revoke(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        auth: &ClientAuth,
    ) -> Result<(), FlowError> {
        let client = self.authenticate_client(ctx, form, auth).await?;
        let token = form
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| FlowError::oauth(400, "invalid_request", "token is required"))?;
        let pool = &ctx.pool.id;
        if token.len() <= 256
            && let Some(r) = self
                .store
                .get_refresh(&ctx.pool.id, &sha256_hex(token))
                .await?
        {
            if r.pool_id == *pool && r.client_id == client.client_id {
                self.store.revoke_refresh_family(pool, &r.family_id).await?;
                self.mark_revoked(pool, &r.family_id).await?;
            }
            return Ok(());
        }
        if let Some((claims, _)) = self.check_access(ctx, token).await?
            && claims.client_id == client.client_id
        {
            self.mark_revoked(pool, &claims.jti).await?;
        }
        Ok(())
    }

    /// RFC 7662: whether a token is active. Only an authenticated confidential client
    /// may ask (section 2.1: a public client proves nothing, so anyone holding its id
    /// could probe stolen tokens), and only about its own tokens: another client's is
    /// `{"active": false}` (section 4: no token scanning).
    pub async fn introspect(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        auth: &ClientAuth,
    ) -> Result<Value, FlowError> {
        let client = self.authenticate_client(ctx, form, auth).await?;
        if client.secret_hash.is_none() {
            return Err(FlowError::oauth(
                401,
                "invalid_client",
                "introspection needs a confidential client",
            ));
        }
        let mine = client.client_id.as_str();
        let token = form
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| FlowError::oauth(400, "invalid_request", "token is required"))?;
        let refresh_first =
            form.get("token_type_hint").map(String::as_str) == Some("refresh_token");
        let inactive = json!({"active": false});
        let as_refresh = || async {
            if token.len() > 256 {
                return Ok::<_, FlowError>(None);
            }
            let Some(r) = self
                .store
                .get_refresh(&ctx.pool.id, &sha256_hex(token))
                .await?
            else {
                return Ok(None);
            };
            let now = self.clock.now();
            if r.pool_id != ctx.pool.id
                || r.client_id != mine
                || r.state != RefreshState::Active
                || r.expires_at <= now
            {
                return Ok(Some(json!({"active": false})));
            }
            let user = self.store.get_user(&ctx.pool.id, &r.user_id).await?;
            let Some(user) = user.filter(|u| u.enabled) else {
                return Ok(Some(json!({"active": false})));
            };
            Ok(Some(json!({
                "active": true, "token_type": "refresh_token", "client_id": r.client_id,
                "scope": r.scope, "sub": r.user_id, "username": user.username,
                "iat": r.issued_at, "exp": r.expires_at, "iss": ctx.issuer,
            })))
        };
        if refresh_first && let Some(v) = as_refresh().await? {
            return Ok(v);
        }
        if let Some((c, user)) = self.check_access(ctx, token).await?
            && c.client_id == mine
        {
            let mut v = json!({
                "active": true, "token_type": "access_token", "client_id": c.client_id,
                "scope": c.scope, "sub": c.sub, "iat": c.iat, "exp": c.exp, "iss": c.iss,
                "jti": c.jti, "token_use": "access",
            });
            if let Some(u) = user {
                v["username"] = json!(u.username);
            }
            return Ok(v);
        }
        if !refresh_first && let Some(v) = as_refresh().await? {
            return Ok(v);
        }
        Ok(inactive)
    }

    /// Cognito's `/logout`: to a registered `logout_uri`, or back to `/login` with
    /// `redirect_uri` + `response_type`. Anything unregistered is an error page.
    ///
    /// poolgate keeps no browser session of its own (every `/oauth2/authorize` goes
    /// upstream), so there is no local session to end here. Hook for SAML single
    /// logout (`idp_signout`): the SAML work adds an optional provider capability
    /// (a small trait beside `Provider`, like upstream refresh) that turns the URL
    /// returned here into a LogoutRequest to the IdP, with this URL as the place to
    /// continue to once the IdP's LogoutResponse comes back.
    pub async fn logout(&self, ctx: &PoolCtx, p: &LogoutParams) -> Result<Url, FlowError> {
        let client_id = p
            .client_id
            .as_deref()
            .ok_or_else(|| FlowError::page(400, "The request has no client_id."))?;
        let client = self
            .store
            .get_client(&ctx.pool.id, client_id)
            .await?
            .ok_or_else(|| FlowError::page(400, "The app client is not known to this pool."))?;
        if let Some(uri) = &p.logout_uri {
            if !client.logout_urls.iter().any(|u| u == uri) {
                return Err(FlowError::page(
                    400,
                    "The logout_uri is not registered for this app client.",
                ));
            }
            return Url::parse(uri)
                .map_err(|_| FlowError::page(400, "The logout_uri is not a valid URL."));
        }
        if let (Some(redirect), Some(rt)) = (&p.redirect_uri, &p.response_type) {
            if !client.callback_urls.iter().any(|u| u == redirect) {
                return Err(FlowError::page(
                    400,
                    "The redirect_uri is not registered for this app client.",
                ));
            }
            let mut login = ctx.endpoint("/login");
            {
                let mut q = login.query_pairs_mut();
                q.append_pair("client_id", client_id);
                q.append_pair("redirect_uri", redirect);
                q.append_pair("response_type", rt);
                if let Some(s) = &p.state {
                    q.append_pair("state", s);
                }
                if let Some(s) = &p.scope {
                    q.append_pair("scope", s);
                }
            }
            return Ok(login);
        }
        Err(FlowError::page(
            400,
            "The request needs logout_uri, or redirect_uri and response_type.",
        ))
    }
}
