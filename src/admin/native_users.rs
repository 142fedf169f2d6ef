//! Administrative rules for native users, under every admin interface:
//! `AdminCreateUser` (a temporary password given or generated, the invitation),
//! `AdminSetUserPassword`, `AdminResetUserPassword`, `AdminConfirmSignUp` and
//! `AdminSetUserMFAPreference`.

use super::service::Admin;
use crate::flow::native::NativeError;
use crate::flow::native::create::NewUser;
use crate::flow::native::sms::MfaChoice;
use crate::hooks::{PreSignUpSource, StringMap};
use crate::model::{Pool, User};
use crate::native::policy;
use crate::store::credentials::{Credential, UserStatus};

/// What `AdminCreateUser` asks for.
#[derive(Clone, Default)]
pub struct NewNativeUser {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    pub temporary_password: Option<String>,
    /// `MessageAction: SUPPRESS`: no invitation is sent.
    pub suppress_message: bool,
    /// `ValidationData` and `ClientMetadata`, for the `PreSignUp_AdminCreateUser` hook.
    pub validation_data: Option<StringMap>,
    pub client_metadata: Option<StringMap>,
}

impl std::fmt::Debug for NewNativeUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewNativeUser")
            .field("username", &self.username)
            .field("suppress_message", &self.suppress_message)
            .finish_non_exhaustive()
    }
}

pub use crate::flow::native::create::{apply_attributes, valid_username};

use crate::flow::native::deliver::no_mail;
use crate::hooks::MessageSource;

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
            if !self.flow.can_mail(pool) {
                return Err(no_mail());
            }
            if !input.attributes.iter().any(|(k, _)| k == "email") {
                return Err(NativeError::InvalidParameter(
                    "The invitation needs the user's email attribute (or MessageAction SUPPRESS)."
                        .into(),
                ));
            }
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
        let validity = i64::from(policy.temporary_password_validity_days.max(1)) * 86_400;
        let new = NewUser {
            username: input.username.clone(),
            attributes: input.attributes.clone(),
            password: Some(temporary),
            password_expires_at: Some(now + validity),
            status: UserStatus::ForceChangePassword,
        };
        let mut user = self.flow.new_native_user(pool, &new)?;
        // The hook sees the user as it would be created, and may refuse it or verify
        // its email.
        let answer = self
            .flow
            .pre_sign_up_native(
                pool,
                None,
                PreSignUpSource::AdminCreateUser,
                &input.username,
                &input.attributes,
                input.validation_data,
                input.client_metadata,
            )
            .await?;
        if answer.auto_verify_email == Some(true) && user.email.is_some() {
            user.email_verified = true;
        }
        let cred = self.flow.store_native_user(pool, &user, &new).await?;
        if !input.suppress_message {
            let temporary = new.password.as_deref().unwrap_or_default();
            let sent = self
                .flow
                .send_code(
                    pool,
                    None,
                    &user,
                    cred.status.as_str(),
                    MessageSource::AdminCreateUser,
                    temporary,
                    None,
                )
                .await;
            if let Err(e) = sent {
                // The invitation did not go out: the user is not left behind.
                self.store.delete_user(&pool.id, &user.id).await?;
                return Err(e);
            }
        }
        Ok((user, cred))
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
        let user = self.native_by_name(pool, username).await?;
        self.flow.admin_reset_password(pool, &user).await
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

    /// `AdminSetUserMFAPreference` (TOTP and SMS).
    pub async fn set_user_mfa_preference(
        &self,
        pool: &Pool,
        username: &str,
        totp: MfaChoice,
        sms: MfaChoice,
    ) -> Result<(), NativeError> {
        let user = self.native_by_name(pool, username).await?;
        self.flow.set_mfa_preference(pool, &user, totp, sms).await
    }
}

impl Admin {
    /// A native user's Cognito status (`None`: a federated user, no credential).
    pub async fn native_status(
        &self,
        pool: &str,
        user_id: &str,
    ) -> Result<Option<UserStatus>, NativeError> {
        Ok(self
            .store
            .get_credential(pool, user_id)
            .await?
            .map(|c| c.status))
    }
}
