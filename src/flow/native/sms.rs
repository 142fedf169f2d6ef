//! The second factor of a native sign-in, as Cognito's: `SOFTWARE_TOKEN_MFA` (TOTP),
//! `SMS_MFA` and `SELECT_MFA_TYPE` (both on, neither preferred), and the users' MFA
//! preferences (`SetUserMFAPreference`, `AdminSetUserMFAPreference`). poolgate has no
//! SMS vendor: an SMS code goes out only through the pool's `CustomSMSSender` hook
//! (`CustomSMSSender_Authentication`), and is kept as a hash in the challenge's
//! session (3 minutes, five wrong tries, good once). Which factor a sign-in asks for,
//! `MFA_SETUP` included (`mfa_setup.rs`), is decided here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::challenge::required;
use super::{
    AuthOutcome, Caller, MAX_SESSION_ATTEMPTS, NativeError, SESSION_TTL, SessionRecord,
    hooks::hook_caller,
};
use crate::flow::{Flow, FlowError, PoolCtx};
use crate::hooks::{Hooks, MessageSource, TokenSource, Trigger, user_attributes};
use crate::model::{AppClient, Pool, PoolSettings, User};
use crate::secret::{constant_time_eq, sha256_hex};
use crate::store::EphemeralKind;
use crate::store::credentials::Credential;

pub const SMS_MFA: &str = "SMS_MFA";
pub const SOFTWARE_TOKEN_MFA: &str = "SOFTWARE_TOKEN_MFA";
pub const SELECT_MFA_TYPE: &str = "SELECT_MFA_TYPE";
/// `MFAS_CAN_CHOOSE` of `SELECT_MFA_TYPE` (a JSON array in a string, as Cognito's).
const CAN_CHOOSE: &str = r#"["SMS_MFA","SOFTWARE_TOKEN_MFA"]"#;

/// One factor's part of an MFA preference (`SMSMfaSettingsType`,
/// `SoftwareTokenMfaSettingsType`): `None` leaves that setting as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MfaChoice {
    pub enabled: Option<bool>,
    pub preferred: Option<bool>,
}

impl MfaChoice {
    fn turns_on(self) -> bool {
        self.enabled == Some(true) || self.preferred == Some(true)
    }

    /// Disabling a factor also drops its preference; preferring one enables it.
    fn apply(self, enabled: &mut bool, preferred: &mut bool) {
        if let Some(e) = self.enabled {
            *enabled = e;
            if !e {
                *preferred = false;
            }
        }
        if let Some(p) = self.preferred {
            *preferred = p;
            if p {
                *enabled = true;
            }
        }
    }
}

/// The answer when an SMS cannot be sent: the pool has no `CustomSMSSender` hook.
pub fn no_sms() -> NativeError {
    NativeError::CodeDeliveryFailure(
        "SMS delivery is not configured for this user pool: set a CustomSMSSender hook (poolgate sends no SMS itself)."
            .into(),
    )
}

/// The problems of a pool's MFA settings: `ON` and `OPTIONAL` need a factor the pool
/// offers (Cognito's rule); the SMS text holds `{####}`.
pub fn mfa_problems(s: &PoolSettings) -> Vec<String> {
    let mut out = Vec::new();
    if !s.mfa_configuration.is_off() && !s.totp_mfa_offered() && !s.sms_mfa_offered() {
        out.push(format!(
            "settings.mfa_configuration: {} needs a factor: enable software_token_mfa_configuration or set sms_mfa_configuration (Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration.)",
            s.mfa_configuration.as_str()
        ));
    }
    if let Some(sms) = &s.sms_mfa_configuration {
        if let Some(m) = &sms.sms_authentication_message
            && (!(6..=140).contains(&m.chars().count()) || !m.contains("{####}"))
        {
            out.push(
                "settings.sms_mfa_configuration.SmsAuthenticationMessage: 6 to 140 characters with {####}"
                    .into(),
            );
        }
        if let Some(c) = &sms.sms_configuration
            && (!c.sns_caller_arn.starts_with("arn:")
                || !(20..=2048).contains(&c.sns_caller_arn.len()))
        {
            out.push(
                "settings.sms_mfa_configuration.SmsConfiguration.SnsCallerArn: an IAM role ARN (arn:...)"
                    .into(),
            );
        }
    }
    out
}

/// The user's phone number when `phone_number_verified` is true.
pub fn verified_phone(user: &User) -> Option<&str> {
    let verified = match user.attributes.get("phone_number_verified") {
        Some(Value::String(s)) => s == "true",
        Some(Value::Bool(b)) => *b,
        _ => false,
    };
    user.attributes
        .get("phone_number")
        .and_then(Value::as_str)
        .filter(|p| verified && !p.is_empty())
}

/// A phone number as Cognito shows it in `CODE_DELIVERY_DESTINATION`: `+*******1234`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let hidden = digits.len().saturating_sub(4);
    let tail: String = digits[hidden..].iter().collect();
    format!("+{}{tail}", "*".repeat(hidden))
}

/// Whether the pool's MFA configuration lets users turn SMS MFA on.
fn sms_allowed(pool: &Pool) -> bool {
    pool.settings.sms_mfa_offered()
}

/// Whether a user's credential has a second factor turned on.
fn has_factor(c: &Credential) -> bool {
    (c.totp_enabled && c.totp.as_ref().is_some_and(|t| t.verified)) || c.sms_enabled
}

/// The second factor a user who passed the password step must answer, if any. With
/// the pool's MFA `ON`, a user with a verified phone (and a sender hook) is asked by
/// SMS, a registered authenticator counts even if turned off when nothing else does,
/// and a user with neither must set one up ([`super::mfa_setup::MFA_SETUP`]).
pub(super) fn mfa_due(pool: &Pool, user: &User, cred: &Credential) -> Option<&'static str> {
    let required = pool.settings.mfa_configuration == crate::model::MfaConfiguration::On;
    let verified = cred.totp.as_ref().is_some_and(|t| t.verified);
    let sms = sms_allowed(pool)
        && (cred.sms_enabled
            || (required
                && verified_phone(user).is_some()
                && Hooks::has(pool, Trigger::CustomSmsSender)));
    let totp =
        pool.settings.totp_mfa_offered() && verified && (cred.totp_enabled || (required && !sms));
    match (totp, sms) {
        (true, true) if cred.totp_preferred => Some(SOFTWARE_TOKEN_MFA),
        (true, true) if cred.sms_preferred => Some(SMS_MFA),
        (true, true) => Some(SELECT_MFA_TYPE),
        (true, false) => Some(SOFTWARE_TOKEN_MFA),
        (false, true) => Some(SMS_MFA),
        (false, false) if required => Some(super::mfa_setup::MFA_SETUP),
        (false, false) => None,
    }
}

fn code_hash(user_id: &str, code: &str) -> String {
    sha256_hex(&format!("sms-mfa\n{user_id}\n{code}"))
}

fn expired() -> NativeError {
    NativeError::NotAuthorized("Invalid session for the user, session is expired.".into())
}

impl Flow {
    /// `SetUserMFAPreference` / `AdminSetUserMFAPreference`: both factors in one write.
    /// Turning SMS on needs the pool's MFA configuration to allow it, a
    /// `CustomSMSSender` hook and a verified `phone_number`; TOTP, the pool to offer it
    /// and a verified authenticator. With the pool's MFA `ON`, a user's last factor
    /// cannot be turned off. A refusal changes nothing.
    pub async fn set_mfa_preference(
        &self,
        pool: &Pool,
        user: &User,
        totp: MfaChoice,
        sms: MfaChoice,
    ) -> Result<(), NativeError> {
        if totp.preferred == Some(true) && sms.preferred == Some(true) {
            return Err(NativeError::InvalidParameter(
                "Only one MFA method can be preferred.".into(),
            ));
        }
        if sms.turns_on() {
            if !sms_allowed(pool) {
                return Err(NativeError::InvalidParameter(
                    "SMS multi-factor authentication is not enabled for this user pool (MfaConfiguration is OFF, or SetUserPoolMfaConfig left SMS out)."
                        .into(),
                ));
            }
            if !Hooks::has(pool, Trigger::CustomSmsSender) {
                return Err(no_sms());
            }
            if verified_phone(user).is_none() {
                return Err(NativeError::InvalidParameter(
                    "SMS MFA needs a verified phone_number.".into(),
                ));
            }
        }
        if totp.turns_on() && !pool.settings.totp_mfa_offered() {
            return Err(NativeError::InvalidParameter(
                "Software token MFA is not enabled for this user pool.".into(),
            ));
        }
        let required = pool.settings.mfa_configuration == crate::model::MfaConfiguration::On;
        self.update_credential(&pool.id, &user.id, |c| {
            if totp.turns_on() && !c.totp.as_ref().is_some_and(|t| t.verified) {
                return Err(NativeError::InvalidParameter(
                    "User has not verified software token mfa".into(),
                ));
            }
            let had = has_factor(c);
            totp.apply(&mut c.totp_enabled, &mut c.totp_preferred);
            sms.apply(&mut c.sms_enabled, &mut c.sms_preferred);
            if totp.preferred == Some(true) {
                c.sms_preferred = false;
            }
            if sms.preferred == Some(true) {
                c.totp_preferred = false;
            }
            if required && had && !has_factor(c) {
                return Err(NativeError::InvalidParameter(
                    "MFA is required for this user pool (MfaConfiguration is ON): the user's last MFA method cannot be disabled."
                        .into(),
                ));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Starts the challenge `name` (a second factor, the choice of one, or its set-up)
    /// for a user whose password step passed at `auth_time`. For `SMS_MFA` the code is
    /// handed to the `CustomSMSSender` hook first: a failed hook issues no session and
    /// no code.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn begin_mfa(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        cred: &Credential,
        name: &'static str,
        auth_time: i64,
        new_password: bool,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        if name == super::mfa_setup::MFA_SETUP {
            return self
                .begin_mfa_setup(ctx, client, user, auth_time, new_password, hosted)
                .await;
        }
        let mut rec = SessionRecord {
            challenge: name.into(),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            auth_time,
            attempts: 0,
            new_password,
            hosted,
            code_hash: None,
            code_expires_at: None,
        };
        let mut parameters = BTreeMap::new();
        parameters.insert("USER_ID_FOR_SRP".into(), user.username.clone());
        match name {
            SMS_MFA => {
                let (code, destination) = self
                    .send_sms_code(&ctx.pool, client, user, cred, caller)
                    .await?;
                rec.code_hash = Some(code_hash(&user.id, &code));
                rec.code_expires_at = Some(self.clock.now() + SESSION_TTL.as_secs() as i64);
                parameters.insert("CODE_DELIVERY_DELIVERY_MEDIUM".into(), "SMS".into());
                parameters.insert("CODE_DELIVERY_DESTINATION".into(), destination);
            }
            SELECT_MFA_TYPE => {
                parameters.insert("MFAS_CAN_CHOOSE".into(), CAN_CHOOSE.into());
            }
            _ => {}
        }
        let session = self.new_session(&ctx.pool.id, &rec).await?;
        Ok(AuthOutcome::Challenge {
            name,
            session: Some(session),
            parameters,
        })
    }

    /// A new code handed to the pool's `CustomSMSSender` hook; the code and the masked
    /// destination.
    async fn send_sms_code(
        &self,
        pool: &Pool,
        client: &AppClient,
        user: &User,
        cred: &Credential,
        caller: &Caller,
    ) -> Result<(String, String), NativeError> {
        if !Hooks::has(pool, Trigger::CustomSmsSender) {
            return Err(no_sms());
        }
        let phone = verified_phone(user).ok_or_else(|| {
            NativeError::CodeDeliveryFailure(
                "The user has no verified phone number to send the code to.".into(),
            )
        })?;
        let code = super::codes::new_code()?;
        let links = self.links_of(&pool.id, &user.id).await?;
        self.hooks
            .custom_sms_sender(
                &hook_caller(pool, Some(&client.client_id)),
                MessageSource::Authentication,
                &user.username,
                &code,
                user_attributes(user, &links, cred.status.as_str()),
                caller.metadata.clone(),
            )
            .await?;
        Ok((code, mask_phone(phone)))
    }

    /// `SMS_MFA`: the code the hook delivered, once, within its 3 minutes; a wrong one
    /// counts against the session's five tries.
    pub(super) async fn sms_mfa(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let code = required(responses, "SMS_MFA_CODE")?;
        let pool = &ctx.pool.id;
        let (key, mut rec) = self
            .take_session(pool, session, SMS_MFA, client, hosted)
            .await?;
        let now = self.clock.now();
        let (Some(expected), Some(expires_at)) = (rec.code_hash.clone(), rec.code_expires_at)
        else {
            return Err(expired());
        };
        if expires_at <= now {
            return Err(expired());
        }
        let right = code.len() <= 16
            && constant_time_eq(
                code_hash(&rec.user_id, code).as_bytes(),
                expected.as_bytes(),
            );
        if !right {
            rec.attempts += 1;
            if rec.attempts < MAX_SESSION_ATTEMPTS {
                let bytes = serde_json::to_vec(&rec)
                    .map_err(|e| FlowError::internal("sms: encode the session", e))?;
                let left = Duration::from_secs((expires_at - now).max(1) as u64);
                self.store
                    .put(pool, EphemeralKind::NativeSession, &key, &bytes, left)
                    .await?;
            }
            return Err(NativeError::CodeMismatch);
        }
        self.finish_mfa(ctx, client, &rec, caller, hosted).await
    }

    /// `SELECT_MFA_TYPE`: the factor the user picked (`ANSWER`) starts its challenge.
    pub(super) async fn select_mfa_type(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let name = match required(responses, "ANSWER")? {
            SMS_MFA => SMS_MFA,
            SOFTWARE_TOKEN_MFA => SOFTWARE_TOKEN_MFA,
            _ => {
                return Err(NativeError::InvalidParameter(
                    "ANSWER must be SMS_MFA or SOFTWARE_TOKEN_MFA.".into(),
                ));
            }
        };
        let pool = &ctx.pool.id;
        let (_, rec) = self
            .take_session(pool, session, SELECT_MFA_TYPE, client, hosted)
            .await?;
        let (user, _) = self.active_user(pool, &rec.user_id).await?;
        let cred = self
            .store
            .get_credential(pool, &rec.user_id)
            .await?
            .ok_or_else(super::bad_credentials)?;
        // The factor picked must still be the user's.
        if mfa_due(&ctx.pool, &user, &cred) != Some(SELECT_MFA_TYPE) {
            return Err(NativeError::NotAuthorized(
                "Invalid session for the user.".into(),
            ));
        }
        self.begin_mfa(
            ctx,
            client,
            &user,
            &cred,
            name,
            rec.auth_time,
            rec.new_password,
            caller,
            hosted,
        )
        .await
    }

    /// After the second factor: a hosted sign-in goes on to its code, an API one gets
    /// its tokens (post-authentication and pre-token hooks first).
    pub(super) async fn finish_mfa(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        rec: &SessionRecord,
        caller: &Caller,
        hosted: bool,
    ) -> Result<AuthOutcome, NativeError> {
        let (user, _) = self.active_user(&ctx.pool.id, &rec.user_id).await?;
        if hosted {
            return Ok(AuthOutcome::Authenticated {
                user: Box::new(user),
                auth_time: rec.auth_time,
            });
        }
        let source = if rec.new_password {
            TokenSource::NewPasswordChallenge
        } else {
            TokenSource::Authentication
        };
        Ok(AuthOutcome::Tokens(
            self.native_tokens(ctx, client, &user, rec.auth_time, source, caller)
                .await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MfaConfiguration;

    #[test]
    fn phones_are_masked_as_cognito_masks_them() {
        assert_eq!(mask_phone("+12065551234"), "+*******1234");
        assert_eq!(mask_phone("+4915112345678"), "+*********5678");
        assert_eq!(mask_phone("+123"), "+123");
    }

    #[test]
    fn only_a_verified_phone_counts() {
        let mut u = User::new("p", "u".into(), 0);
        u.attributes
            .insert("phone_number".into(), Value::String("+12065551234".into()));
        assert_eq!(verified_phone(&u), None);
        u.attributes
            .insert("phone_number_verified".into(), Value::String("true".into()));
        assert_eq!(verified_phone(&u), Some("+12065551234"));
    }

    fn cred(totp: bool, sms: bool) -> Credential {
        crate::store::credentials::confirmed_with_factors(totp, sms)
    }

    #[test]
    fn the_challenge_follows_the_factors_and_the_preference() {
        let mut pool = Pool {
            id: "p".into(),
            settings: PoolSettings::default(),
            created_at: 0,
            hook_secret: None,
        };
        let u = User::new("p", "u".into(), 0);
        pool.settings.mfa_configuration = MfaConfiguration::Optional;
        assert_eq!(mfa_due(&pool, &u, &cred(false, false)), None);
        assert_eq!(
            mfa_due(&pool, &u, &cred(true, false)),
            Some(SOFTWARE_TOKEN_MFA)
        );
        assert_eq!(mfa_due(&pool, &u, &cred(false, true)), Some(SMS_MFA));
        assert_eq!(mfa_due(&pool, &u, &cred(true, true)), Some(SELECT_MFA_TYPE));
        let mut c = cred(true, true);
        c.sms_preferred = true;
        assert_eq!(mfa_due(&pool, &u, &c), Some(SMS_MFA));
        // With the pool's MFA off, SMS is not asked for.
        pool.settings.mfa_configuration = MfaConfiguration::Off;
        assert_eq!(mfa_due(&pool, &u, &cred(false, true)), None);
    }

    #[test]
    fn preferring_enables_and_disabling_unprefers() {
        let (mut e, mut p) = (false, false);
        MfaChoice {
            enabled: None,
            preferred: Some(true),
        }
        .apply(&mut e, &mut p);
        assert!(e && p);
        MfaChoice {
            enabled: Some(false),
            preferred: None,
        }
        .apply(&mut e, &mut p);
        assert!(!e && !p);
    }
}
