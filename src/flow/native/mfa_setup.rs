//! `MFA_SETUP`, as Cognito's: in a pool whose `MfaConfiguration` is `ON`, a native user
//! with no second factor gets this challenge after the password (or the SRP proof, or
//! a new password), with `MFAS_CAN_SETUP` and a `Session`. The session (no access
//! token yet) then drives `AssociateSoftwareToken` (a new TOTP secret, a new session),
//! `VerifySoftwareToken` (a code of that secret registers it, a new session) and the
//! `MFA_SETUP` answer (`USERNAME`), which makes TOTP the user's enabled and preferred
//! factor and finishes the sign-in. Each session is good once, for one user, client
//! and pool, for [`SESSION_TTL`]; a wrong code changes nothing (five per session).
//!
//! The two operations name neither pool nor client, so these sessions live in one
//! namespace of their own and carry their pool.

use std::collections::BTreeMap;
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use url::Url;

use super::sms::{SMS_MFA, SOFTWARE_TOKEN_MFA};
use super::{AuthOutcome, Caller, MAX_SESSION_ATTEMPTS, NativeError, SESSION_TTL, SessionRecord};
use crate::flow::{Flow, FlowError, PoolCtx};
use crate::hooks::{Hooks, Trigger};
use crate::model::{AppClient, Pool, User};
use crate::native::totp;
use crate::secret::{random_token, sha256_hex};
use crate::store::EphemeralKind;
use crate::store::credentials::TotpRecord;

pub const MFA_SETUP: &str = "MFA_SETUP";
/// The ephemeral namespace of set-up sessions (not a pool id: those have no `_` first).
const NAMESPACE: &str = "_mfa_setup";

/// Where a set-up session stands: what it may be used for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    /// From the sign-in: `AssociateSoftwareToken`.
    Begun,
    /// A secret handed out: `VerifySoftwareToken` (or another `AssociateSoftwareToken`).
    Associated,
    /// The secret registered: the `MFA_SETUP` answer.
    Verified,
}

/// A set-up session, stored under the hash of its `Session`.
#[derive(Clone, Serialize, Deserialize)]
struct SetupRecord {
    pool_id: String,
    client_id: String,
    user_id: String,
    username: String,
    auth_time: i64,
    new_password: bool,
    hosted: bool,
    stage: Stage,
    /// The secret being set up (from `Associated` on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_b32: Option<String>,
    #[serde(default)]
    attempts: u32,
    expires_at: i64,
}

impl std::fmt::Debug for SetupRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupRecord")
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .field("stage", &self.stage)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// What the hosted page shows to set up an authenticator: the secret, and the same as
/// an `otpauth://` URI (Google's Key Uri Format) that authenticator apps open.
#[derive(Clone)]
pub struct TotpSetup {
    pub secret: String,
    pub uri: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup(..)")
    }
}

fn invalid() -> NativeError {
    NativeError::NotAuthorized("Invalid session for the user.".into())
}

fn expired() -> NativeError {
    NativeError::NotAuthorized("Invalid session for the user, session is expired.".into())
}

/// `MFAS_CAN_SETUP`: the factors the pool offers, as a JSON array in a string (as
/// Cognito sends it). SMS only with a sender hook: poolgate sends no SMS itself.
pub fn can_set_up(pool: &Pool) -> String {
    let mut out = Vec::new();
    if pool.settings.sms_mfa_offered() && Hooks::has(pool, Trigger::CustomSmsSender) {
        out.push(SMS_MFA);
    }
    if pool.settings.totp_mfa_offered() {
        out.push(SOFTWARE_TOKEN_MFA);
    }
    serde_json::Value::from(out).to_string()
}

/// The `otpauth://totp/ISSUER:USER?secret=..&issuer=..` URI of a secret; the issuer is
/// the pool's name.
pub fn otpauth_uri(pool: &Pool, username: &str, secret: &str) -> Option<String> {
    let issuer = pool.settings.name.as_deref().unwrap_or(&pool.id);
    let mut u = Url::parse("otpauth://totp/").ok()?;
    u.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push(&format!("{issuer}:{username}"));
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    u.set_query(Some(&format!(
        "secret={}&issuer={}&algorithm=SHA1&digits=6&period={}",
        enc(secret),
        enc(issuer),
        totp::STEP_S
    )));
    Some(u.to_string())
}

/// The hosted page's view of a set-up in progress.
pub fn setup_view(pool: &Pool, username: &str, secret: Option<&str>) -> Option<TotpSetup> {
    let secret = secret.filter(|s| !s.is_empty())?;
    Some(TotpSetup {
        secret: secret.to_owned(),
        uri: otpauth_uri(pool, username, secret)?,
    })
}

impl Flow {
    /// Stores `rec` under a new session, which it returns.
    async fn put_setup(&self, rec: &SetupRecord) -> Result<String, NativeError> {
        let session = random_token(48);
        let bytes = serde_json::to_vec(rec)
            .map_err(|e| FlowError::internal("mfa setup: encode the session", e))?;
        let left = Duration::from_secs((rec.expires_at - self.clock.now()).max(1) as u64);
        self.store
            .put(
                NAMESPACE,
                EphemeralKind::NativeSession,
                &sha256_hex(&session),
                &bytes,
                left,
            )
            .await?;
        Ok(session)
    }

    /// Takes (consumes) a set-up session at one of `stages`; its key and record.
    async fn take_setup(
        &self,
        session: Option<&str>,
        stages: &[Stage],
        hosted: bool,
    ) -> Result<(String, SetupRecord), NativeError> {
        let session = session
            .filter(|s| !s.is_empty() && s.len() <= 2048)
            .ok_or_else(invalid)?;
        let key = sha256_hex(session);
        let bytes = self
            .store
            .take(NAMESPACE, EphemeralKind::NativeSession, &key)
            .await?
            .ok_or_else(invalid)?;
        let rec: SetupRecord = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if !stages.contains(&rec.stage) || rec.hosted != hosted {
            return Err(invalid());
        }
        if rec.expires_at <= self.clock.now() {
            return Err(expired());
        }
        Ok((key, rec))
    }

    /// The `MFA_SETUP` challenge for a user who passed the password step at
    /// `auth_time` and has no second factor, in a pool that requires one.
    pub(super) async fn begin_mfa_setup(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        auth_time: i64,
        new_password: bool,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let rec = SetupRecord {
            pool_id: ctx.pool.id.clone(),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            auth_time,
            new_password,
            hosted,
            stage: Stage::Begun,
            secret_b32: None,
            attempts: 0,
            expires_at: self.clock.now() + SESSION_TTL.as_secs() as i64,
        };
        let session = self.put_setup(&rec).await?;
        let mut parameters = BTreeMap::new();
        parameters.insert("MFAS_CAN_SETUP".into(), can_set_up(&ctx.pool));
        parameters.insert("USER_ID_FOR_SRP".into(), user.username.clone());
        Ok(AuthOutcome::Challenge {
            name: MFA_SETUP,
            session: Some(session),
            parameters,
        })
    }

    /// `AssociateSoftwareToken` with a set-up `Session`: a new secret (kept in the
    /// session until verified; the user's record is not touched) and a new session.
    pub async fn associate_software_token_in_setup(
        &self,
        session: Option<&str>,
        hosted: bool,
    ) -> Result<(String, String), NativeError> {
        let (_, mut rec) = self
            .take_setup(session, &[Stage::Begun, Stage::Associated], hosted)
            .await?;
        let pool = self
            .store
            .get_pool(&rec.pool_id)
            .await?
            .ok_or_else(invalid)?;
        if !pool.settings.totp_mfa_offered() {
            return Err(NativeError::InvalidParameter(
                "Software token MFA is not enabled for this user pool.".into(),
            ));
        }
        self.active_user(&rec.pool_id, &rec.user_id).await?;
        let secret = totp::new_secret();
        rec.stage = Stage::Associated;
        rec.secret_b32 = Some(secret.clone());
        rec.attempts = 0;
        rec.expires_at = self.clock.now() + SESSION_TTL.as_secs() as i64;
        let session = self.put_setup(&rec).await?;
        Ok((secret, session))
    }

    /// `VerifySoftwareToken` with the session `AssociateSoftwareToken` gave: a right code
    /// registers the secret as the user's authenticator (that time step spent) and
    /// answers a new session for the `MFA_SETUP` answer. A wrong code changes nothing
    /// and keeps the session for another try (five in all).
    pub async fn verify_software_token_in_setup(
        &self,
        session: Option<&str>,
        code: &str,
        hosted: bool,
    ) -> Result<String, NativeError> {
        let (key, mut rec) = self
            .take_setup(session, &[Stage::Associated], hosted)
            .await?;
        let secret = rec.secret_b32.clone().ok_or_else(invalid)?;
        let now = self.clock.now();
        let Some(step) = totp::verify(&secret, code.trim(), now, None) else {
            rec.attempts += 1;
            if rec.attempts < MAX_SESSION_ATTEMPTS {
                let bytes = serde_json::to_vec(&rec)
                    .map_err(|e| FlowError::internal("mfa setup: encode the session", e))?;
                let left = Duration::from_secs((rec.expires_at - now).max(1) as u64);
                self.store
                    .put(NAMESPACE, EphemeralKind::NativeSession, &key, &bytes, left)
                    .await?;
            }
            return Err(NativeError::EnableSoftwareTokenMfa);
        };
        self.active_user(&rec.pool_id, &rec.user_id).await?;
        self.update_credential(&rec.pool_id, &rec.user_id, |c| {
            c.totp = Some(TotpRecord {
                secret_b32: secret.clone(),
                verified: true,
                last_step: Some(step),
                pending_secret_b32: None,
            });
            Ok(())
        })
        .await?;
        rec.stage = Stage::Verified;
        rec.attempts = 0;
        rec.expires_at = now + SESSION_TTL.as_secs() as i64;
        self.put_setup(&rec).await
    }

    /// The `MFA_SETUP` answer with the session `VerifySoftwareToken` gave, for the same
    /// pool, client and user: TOTP becomes the user's enabled and preferred factor, and
    /// the sign-in ends (tokens, or the hosted page's code).
    pub(super) async fn mfa_setup_answer(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let username = super::challenge::required(responses, "USERNAME")?;
        if !hosted {
            self.check_secret_hash(
                client,
                username,
                responses.get("SECRET_HASH").map(String::as_str),
            )?;
        }
        let (_, rec) = self.take_setup(session, &[Stage::Verified], hosted).await?;
        if rec.pool_id != ctx.pool.id || rec.client_id != client.client_id {
            return Err(invalid());
        }
        // `USERNAME` names the session's user: its username, or the email it signs in
        // with in a pool whose users sign in with their email.
        let same_user = rec.username.eq_ignore_ascii_case(username)
            || super::aliases::user_by_sign_in_name(&self.store, &rec.pool_id, username)
                .await?
                .is_some_and(|u| u.id == rec.user_id);
        if !same_user {
            return Err(invalid());
        }
        let secret = rec.secret_b32.clone().ok_or_else(invalid)?;
        self.update_credential(&rec.pool_id, &rec.user_id, |c| {
            // The authenticator verified in this session must still be the user's.
            if !c
                .totp
                .as_ref()
                .is_some_and(|t| t.verified && t.secret_b32 == secret)
            {
                return Err(invalid());
            }
            c.totp_enabled = true;
            c.totp_preferred = true;
            c.sms_preferred = false;
            Ok(())
        })
        .await?;
        let done = SessionRecord {
            challenge: MFA_SETUP.into(),
            client_id: rec.client_id,
            user_id: rec.user_id,
            username: rec.username,
            auth_time: rec.auth_time,
            attempts: 0,
            new_password: rec.new_password,
            hosted,
            code_hash: None,
            code_expires_at: None,
        };
        self.finish_mfa(ctx, client, &done, caller, hosted).await
    }
}

impl Flow {
    /// The hosted page's first set-up step: a secret to show at once (and the session
    /// for the code). A pool that does not offer TOTP ends the sign-in with a page.
    pub(super) async fn hosted_setup_secret(
        &self,
        ctx: &PoolCtx,
        session: Option<&str>,
    ) -> Result<(String, String), FlowError> {
        match self.associate_software_token_in_setup(session, true).await {
            Ok(v) => Ok(v),
            Err(NativeError::Flow(e)) => Err(e),
            Err(e) => {
                tracing::info!(pool = %ctx.pool.id, error = %e, "hosted MFA_SETUP: no factor this page can set up");
                Err(FlowError::page(
                    400,
                    "Your account needs a second sign-in step that this page cannot set up. Ask your administrator.",
                ))
            }
        }
    }

    /// The hosted page's code: it verifies the secret, then the `MFA_SETUP` answer
    /// ends the sign-in. A wrong code keeps the step (the session stays).
    pub(super) async fn hosted_mfa_setup(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        session: Option<&str>,
        code: &str,
        username: &str,
        caller: &Caller,
    ) -> Result<AuthOutcome, NativeError> {
        let next = self
            .verify_software_token_in_setup(session, code, true)
            .await?;
        let mut r = BTreeMap::new();
        r.insert("USERNAME".to_owned(), username.to_owned());
        self.mfa_setup_answer(ctx, client, Some(&next), &r, caller, true)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::sms;
    use super::*;
    use crate::model::{MfaConfiguration, PoolSettings, SoftwareTokenMfaConfig};
    use crate::store::credentials::Credential;
    use serde_json::Value;

    /// A confirmed user's credential with a registered authenticator, on or off.
    fn cred(totp_on: bool) -> Credential {
        crate::store::credentials::confirmed_with_factors(totp_on, false)
    }

    #[test]
    fn with_mfa_on_a_user_without_a_factor_sets_one_up() {
        let mut pool = Pool {
            id: "p".into(),
            settings: PoolSettings::default(),
            created_at: 0,
            hook_secret: None,
        };
        pool.settings.mfa_configuration = MfaConfiguration::On;
        let mut u = User::new("p", "u".into(), 0);
        let mut none = cred(false);
        none.totp = None;
        assert_eq!(sms::mfa_due(&pool, &u, &none), Some(MFA_SETUP));
        // A registered authenticator turned off still counts when it is the only one.
        assert_eq!(
            sms::mfa_due(&pool, &u, &cred(false)),
            Some(SOFTWARE_TOKEN_MFA)
        );
        // A verified phone with a sender hook is asked by SMS, as Cognito does.
        u.attributes
            .insert("phone_number".into(), Value::String("+12065551234".into()));
        u.attributes
            .insert("phone_number_verified".into(), Value::String("true".into()));
        assert_eq!(sms::mfa_due(&pool, &u, &none), Some(MFA_SETUP));
        pool.settings.hooks = serde_json::from_value(serde_json::json!({
            "CustomSMSSender": {"LambdaVersion": "V1_0", "LambdaArn": "https://hooks.example/sms"}
        }))
        .unwrap();
        assert_eq!(sms::mfa_due(&pool, &u, &none), Some(SMS_MFA));
        // A pool that offers TOTP only never asks by SMS.
        pool.settings.software_token_mfa_configuration =
            Some(crate::model::SoftwareTokenMfaConfig { enabled: true });
        assert_eq!(sms::mfa_due(&pool, &u, &none), Some(MFA_SETUP));
    }

    #[test]
    fn on_and_optional_need_a_factor_the_pool_offers() {
        let mut s = PoolSettings {
            mfa_configuration: MfaConfiguration::On,
            ..PoolSettings::default()
        };
        assert!(
            sms::mfa_problems(&s).is_empty(),
            "a pool stored before offers both"
        );
        s.software_token_mfa_configuration =
            Some(crate::model::SoftwareTokenMfaConfig { enabled: false });
        assert_eq!(sms::mfa_problems(&s).len(), 1);
        s.mfa_configuration = MfaConfiguration::Off;
        assert!(sms::mfa_problems(&s).is_empty());
        s.mfa_configuration = MfaConfiguration::Optional;
        s.sms_mfa_configuration = Some(crate::model::SmsMfaConfig {
            sms_authentication_message: Some("no placeholder".into()),
            sms_configuration: None,
        });
        assert_eq!(
            sms::mfa_problems(&s).len(),
            1,
            "{:?}",
            sms::mfa_problems(&s)
        );
    }

    fn pool() -> Pool {
        Pool {
            id: "eu-west-1_AbC".into(),
            settings: PoolSettings {
                name: Some("Acme Staff".into()),
                mfa_configuration: MfaConfiguration::On,
                ..PoolSettings::default()
            },
            created_at: 0,
            hook_secret: None,
        }
    }

    #[test]
    fn the_uri_follows_the_key_uri_format() {
        let uri = otpauth_uri(&pool(), "carol smith", "JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Staff:carol%20smith?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Staff&algorithm=SHA1&digits=6&period=30"
        );
        let parsed = Url::parse(&uri).unwrap();
        assert_eq!(parsed.scheme(), "otpauth");
        assert_eq!(parsed.host_str(), Some("totp"));
    }

    #[test]
    fn a_label_cannot_smuggle_query_parameters() {
        let uri = otpauth_uri(&pool(), "eve?secret=AAAA&x=/", "JBSWY3DPEHPK3PXP").unwrap();
        let parsed = Url::parse(&uri).unwrap();
        let secrets: Vec<_> = parsed
            .query_pairs()
            .filter(|(k, _)| k == "secret")
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(secrets, ["JBSWY3DPEHPK3PXP"]);
    }

    #[test]
    fn the_factors_that_can_be_set_up_are_the_pools() {
        let mut p = pool();
        assert_eq!(can_set_up(&p), r#"["SOFTWARE_TOKEN_MFA"]"#);
        p.settings.software_token_mfa_configuration =
            Some(SoftwareTokenMfaConfig { enabled: false });
        p.settings.sms_mfa_configuration = Some(Default::default());
        // SMS needs a sender hook.
        assert_eq!(can_set_up(&p), "[]");
        p.settings.hooks = serde_json::from_value(serde_json::json!({
            "CustomSMSSender": {"LambdaVersion": "V1_0", "LambdaArn": "https://hooks.example/sms"}
        }))
        .unwrap();
        assert_eq!(can_set_up(&p), r#"["SMS_MFA"]"#);
    }
}
