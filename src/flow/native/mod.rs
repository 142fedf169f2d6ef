//! Sign-ins of native pool users through the Cognito API (`InitiateAuth`,
//! `RespondToAuthChallenge` and their admin twins): passwords, SRP, the
//! `NEW_PASSWORD_REQUIRED` and `SOFTWARE_TOKEN_MFA` challenges, then tokens issued as a
//! federated sign-in's are (see [`super::grant`]). The Cognito API and the hosted page
//! render these; neither holds a rule of its own.

mod account;
pub mod aliases;
mod api;
pub mod attributes;
mod challenge;
mod codes;
pub mod create;
pub mod deliver;
mod hooks;
pub mod hosted;
pub mod hosted_account;
pub mod mfa_setup;
pub mod signup;
pub mod sms;
mod srp_auth;
mod verify_attribute;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{Flow, FlowError, PoolCtx};
use crate::hooks::{Hooks, TokenSource, Trigger};
use crate::model::{AppClient, RefreshState, RefreshTokenRecord, User};
use crate::secret::{random_token, sha256_hex};
use crate::store::EphemeralKind;
use crate::store::credentials::{Credential, UserStatus};

pub use account::UserView;

/// The scope of tokens issued through the Cognito API: Cognito's own scope for the
/// user-pool API, with the OIDC scopes so that the ID token carries the attributes.
pub const API_SCOPE: &str = "openid email phone profile aws.cognito.signin.user.admin";
/// The scope the self-service operations (`GetUser`, `ChangePassword`, ...) require.
pub const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";
/// How long a challenge's `Session` lives (Cognito's default, 3 minutes).
pub const SESSION_TTL: Duration = Duration::from_secs(180);
/// Wrong TOTP codes allowed within one session.
const MAX_SESSION_ATTEMPTS: u32 = 5;

/// Errors of the native sign-in, named after Cognito's exceptions.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidPassword(String),
    #[error("User does not exist.")]
    UserNotFound,
    #[error("User account already exists")]
    UsernameExists,
    #[error("User is not confirmed.")]
    UserNotConfirmed,
    #[error("Password reset required for the user")]
    PasswordResetRequired,
    #[error("Invalid code received for user")]
    CodeMismatch,
    #[error("Invalid code provided, please request a code again.")]
    ExpiredCode,
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    CodeDeliveryFailure(String),
    #[error("Code mismatch")]
    EnableSoftwareTokenMfa,
    #[error("{0}")]
    Flow(#[from] FlowError),
    /// A hook failed or refused: Cognito's `UserLambdaValidationException`, ...
    #[error("{0}")]
    Hook(#[from] crate::hooks::HookError),
}

impl From<crate::store::StoreError> for NativeError {
    fn from(e: crate::store::StoreError) -> Self {
        NativeError::Flow(e.into())
    }
}

impl From<crate::native::password::PasswordError> for NativeError {
    fn from(e: crate::native::password::PasswordError) -> Self {
        NativeError::Flow(FlowError::internal("hash the password", e))
    }
}

pub(crate) fn bad_credentials() -> NativeError {
    NativeError::NotAuthorized("Incorrect username or password.".into())
}

/// Tokens of a finished sign-in (Cognito's `AuthenticationResultType`).
#[derive(Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResult {
    pub access_token: String,
    pub expires_in: i64,
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for AuthResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthResult")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The answer of `InitiateAuth` / `RespondToAuthChallenge`: tokens, or the next
/// challenge.
#[derive(Clone, Debug)]
pub enum AuthOutcome {
    Tokens(AuthResult),
    /// A hosted sign-in passed every step: the flow issues its authorization code
    /// (whose hooks run as a federated sign-in's do).
    Authenticated {
        user: Box<User>,
        auth_time: i64,
    },
    Challenge {
        name: &'static str,
        session: Option<String>,
        parameters: BTreeMap<String, String>,
    },
}

/// Where a request comes from (for throttling) and what it hands the hooks.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub ip: Option<IpAddr>,
    /// The request's `ClientMetadata`: `validationData` of `PreAuthentication` and
    /// `UserMigration`, `clientMetadata` of the later triggers (as Cognito passes it).
    pub metadata: Option<crate::hooks::StringMap>,
}

/// A challenge in progress, stored under the hash of its `Session`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    challenge: String,
    client_id: String,
    user_id: String,
    username: String,
    auth_time: i64,
    #[serde(default)]
    attempts: u32,
    /// The sign-in replaced a temporary password (`TokenGeneration_NewPasswordChallenge`).
    #[serde(default)]
    new_password: bool,
    /// Begun on the hosted page: it ends with a code, and only that page (which keeps
    /// the session server-side) may continue it.
    #[serde(default)]
    hosted: bool,
    /// `SMS_MFA`: the hash of the code sent, and when it stops being good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_expires_at: Option<i64>,
}

/// The password a request presents, never logged.
pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

impl Flow {
    /// The pool's user by username (Cognito usernames are case-insensitive by
    /// default: an exact match first, then the lower-cased form).
    pub(crate) async fn native_user(
        &self,
        pool: &str,
        username: &str,
    ) -> Result<Option<(User, Option<Credential>)>, NativeError> {
        if username.is_empty() || username.len() > 128 {
            return Ok(None);
        }
        let Some(user) = aliases::user_by_sign_in_name(&self.store, pool, username).await? else {
            return Ok(None);
        };
        let cred = self.store.get_credential(pool, &user.id).await?;
        Ok(Some((user, cred)))
    }

    /// Checks `SECRET_HASH` (Base64 HMAC-SHA256 of username + client id, keyed by the
    /// client secret) for a client with a secret, against each of its current sealed
    /// secrets.
    pub(crate) fn check_secret_hash(
        &self,
        client: &AppClient,
        username: &str,
        presented: Option<&str>,
    ) -> Result<(), NativeError> {
        if client.secret_records().is_empty() {
            return Ok(());
        }
        let Some(presented) = presented else {
            return Err(NativeError::NotAuthorized(format!(
                "Client {} is configured with secret but SECRET_HASH was not received",
                client.client_id
            )));
        };
        // Any current secret proves the client (at most two during a rotation). A client
        // stored before secrets were sealed has only a digest: it cannot be checked.
        let proved = self.client_secrets(client).iter().fold(false, |ok, s| {
            crate::native::secret_hash_matches(s.expose(), username, &client.client_id, presented)
                | ok
        });
        if proved {
            Ok(())
        } else {
            Err(NativeError::NotAuthorized(format!(
                "Unable to verify secret hash for client {}",
                client.client_id
            )))
        }
    }

    /// Starts a challenge: a random `Session` whose hash keys the stored record.
    async fn new_session(&self, pool: &str, rec: &SessionRecord) -> Result<String, NativeError> {
        let session = random_token(48);
        let bytes = serde_json::to_vec(rec)
            .map_err(|e| FlowError::internal("encode the sign-in session", e))?;
        self.store
            .put(
                pool,
                EphemeralKind::NativeSession,
                &sha256_hex(&session),
                &bytes,
                SESSION_TTL,
            )
            .await?;
        Ok(session)
    }

    /// Consumes a session of `challenge` for `client`.
    async fn take_session(
        &self,
        pool: &str,
        session: Option<&str>,
        challenge: &str,
        client: &AppClient,
        hosted: bool,
    ) -> Result<(String, SessionRecord), NativeError> {
        let invalid = || NativeError::NotAuthorized("Invalid session for the user.".into());
        let session = session
            .filter(|s| !s.is_empty() && s.len() <= 512)
            .ok_or_else(invalid)?;
        let key = sha256_hex(session);
        let bytes = self
            .store
            .take(pool, EphemeralKind::NativeSession, &key)
            .await?
            .ok_or_else(invalid)?;
        let rec: SessionRecord = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if rec.challenge != challenge || rec.client_id != client.client_id || rec.hosted != hosted {
            return Err(invalid());
        }
        Ok((key, rec))
    }

    /// After the password (or SRP proof) was right: the user's status decides what
    /// comes next.
    async fn after_password(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        cred: &Credential,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        if !user.enabled {
            return Err(NativeError::NotAuthorized("User is disabled.".into()));
        }
        let now = self.clock.now();
        match cred.status {
            UserStatus::Unconfirmed => return Err(NativeError::UserNotConfirmed),
            UserStatus::ResetRequired => return Err(NativeError::PasswordResetRequired),
            UserStatus::ExternalProvider => return Err(bad_credentials()),
            UserStatus::ForceChangePassword => {
                if cred
                    .password
                    .as_ref()
                    .and_then(|p| p.expires_at)
                    .is_some_and(|t| t <= now)
                {
                    return Err(NativeError::NotAuthorized(
                        "Temporary password has expired and must be reset by an administrator."
                            .into(),
                    ));
                }
                let rec = SessionRecord {
                    challenge: "NEW_PASSWORD_REQUIRED".into(),
                    client_id: client.client_id.clone(),
                    user_id: user.id.clone(),
                    username: user.username.clone(),
                    auth_time: now,
                    attempts: 0,
                    new_password: true,
                    hosted,
                    code_hash: None,
                    code_expires_at: None,
                };
                let session = self.new_session(&ctx.pool.id, &rec).await?;
                let mut parameters = BTreeMap::new();
                parameters.insert("USER_ID_FOR_SRP".into(), user.username.clone());
                parameters.insert("requiredAttributes".into(), "[]".into());
                parameters.insert("userAttributes".into(), account::user_attributes_json(user));
                return Ok(AuthOutcome::Challenge {
                    name: "NEW_PASSWORD_REQUIRED",
                    session: Some(session),
                    parameters,
                });
            }
            UserStatus::Confirmed => {}
        }
        self.mfa_or_tokens(ctx, client, user, cred, now, false, caller, hosted)
            .await
    }

    /// A confirmed user with a second factor on gets its challenge (`SMS_MFA`,
    /// `SOFTWARE_TOKEN_MFA`, or `SELECT_MFA_TYPE` to pick one, see [`sms`]), one
    /// without in a pool that requires MFA `MFA_SETUP` ([`mfa_setup`]); else tokens.
    #[allow(clippy::too_many_arguments)]
    async fn mfa_or_tokens(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        cred: &Credential,
        auth_time: i64,
        new_password: bool,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        if let Some(name) = sms::mfa_due(&ctx.pool, user, cred) {
            return self
                .begin_mfa(
                    ctx,
                    client,
                    user,
                    cred,
                    name,
                    auth_time,
                    new_password,
                    caller,
                    hosted,
                )
                .await;
        }
        if hosted {
            return Ok(AuthOutcome::Authenticated {
                user: Box::new(user.clone()),
                auth_time,
            });
        }
        let source = if new_password {
            TokenSource::NewPasswordChallenge
        } else {
            TokenSource::Authentication
        };
        Ok(AuthOutcome::Tokens(
            self.native_tokens(ctx, client, user, auth_time, source, caller)
                .await?,
        ))
    }

    /// Issues tokens for a native sign-in: the post-authentication and pre-token hooks
    /// first (a failure issues nothing), then a new refresh-token family, then the ID
    /// and access tokens exactly as a code exchange issues them.
    pub(crate) async fn native_tokens(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        auth_time: i64,
        source: TokenSource,
        caller: &Caller,
    ) -> Result<AuthResult, NativeError> {
        let (user, identities) = self.active_user(&ctx.pool.id, &user.id).await?;
        let overrides = self
            .native_hooks_before_tokens(
                ctx,
                client,
                &user,
                &identities,
                API_SCOPE,
                source,
                caller.metadata.as_ref(),
            )
            .await?;
        let now = self.clock.now().max(user.tokens_valid_after);
        let family = uuid::Uuid::new_v4().to_string();
        let refresh_token = random_token(32);
        self.store
            .insert_refresh(&RefreshTokenRecord {
                token_hash: sha256_hex(&refresh_token),
                pool_id: ctx.pool.id.clone(),
                family_id: family.clone(),
                user_id: user.id.clone(),
                client_id: client.client_id.clone(),
                scope: API_SCOPE.into(),
                auth_time,
                issued_at: now,
                expires_at: now + client.refresh_token_validity_s as i64,
                state: RefreshState::Active,
            })
            .await?;
        let resp = self
            .issue(
                ctx,
                client,
                &user,
                &identities,
                API_SCOPE,
                auth_time,
                None,
                &family,
                overrides.as_ref(),
            )
            .await?;
        Ok(AuthResult {
            access_token: resp.access_token,
            expires_in: resp.expires_in,
            token_type: "Bearer",
            refresh_token: Some(refresh_token),
            id_token: resp.id_token,
        })
    }

    /// `USER_PASSWORD_AUTH` and `ADMIN_USER_PASSWORD_AUTH`. A known user meets the
    /// `PreAuthentication` hook before its password is checked; an unknown one may be
    /// brought in by the `UserMigration` hook.
    pub async fn password_auth(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        params: &BTreeMap<String, String>,
        caller: &Caller,
    ) -> Result<AuthOutcome, NativeError> {
        let username = params.get("USERNAME").ok_or_else(|| {
            NativeError::InvalidParameter("Missing required parameter USERNAME".into())
        })?;
        let password = params.get("PASSWORD").ok_or_else(|| {
            NativeError::InvalidParameter("Missing required parameter PASSWORD".into())
        })?;
        self.check_secret_hash(
            client,
            username,
            params.get("SECRET_HASH").map(String::as_str),
        )?;
        self.password_sign_in(ctx, client, username, password, caller, false)
            .await
    }

    /// The password step every interface shares: throttling, the hooks, the same
    /// answer (and the same work) for an unknown user and a wrong password, then the
    /// user's status. `hosted`: the hosted page's sign-in, which ends with a code.
    pub(crate) async fn password_sign_in(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        password: &str,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let pool = &ctx.pool.id;
        let keys = throttle_keys(pool, username, caller);
        self.check_throttle(&keys)?;
        let found = self.native_user(pool, username).await?;
        if found.is_none() && !username.is_empty() {
            match self
                .migrate_on_sign_in(ctx, client, username, password, caller.metadata.as_ref())
                .await?
            {
                Some(user) => {
                    // The hook vouched for the password: the user is signed in.
                    self.record_success(&keys);
                    let cred = self
                        .store
                        .get_credential(pool, &user.id)
                        .await?
                        .ok_or_else(bad_credentials)?;
                    self.pre_authentication(
                        ctx,
                        client,
                        &user,
                        cred.status,
                        caller.metadata.as_ref(),
                    )
                    .await?;
                    return self
                        .after_password(ctx, client, &user, &cred, caller, hosted)
                        .await;
                }
                None if Hooks::has(&ctx.pool, Trigger::UserMigration) => {
                    self.pre_authentication_unknown(
                        ctx,
                        client,
                        username,
                        caller.metadata.as_ref(),
                    )
                    .await?;
                    self.record_failure(&keys);
                    return Err(bad_credentials());
                }
                None => {}
            }
        }
        match &found {
            Some((user, Some(cred))) => {
                self.pre_authentication(ctx, client, user, cred.status, caller.metadata.as_ref())
                    .await?;
                // An imported user, or one an admin reset, must first set a new password
                // by a mailed code, whatever password is presented (as Cognito answers).
                if cred.status == UserStatus::ResetRequired && user.enabled {
                    return Err(NativeError::PasswordResetRequired);
                }
            }
            Some((_, None)) => {}
            None => {
                self.pre_authentication_unknown(ctx, client, username, caller.metadata.as_ref())
                    .await?;
            }
        }
        let phc = found
            .as_ref()
            .and_then(|(_, c)| c.as_ref())
            .and_then(|c| c.password.as_ref())
            .map(|p| p.phc.as_str());
        let ok = self.native.hasher.verify(phc, &secret(password)).await?;
        match found {
            Some((user, Some(cred))) if ok => {
                self.record_success(&keys);
                self.after_password(ctx, client, &user, &cred, caller, hosted)
                    .await
            }
            _ => {
                self.record_failure(&keys);
                Err(bad_credentials())
            }
        }
    }

    /// Refuses an attempt while its user or address is being slowed down.
    pub(crate) fn check_throttle(&self, keys: &ThrottleKeys) -> Result<(), NativeError> {
        let now = std::time::Instant::now();
        let user = self.native.users.wait(&keys.user, now);
        let addr = keys
            .address
            .as_ref()
            .map_or(Duration::ZERO, |a| self.native.addresses.wait(a, now));
        if !user.is_zero() || !addr.is_zero() {
            return Err(NativeError::NotAuthorized(
                "Password attempts exceeded".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn record_failure(&self, keys: &ThrottleKeys) {
        let now = std::time::Instant::now();
        self.native.users.failed(&keys.user, now);
        if let Some(a) = &keys.address {
            self.native.addresses.failed(a, now);
        }
    }

    pub(crate) fn record_success(&self, keys: &ThrottleKeys) {
        self.native.users.succeeded(&keys.user);
    }
}

/// The throttle keys of an attempt: the user (by pool and lower-cased name) and the
/// caller's address when known.
pub(crate) struct ThrottleKeys {
    user: String,
    address: Option<String>,
}

pub(crate) fn throttle_keys(pool: &str, username: &str, caller: &Caller) -> ThrottleKeys {
    ThrottleKeys {
        user: format!("{pool}:{}", username.to_ascii_lowercase()),
        address: caller.ip.map(|i| i.to_string()),
    }
}
