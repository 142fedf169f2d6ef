//! `RespondToAuthChallenge`: `NEW_PASSWORD_REQUIRED` (a temporary password replaced)
//! and `SOFTWARE_TOKEN_MFA` (a TOTP code, each time step good once); the
//! `PASSWORD_VERIFIER` step of SRP is in `srp_auth.rs`, `SMS_MFA` and
//! `SELECT_MFA_TYPE` in `sms.rs`, `MFA_SETUP` in `mfa_setup.rs`.

use std::collections::BTreeMap;

use super::{AuthOutcome, Caller, MAX_SESSION_ATTEMPTS, NativeError, SESSION_TTL};
use crate::flow::{Flow, PoolCtx};
use crate::model::AppClient;
use crate::native::{policy, totp};
use crate::store::EphemeralKind;
use crate::store::credentials::{Credential, PasswordRecord, UserStatus};

/// A challenge or auth parameter that must be present and not empty.
pub(super) fn required<'a>(
    r: &'a BTreeMap<String, String>,
    name: &str,
) -> Result<&'a str, NativeError> {
    r.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| NativeError::InvalidParameter(format!("Missing required parameter {name}")))
}

impl Flow {
    /// Answers one challenge of a sign-in in progress.
    pub async fn respond_to_challenge(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        challenge: &str,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
    ) -> Result<AuthOutcome, NativeError> {
        match challenge {
            "PASSWORD_VERIFIER" => self.password_verifier(ctx, client, responses, caller).await,
            "NEW_PASSWORD_REQUIRED" => {
                self.new_password_required(ctx, client, session, responses, caller, false)
                    .await
            }
            "SOFTWARE_TOKEN_MFA" => {
                self.software_token_mfa(ctx, client, session, responses, caller, false)
                    .await
            }
            "SMS_MFA" => {
                self.sms_mfa(ctx, client, session, responses, caller, false)
                    .await
            }
            "SELECT_MFA_TYPE" => {
                self.select_mfa_type(ctx, client, session, responses, caller, false)
                    .await
            }
            super::mfa_setup::MFA_SETUP => {
                self.mfa_setup_answer(ctx, client, session, responses, caller, false)
                    .await
            }
            _ => Err(NativeError::InvalidParameter(
                "The challenge name is not supported.".into(),
            )),
        }
    }

    pub(super) async fn new_password_required(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let new_password = required(responses, "NEW_PASSWORD")?;
        let username = required(responses, "USERNAME")?;
        if !hosted {
            self.check_secret_hash(
                client,
                username,
                responses.get("SECRET_HASH").map(String::as_str),
            )?;
        }
        let pool = &ctx.pool.id;
        // Checked before the session is consumed: a password the policy refuses can be
        // retried within the same session.
        if let Some(v) = policy::violation(&ctx.pool.settings.password_policy, new_password) {
            return Err(NativeError::InvalidPassword(format!(
                "Password does not conform to policy: {v}"
            )));
        }
        let (_, rec) = self
            .take_session(pool, session, "NEW_PASSWORD_REQUIRED", client, hosted)
            .await?;
        if !rec.username.eq_ignore_ascii_case(username) {
            return Err(NativeError::NotAuthorized(
                "Invalid session for the user.".into(),
            ));
        }
        let password = self
            .password_record(pool, &rec.username, new_password, None)
            .await?;
        let cred = self
            .update_credential(pool, &rec.user_id, |c| {
                if c.status != UserStatus::ForceChangePassword {
                    return Err(NativeError::NotAuthorized(
                        "Invalid session for the user.".into(),
                    ));
                }
                c.status = UserStatus::Confirmed;
                c.password = Some(password.clone());
                Ok(())
            })
            .await?;
        let (user, _) = self.active_user(pool, &rec.user_id).await?;
        self.mfa_or_tokens(
            ctx,
            client,
            &user,
            &cred,
            rec.auth_time,
            true,
            caller,
            hosted,
        )
        .await
    }

    pub(super) async fn software_token_mfa(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let code = required(responses, "SOFTWARE_TOKEN_MFA_CODE")?.to_owned();
        let pool = &ctx.pool.id;
        let (key, mut rec) = self
            .take_session(pool, session, "SOFTWARE_TOKEN_MFA", client, hosted)
            .await?;
        let now = self.clock.now();
        let accepted = self
            .update_credential(pool, &rec.user_id, |c| {
                let t = c
                    .totp
                    .as_mut()
                    .filter(|t| t.verified)
                    .ok_or(NativeError::CodeMismatch)?;
                let step = totp::verify(&t.secret_b32, &code, now, t.last_step)
                    .ok_or(NativeError::CodeMismatch)?;
                t.last_step = Some(step);
                Ok(())
            })
            .await;
        let cred = match accepted {
            Ok(c) => c,
            Err(NativeError::CodeMismatch) => {
                rec.attempts += 1;
                if rec.attempts < MAX_SESSION_ATTEMPTS {
                    let bytes = serde_json::to_vec(&rec).map_err(|e| {
                        crate::flow::FlowError::internal("encode the challenge record", e)
                    })?;
                    self.store
                        .put(
                            pool,
                            EphemeralKind::NativeSession,
                            &key,
                            &bytes,
                            SESSION_TTL,
                        )
                        .await?;
                }
                return Err(NativeError::CodeMismatch);
            }
            Err(e) => return Err(e),
        };
        let _ = cred;
        self.finish_mfa(ctx, client, &rec, caller, hosted).await
    }

    /// The stored form of a new password: its Argon2id hash and the SRP salt and
    /// verifier for `username` in the pool. Both run off the async runtime.
    pub(crate) async fn password_record(
        &self,
        pool: &str,
        username: &str,
        password: &str,
        expires_at: Option<i64>,
    ) -> Result<PasswordRecord, NativeError> {
        let phc = self.native.hasher.hash(&super::secret(password)).await?;
        let salt = crate::native::srp::new_salt();
        let (name, user, pw, s) = (
            crate::native::srp::pool_name(pool).to_owned(),
            username.to_owned(),
            super::secret(password),
            salt.clone(),
        );
        let verifier = tokio::task::spawn_blocking(move || {
            use secrecy::ExposeSecret;
            crate::native::srp::verifier(&name, &user, pw.expose_secret(), &s)
        })
        .await
        .map_err(|e| crate::flow::FlowError::internal("compute the SRP verifier", e))?;
        Ok(PasswordRecord {
            phc,
            srp_salt_hex: salt,
            srp_verifier_hex: verifier,
            set_at: self.clock.now(),
            expires_at,
        })
    }

    /// Changes a user's credential with `f`, compare-and-set on its version (re-read
    /// and re-applied when a concurrent write came first). A user without one
    /// (federated) is `UserNotFound` to these operations.
    pub(crate) async fn update_credential(
        &self,
        pool: &str,
        user_id: &str,
        f: impl Fn(&mut Credential) -> Result<(), NativeError>,
    ) -> Result<Credential, NativeError> {
        for _ in 0..8 {
            let Some(mut cred) = self.store.get_credential(pool, user_id).await? else {
                return Err(NativeError::UserNotFound);
            };
            let expected = cred.version;
            f(&mut cred)?;
            cred.updated_at = self.clock.now();
            if self.store.put_credential(&cred, Some(expected)).await? {
                cred.version = expected + 1;
                return Ok(cred);
            }
        }
        Err(NativeError::Flow(crate::flow::FlowError::Unavailable))
    }
}
