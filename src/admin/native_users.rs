//! Administrative rules for native users, under every admin interface:
//! `AdminCreateUser` (a temporary password given or generated, the invitation),
//! `AdminSetUserPassword`, `AdminResetUserPassword`, `AdminConfirmSignUp` and
//! `AdminSetUserMFAPreference`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::service::Admin;
use crate::flow::native::NativeError;
use crate::identity::normalize_email;
use crate::model::{Pool, User};
use crate::native::policy;
use crate::store::credentials::{CreateNativeOutcome, Credential, UserStatus};

/// Cognito's longest username.
const MAX_USERNAME: usize = 128;
/// Attributes an admin may not set.
const READ_ONLY: &[&str] = &[
    "sub",
    "identities",
    "cognito:username",
    "cognito:user_status",
];

/// What `AdminCreateUser` asks for.
#[derive(Clone, Default)]
pub struct NewNativeUser {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    pub temporary_password: Option<String>,
    /// `MessageAction: SUPPRESS`: no invitation is sent.
    pub suppress_message: bool,
}

impl std::fmt::Debug for NewNativeUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewNativeUser")
            .field("username", &self.username)
            .field("suppress_message", &self.suppress_message)
            .finish_non_exhaustive()
    }
}

/// A username Cognito accepts: 1 to 128 characters, no whitespace or control
/// characters.
pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.chars().count() <= MAX_USERNAME
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Applies attributes (`email`, `email_verified`, standard claims, `custom:*`) to a user.
pub fn apply_attributes(
    pool: &Pool,
    user: &mut User,
    attributes: &[(String, String)],
) -> Result<(), NativeError> {
    for (name, value) in attributes {
        if READ_ONLY.contains(&name.as_str()) {
            return Err(NativeError::InvalidParameter(format!(
                "Cannot modify the non-mutable attribute {name}"
            )));
        }
        if name.is_empty() || name.len() > 32 + "custom:".len() || value.len() > 2048 {
            return Err(NativeError::InvalidParameter(format!(
                "Invalid attribute {name}"
            )));
        }
        match name.as_str() {
            "email" => {
                if !value.contains('@') {
                    return Err(NativeError::InvalidParameter(
                        "Invalid email address format.".into(),
                    ));
                }
                user.email = Some(value.clone());
                user.email_norm = Some(normalize_email(value, pool.settings.email_case_sensitive));
            }
            "email_verified" => user.email_verified = value == "true",
            _ => {
                user.attributes
                    .insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    Ok(())
}

fn no_mail() -> NativeError {
    NativeError::CodeDeliveryFailure(
        "Email delivery is not configured on this gateway (POOLGATE_SMTP_URL); use MessageAction SUPPRESS."
            .into(),
    )
}

impl Admin {
    /// `AdminCreateUser`: a `FORCE_CHANGE_PASSWORD` user with a temporary password valid
    /// for the pool's `TemporaryPasswordValidityDays`. Without `SUPPRESS`, the invitation
    /// must be mailable before anything is created.
    pub async fn create_native_user(
        &self,
        pool: &Pool,
        input: NewNativeUser,
    ) -> Result<(User, Credential), NativeError> {
        if !valid_username(&input.username) {
            return Err(NativeError::InvalidParameter(
                "Username must be 1 to 128 characters without spaces.".into(),
            ));
        }
        if !input.suppress_message {
            return Err(no_mail());
        }
        let policy = &pool.settings.password_policy;
        let temporary = match input.temporary_password {
            Some(p) => {
                if let Some(v) = policy::violation(policy, &p) {
                    return Err(NativeError::InvalidPassword(format!(
                        "Password does not conform to policy: {v}"
                    )));
                }
                p
            }
            None => policy::temporary_password(policy),
        };
        if self
            .flow
            .native_user(&pool.id, &input.username)
            .await?
            .is_some()
        {
            return Err(NativeError::UsernameExists);
        }
        let now = self.clock.now();
        let mut user = User {
            pool_id: pool.id.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            username: input.username.clone(),
            enabled: true,
            email: None,
            email_norm: None,
            email_verified: false,
            attributes: BTreeMap::new(),
            groups: Vec::new(),
            created_at: now,
            updated_at: now,
            tokens_valid_after: 0,
        };
        apply_attributes(pool, &mut user, &input.attributes)?;
        let validity = i64::from(policy.temporary_password_validity_days.max(1)) * 86_400;
        let password = self
            .flow
            .password_record(&pool.id, &user.username, &temporary, Some(now + validity))
            .await?;
        let cred = Credential {
            pool_id: pool.id.clone(),
            user_id: user.id.clone(),
            status: UserStatus::ForceChangePassword,
            password: Some(password),
            totp: None,
            totp_enabled: false,
            totp_preferred: false,
            version: 1,
            updated_at: now,
        };
        match self.store.create_native_user(&user, &cred).await? {
            CreateNativeOutcome::Created => Ok((user, cred)),
            CreateNativeOutcome::UsernameExists => Err(NativeError::UsernameExists),
        }
    }

    /// The user named `username` (a native one, with its credential).
    async fn native_by_name(&self, pool: &Pool, username: &str) -> Result<User, NativeError> {
        match self.flow.native_user(&pool.id, username).await? {
            Some((user, Some(_))) => Ok(user),
            Some((_, None)) => Err(NativeError::InvalidParameter(
                "The user is a federated (EXTERNAL_PROVIDER) user and has no password.".into(),
            )),
            None => Err(NativeError::UserNotFound),
        }
    }

    /// `AdminSetUserPassword`: permanent (`CONFIRMED`) or temporary
    /// (`FORCE_CHANGE_PASSWORD`, valid for the pool's temporary-password days).
    pub async fn set_user_password(
        &self,
        pool: &Pool,
        username: &str,
        password: &str,
        permanent: bool,
    ) -> Result<(), NativeError> {
        let user = self.native_by_name(pool, username).await?;
        let policy = &pool.settings.password_policy;
        if let Some(v) = policy::violation(policy, password) {
            return Err(NativeError::InvalidPassword(format!(
                "Password does not conform to policy: {v}"
            )));
        }
        let now = self.clock.now();
        let expires = (!permanent)
            .then(|| now + i64::from(policy.temporary_password_validity_days.max(1)) * 86_400);
        let record = self
            .flow
            .password_record(&pool.id, &user.username, password, expires)
            .await?;
        self.flow
            .update_credential(&pool.id, &user.id, |c| {
                c.password = Some(record.clone());
                c.status = if permanent {
                    UserStatus::Confirmed
                } else {
                    UserStatus::ForceChangePassword
                };
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// `AdminResetUserPassword`: the user must set a new password with a mailed code.
    pub async fn reset_user_password(
        &self,
        pool: &Pool,
        username: &str,
    ) -> Result<(), NativeError> {
        self.native_by_name(pool, username).await?;
        Err(no_mail())
    }

    /// `AdminConfirmSignUp`: an `UNCONFIRMED` user becomes `CONFIRMED`.
    pub async fn confirm_sign_up(&self, pool: &Pool, username: &str) -> Result<(), NativeError> {
        let user = self.native_by_name(pool, username).await?;
        self.flow
            .update_credential(&pool.id, &user.id, |c| {
                if c.status != UserStatus::Unconfirmed {
                    return Err(NativeError::NotAuthorized(format!(
                        "User cannot be confirmed. Current status is {}",
                        c.status.as_str()
                    )));
                }
                c.status = UserStatus::Confirmed;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// `AdminSetUserMFAPreference` for TOTP.
    pub async fn set_user_mfa_preference(
        &self,
        pool: &Pool,
        username: &str,
        enabled: Option<bool>,
        preferred: Option<bool>,
    ) -> Result<(), NativeError> {
        let user = self.native_by_name(pool, username).await?;
        self.flow
            .set_totp_preference(&pool.id, &user.id, enabled, preferred)
            .await
    }
}
