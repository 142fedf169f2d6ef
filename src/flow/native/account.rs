//! The self-service operations a signed-in user calls with its access token
//! (`GetUser`, `GlobalSignOut`, `ChangePassword`, TOTP set-up, MFA preference) and the
//! refresh-token operations (`REFRESH_TOKEN_AUTH`, `GetTokensFromRefreshToken`,
//! `RevokeToken`), over the same checks as `/oauth2/userInfo` and `/oauth2/token`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ADMIN_SCOPE, AuthResult, NativeError, secret};
use crate::flow::grant::ClientAuth;
use crate::flow::{Flow, FlowError, PoolCtx};
use crate::model::{AppClient, User};
use crate::native::{policy, totp};
use crate::store::credentials::{TotpRecord, UserStatus};
use crate::token::AccessClaims;

/// A user as `GetUser` and `AdminGetUser` show it.
#[derive(Clone, Debug)]
pub struct UserView {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    pub status: UserStatus,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub mfa_totp: bool,
    /// `SMS_MFA` on.
    pub mfa_sms: bool,
    pub preferred_mfa: Option<&'static str>,
}

/// A user's attributes as Cognito lists them: every value a string.
pub fn user_attributes(user: &User) -> Vec<(String, String)> {
    let mut out = vec![("sub".to_owned(), user.id.clone())];
    if let Some(email) = &user.email {
        out.push(("email".into(), email.clone()));
        out.push(("email_verified".into(), user.email_verified.to_string()));
    }
    for (k, v) in &user.attributes {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        out.push((k.clone(), s));
    }
    out
}

/// The `userAttributes` parameter of `NEW_PASSWORD_REQUIRED` (a JSON string, without
/// `sub` and `email_verified` as Cognito sends it).
pub fn user_attributes_json(user: &User) -> String {
    let map: serde_json::Map<String, Value> = user_attributes(user)
        .into_iter()
        .filter(|(k, _)| k != "sub" && k != "email_verified")
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Value::Object(map).to_string()
}

fn invalid_token() -> NativeError {
    NativeError::NotAuthorized("Invalid Access Token".into())
}

fn oauth_to_native(e: FlowError) -> NativeError {
    match e {
        FlowError::OAuth { description, .. } if description.contains("disabled") => {
            NativeError::NotAuthorized("User is disabled.".into())
        }
        FlowError::OAuth {
            code: "invalid_client",
            ..
        } => NativeError::NotAuthorized("Client authentication failed.".into()),
        FlowError::OAuth { .. } => NativeError::NotAuthorized("Invalid Refresh Token".into()),
        other => NativeError::Flow(other),
    }
}

impl Flow {
    /// An access token of this pool, still honoured, carrying the user-pool API scope.
    pub async fn user_access(
        &self,
        ctx: &PoolCtx,
        token: &str,
    ) -> Result<(AccessClaims, User), NativeError> {
        if token.is_empty() || token.len() > 8192 {
            return Err(invalid_token());
        }
        let Some((claims, Some(user))) = self.check_access(ctx, token).await? else {
            return Err(invalid_token());
        };
        if !claims.scope.split(' ').any(|s| s == ADMIN_SCOPE) {
            return Err(NativeError::NotAuthorized(
                "Access Token does not have required scopes".into(),
            ));
        }
        Ok((claims, user))
    }

    /// A user as `GetUser` shows it.
    pub async fn user_view(&self, pool: &str, user: &User) -> Result<UserView, NativeError> {
        let cred = self.store.get_credential(pool, &user.id).await?;
        let mfa_totp = cred.as_ref().is_some_and(|c| c.totp_enabled);
        let mfa_sms = cred.as_ref().is_some_and(|c| c.sms_enabled);
        let preferred_mfa = match &cred {
            Some(c) if mfa_totp && c.totp_preferred => Some("SOFTWARE_TOKEN_MFA"),
            Some(c) if mfa_sms && c.sms_preferred => Some("SMS_MFA"),
            _ => None,
        };
        Ok(UserView {
            username: user.username.clone(),
            attributes: user_attributes(user),
            status: cred
                .as_ref()
                .map_or(UserStatus::ExternalProvider, |c| c.status),
            enabled: user.enabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
            mfa_totp,
            mfa_sms,
            preferred_mfa,
        })
    }

    /// `GetUser`.
    pub async fn get_user_by_token(
        &self,
        ctx: &PoolCtx,
        token: &str,
    ) -> Result<UserView, NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        self.user_view(&ctx.pool.id, &user).await
    }

    /// `GlobalSignOut`: every refresh token of the user revoked, and every access and
    /// ID token issued until now refused.
    pub async fn global_sign_out(&self, ctx: &PoolCtx, token: &str) -> Result<(), NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        self.sign_out_user(&ctx.pool.id, &user.id).await
    }

    /// Signs a user out everywhere: its refresh tokens revoked, and (by a partial
    /// update) every token issued before the end of this second refused.
    pub async fn sign_out_user(&self, pool: &str, user_id: &str) -> Result<(), NativeError> {
        self.store.revoke_user_refresh(pool, user_id).await?;
        let patch = crate::store::patch::UserPatch {
            tokens_valid_after: Some(self.clock.now() + 1),
            updated_at: Some(self.clock.now()),
            ..Default::default()
        };
        self.store
            .patch_user(pool, user_id, &patch)
            .await?
            .ok_or(NativeError::UserNotFound)?;
        Ok(())
    }

    /// `InitiateAuth` with `REFRESH_TOKEN_AUTH` (the client has no secret, or
    /// presented it with `SECRET_HASH` rules already checked).
    pub async fn refresh_auth(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        params: &BTreeMap<String, String>,
    ) -> Result<AuthResult, NativeError> {
        let token = params
            .get("REFRESH_TOKEN")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                NativeError::InvalidParameter("Missing required parameter REFRESH_TOKEN".into())
            })?;
        let username = params.get("USERNAME").map(String::as_str).unwrap_or("");
        self.check_secret_hash(
            client,
            username,
            params.get("SECRET_HASH").map(String::as_str),
        )?;
        self.refresh_with(ctx, client, token).await
    }

    async fn refresh_with(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        token: &str,
    ) -> Result<AuthResult, NativeError> {
        let mut form = BTreeMap::new();
        form.insert("refresh_token".to_owned(), token.to_owned());
        let resp = self
            .refresh_grant(ctx, client, &form)
            .await
            .map_err(oauth_to_native)?;
        Ok(AuthResult {
            access_token: resp.access_token,
            expires_in: resp.expires_in,
            token_type: "Bearer",
            refresh_token: resp.refresh_token,
            id_token: resp.id_token,
        })
    }

    /// `GetTokensFromRefreshToken`: the client proves its secret, if it has one.
    pub async fn tokens_from_refresh(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        client_secret: Option<&str>,
        token: &str,
    ) -> Result<AuthResult, NativeError> {
        let client = self.api_client(ctx, client_id, client_secret).await?;
        self.refresh_with(ctx, &client, token).await
    }

    /// `RevokeToken`: the refresh token's family and the access tokens issued in it.
    pub async fn revoke_refresh_token(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        client_secret: Option<&str>,
        token: &str,
    ) -> Result<(), NativeError> {
        let mut form = BTreeMap::new();
        form.insert("token".to_owned(), token.to_owned());
        form.insert("client_id".to_owned(), client_id.to_owned());
        if let Some(s) = client_secret {
            form.insert("client_secret".to_owned(), s.to_owned());
        }
        self.revoke(ctx, &form, &ClientAuth::default())
            .await
            .map_err(oauth_to_native)
    }

    /// A client of the pool, authenticated by its secret when it has one.
    pub async fn api_client(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<AppClient, NativeError> {
        let mut form = BTreeMap::new();
        form.insert("client_id".to_owned(), client_id.to_owned());
        if let Some(s) = client_secret {
            form.insert("client_secret".to_owned(), s.to_owned());
        }
        self.authenticate_client(ctx, &form, &ClientAuth::default())
            .await
            .map_err(oauth_to_native)
    }

    /// `ChangePassword`: the previous password proves the user; the new one must meet
    /// the policy.
    pub async fn change_password(
        &self,
        ctx: &PoolCtx,
        token: &str,
        previous: &str,
        proposed: &str,
        caller: &super::Caller,
    ) -> Result<(), NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        let pool = &ctx.pool.id;
        if let Some(v) = policy::violation(&ctx.pool.settings.password_policy, proposed) {
            return Err(NativeError::InvalidPassword(format!(
                "Password does not conform to policy: {v}"
            )));
        }
        let keys = super::throttle_keys(pool, &user.username, caller);
        self.check_throttle(&keys)?;
        let cred = self.store.get_credential(pool, &user.id).await?;
        let phc = cred
            .as_ref()
            .and_then(|c| c.password.as_ref())
            .map(|p| p.phc.clone());
        if !self
            .native
            .hasher
            .verify(phc.as_deref(), &secret(previous))
            .await?
        {
            self.record_failure(&keys);
            return Err(super::bad_credentials());
        }
        let record = self
            .password_record(pool, &user.username, proposed, None)
            .await?;
        let old = phc.unwrap_or_default();
        self.update_credential(pool, &user.id, |c| {
            // The password checked above must still be the current one.
            if c.password.as_ref().map(|p| p.phc.as_str()) != Some(old.as_str()) {
                return Err(super::bad_credentials());
            }
            c.password = Some(record.clone());
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `AssociateSoftwareToken`: a new TOTP secret, not yet verified. A verified
    /// authenticator stays in use (and MFA stays on) until a code of the new secret is
    /// verified: an access token alone never turns a user's second factor off.
    pub async fn associate_software_token(
        &self,
        ctx: &PoolCtx,
        token: &str,
    ) -> Result<String, NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        let secret_b32 = totp::new_secret();
        let s = secret_b32.clone();
        self.update_credential(&ctx.pool.id, &user.id, |c| {
            match c.totp.as_mut() {
                Some(t) if t.verified => t.pending_secret_b32 = Some(s.clone()),
                _ => {
                    c.totp = Some(TotpRecord {
                        secret_b32: s.clone(),
                        verified: false,
                        last_step: None,
                        pending_secret_b32: None,
                    });
                }
            }
            Ok(())
        })
        .await?;
        Ok(secret_b32)
    }

    /// `VerifySoftwareToken`: a code of the associated secret verifies it (and a
    /// pending replacement takes the place of the authenticator in use).
    pub async fn verify_software_token(
        &self,
        ctx: &PoolCtx,
        token: &str,
        code: &str,
    ) -> Result<(), NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        let now = self.clock.now();
        self.update_credential(&ctx.pool.id, &user.id, |c| {
            let t = c.totp.as_mut().ok_or(NativeError::EnableSoftwareTokenMfa)?;
            if let Some(pending) = t.pending_secret_b32.clone() {
                let step = totp::verify(&pending, code, now, None)
                    .ok_or(NativeError::EnableSoftwareTokenMfa)?;
                *t = TotpRecord {
                    secret_b32: pending,
                    verified: true,
                    last_step: Some(step),
                    pending_secret_b32: None,
                };
                return Ok(());
            }
            let step = totp::verify(&t.secret_b32, code, now, t.last_step)
                .ok_or(NativeError::EnableSoftwareTokenMfa)?;
            t.last_step = Some(step);
            t.verified = true;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `SetUserMFAPreference` with an access token (TOTP and SMS, see
    /// [`Flow::set_mfa_preference`]).
    pub async fn set_own_mfa_preference(
        &self,
        ctx: &PoolCtx,
        token: &str,
        totp: super::sms::MfaChoice,
        sms: super::sms::MfaChoice,
    ) -> Result<(), NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        self.set_mfa_preference(&ctx.pool, &user, totp, sms).await
    }
}
