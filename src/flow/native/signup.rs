//! Self-service accounts, as Cognito's unsigned operations: `SignUp`, `ConfirmSignUp`,
//! `ResendConfirmationCode`, `ForgotPassword`, `ConfirmForgotPassword` (and the code
//! `AdminResetUserPassword` mails). Codes go out through [`super::deliver`]; the hooks
//! `PreSignUp_SignUp`, `PostConfirmation_*` and `UserMigration_ForgotPassword` run where
//! Cognito runs them. Nothing is created or changed when a step before it fails.

use super::NativeError;
use super::codes::{KIND_RESET, KIND_SIGN_UP};
use super::create::NewUser;
use super::deliver::{CodeDelivery, no_mail};
use super::hooks::hook_caller;
use crate::flow::{Flow, PoolCtx};
use crate::hooks::{
    MessageSource, MigrationSource, PostConfirmationRequest, PostConfirmationSource,
    PreSignUpSource, StringMap, UserMigrationRequest, user_attributes,
};
use crate::model::{AppClient, Pool, User};
use crate::native::policy;
use crate::store::credentials::UserStatus;

/// What `SignUp` asks for.
#[derive(Clone, Default)]
pub struct SignUpInput {
    pub username: String,
    pub password: String,
    pub secret_hash: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub validation_data: Option<StringMap>,
    pub client_metadata: Option<StringMap>,
}

impl std::fmt::Debug for SignUpInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpInput")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `SignUp`'s answer.
#[derive(Clone, Debug)]
pub struct SignUpResult {
    pub user_sub: String,
    pub confirmed: bool,
    pub delivery: Option<CodeDelivery>,
}

fn policy_check(ctx: &PoolCtx, password: &str) -> Result<(), NativeError> {
    match policy::violation(&ctx.pool.settings.password_policy, password) {
        Some(v) => Err(NativeError::InvalidPassword(format!(
            "Password does not conform to policy: {v}"
        ))),
        None => Ok(()),
    }
}

/// The answer to a reset of a user that does not exist: the same shape as a real one,
/// so that the answer does not tell who has an account.
fn simulated_delivery(username: &str) -> CodeDelivery {
    let first = username.chars().next().unwrap_or('u');
    CodeDelivery {
        destination: format!("{first}***@e***"),
        delivery_medium: "EMAIL",
        attribute_name: "email",
    }
}

impl Flow {
    /// `SignUp`: an `UNCONFIRMED` user and a mailed code, or a confirmed user when the
    /// `PreSignUp` hook says `autoConfirmUser`.
    pub async fn sign_up(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        input: SignUpInput,
    ) -> Result<SignUpResult, NativeError> {
        let pool = &ctx.pool;
        self.check_secret_hash(client, &input.username, input.secret_hash.as_deref())?;
        if pool
            .settings
            .admin_create_user_config
            .allow_admin_create_user_only
        {
            return Err(NativeError::NotAuthorized(
                "SignUp is not permitted for this user pool".into(),
            ));
        }
        policy_check(ctx, &input.password)?;
        let new = NewUser {
            username: input.username.clone(),
            attributes: input.attributes.clone(),
            password: Some(input.password.clone()),
            password_expires_at: None,
            status: UserStatus::Unconfirmed,
        };
        let mut user = self.new_native_user(pool, &new)?;
        if self.native_user(&pool.id, &input.username).await?.is_some() {
            return Err(NativeError::UsernameExists);
        }
        let answer = self
            .pre_sign_up_native(
                pool,
                Some(&client.client_id),
                PreSignUpSource::SignUp,
                &input.username,
                &input.attributes,
                input.validation_data,
                input.client_metadata.clone(),
            )
            .await?;
        let confirmed = answer.auto_confirm_user == Some(true);
        if answer.auto_verify_email == Some(true) && user.email.is_some() {
            user.email_verified = true;
        }
        if !confirmed {
            if !self.can_mail(pool) {
                return Err(no_mail());
            }
            if user.email.is_none() {
                return Err(NativeError::InvalidParameter(
                    "The user needs an email attribute to receive the confirmation code.".into(),
                ));
            }
        }
        let new = NewUser {
            status: if confirmed {
                UserStatus::Confirmed
            } else {
                UserStatus::Unconfirmed
            },
            ..new
        };
        self.store_native_user(pool, &user, &new).await?;
        if confirmed {
            return Ok(SignUpResult {
                user_sub: user.id,
                confirmed: true,
                delivery: None,
            });
        }
        let sent = self
            .mail_code(
                ctx,
                client,
                &user,
                UserStatus::Unconfirmed,
                KIND_SIGN_UP,
                MessageSource::SignUp,
                input.client_metadata.as_ref(),
            )
            .await;
        match sent {
            Ok(delivery) => Ok(SignUpResult {
                user_sub: user.id,
                confirmed: false,
                delivery: Some(delivery),
            }),
            Err(e) => {
                // The code did not go out: the account is not left half-made.
                self.store.delete_user(&pool.id, &user.id).await?;
                Err(e)
            }
        }
    }

    /// A new code of `kind` for `user`, mailed.
    #[allow(clippy::too_many_arguments)]
    async fn mail_code(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        status: UserStatus,
        kind: crate::store::EphemeralKind,
        source: MessageSource,
        client_metadata: Option<&StringMap>,
    ) -> Result<CodeDelivery, NativeError> {
        let code = self.issue_user_code(&ctx.pool.id, kind, &user.id).await?;
        let sent = self
            .send_code(
                &ctx.pool,
                Some(&client.client_id),
                user,
                status.as_str(),
                source,
                &code,
                client_metadata,
            )
            .await;
        if sent.is_err() {
            // A code nobody received is not left usable.
            self.store.take(&ctx.pool.id, kind, &user.id).await?;
        }
        sent
    }

    /// `ConfirmSignUp`.
    #[allow(clippy::too_many_arguments)]
    pub async fn confirm_sign_up(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        code: &str,
        secret_hash: Option<&str>,
        client_metadata: Option<&StringMap>,
    ) -> Result<(), NativeError> {
        self.check_secret_hash(client, username, secret_hash)?;
        let pool = &ctx.pool.id;
        let Some((user, Some(cred))) = self.native_user(pool, username).await? else {
            return Err(NativeError::CodeMismatch);
        };
        if cred.status != UserStatus::Unconfirmed {
            return Err(NativeError::NotAuthorized(format!(
                "User cannot be confirmed. Current status is {}",
                cred.status.as_str()
            )));
        }
        self.check_code(pool, KIND_SIGN_UP, &user.id, code).await?;
        // The user as it will be: confirmed, its email verified by the code.
        let mut confirmed = user.clone();
        if confirmed.email.is_some() {
            confirmed.email_verified = true;
        }
        self.post_confirmation(
            ctx,
            client,
            &confirmed,
            PostConfirmationSource::ConfirmSignUp,
            client_metadata,
        )
        .await?;
        self.spend_code(pool, KIND_SIGN_UP, &user.id, code).await?;
        self.update_credential(pool, &user.id, |c| {
            if c.status != UserStatus::Unconfirmed {
                return Err(NativeError::NotAuthorized(
                    "User cannot be confirmed.".into(),
                ));
            }
            c.status = UserStatus::Confirmed;
            Ok(())
        })
        .await?;
        self.mark_email_verified(pool, &confirmed).await
    }

    async fn mark_email_verified(&self, pool: &str, user: &User) -> Result<(), NativeError> {
        if user.email.is_none() {
            return Ok(());
        }
        let patch = crate::store::patch::UserPatch {
            email_verified: Some(true),
            updated_at: Some(self.clock.now()),
            ..Default::default()
        };
        self.store.patch_user(pool, &user.id, &patch).await?;
        Ok(())
    }

    async fn post_confirmation(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        source: PostConfirmationSource,
        client_metadata: Option<&StringMap>,
    ) -> Result<(), NativeError> {
        if !crate::hooks::Hooks::has(&ctx.pool, crate::hooks::Trigger::PostConfirmation) {
            return Ok(());
        }
        let request = PostConfirmationRequest {
            user_attributes: user_attributes(user, &[], UserStatus::Confirmed.as_str()),
            client_metadata: client_metadata.cloned(),
        };
        self.hooks
            .post_confirmation(
                &hook_caller(&ctx.pool, Some(&client.client_id)),
                source,
                &user.username,
                request,
            )
            .await?;
        Ok(())
    }

    /// `ResendConfirmationCode`: a new code for an unconfirmed user.
    pub async fn resend_confirmation_code(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        secret_hash: Option<&str>,
        client_metadata: Option<&StringMap>,
    ) -> Result<CodeDelivery, NativeError> {
        self.check_secret_hash(client, username, secret_hash)?;
        if !self.can_mail(&ctx.pool) {
            return Err(no_mail());
        }
        let Some((user, Some(cred))) = self.native_user(&ctx.pool.id, username).await? else {
            return Ok(simulated_delivery(username));
        };
        if cred.status != UserStatus::Unconfirmed {
            return Err(NativeError::InvalidParameter(
                "User is already confirmed.".into(),
            ));
        }
        self.mail_code(
            ctx,
            client,
            &user,
            cred.status,
            KIND_SIGN_UP,
            MessageSource::ResendCode,
            client_metadata,
        )
        .await
    }

    /// `ForgotPassword`: a reset code to the user's verified email. An unknown user may
    /// be brought in by `UserMigration_ForgotPassword`; else the answer looks like a
    /// real one and nothing is sent.
    pub async fn forgot_password(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        secret_hash: Option<&str>,
        client_metadata: Option<&StringMap>,
    ) -> Result<CodeDelivery, NativeError> {
        self.check_secret_hash(client, username, secret_hash)?;
        if !self.can_mail(&ctx.pool) {
            return Err(no_mail());
        }
        let found = match self.native_user(&ctx.pool.id, username).await? {
            Some((user, Some(cred))) => Some((user, cred.status)),
            Some((_, None)) => None,
            None => self
                .migrate_for_reset(ctx, client, username, client_metadata)
                .await?
                .map(|u| (u, UserStatus::ResetRequired)),
        };
        let Some((user, status)) = found else {
            return Ok(simulated_delivery(username));
        };
        let allowed = match status {
            UserStatus::Confirmed => user.email_verified,
            UserStatus::ResetRequired => true,
            _ => false,
        };
        if !allowed || !user.enabled {
            return Err(NativeError::InvalidParameter(
                "Cannot reset password for the user as there is no registered/verified email."
                    .into(),
            ));
        }
        self.mail_code(
            ctx,
            client,
            &user,
            status,
            KIND_RESET,
            MessageSource::ForgotPassword,
            client_metadata,
        )
        .await
    }

    /// `UserMigration_ForgotPassword`: the hook's user, created `RESET_REQUIRED`.
    async fn migrate_for_reset(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        client_metadata: Option<&StringMap>,
    ) -> Result<Option<User>, NativeError> {
        if !crate::hooks::Hooks::has(&ctx.pool, crate::hooks::Trigger::UserMigration) {
            return Ok(None);
        }
        let answer = self
            .hooks
            .user_migration(
                &hook_caller(&ctx.pool, Some(&client.client_id)),
                MigrationSource::ForgotPassword,
                username,
                UserMigrationRequest {
                    password: None,
                    validation_data: None,
                    client_metadata: client_metadata.cloned(),
                },
            )
            .await;
        let attributes = match answer {
            Ok(Some(a)) => a.user_attributes,
            Ok(None) | Err(crate::hooks::HookError::Refused { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(attributes) = attributes else {
            return Ok(None);
        };
        let new = NewUser {
            username: username.to_owned(),
            attributes: attributes
                .into_iter()
                .filter(|(k, _)| k != "username" && k != "sub")
                .collect(),
            password: None,
            password_expires_at: None,
            status: UserStatus::ResetRequired,
        };
        let (user, _) = self.create_native(&ctx.pool, new).await?;
        Ok(Some(user))
    }

    /// `ConfirmForgotPassword`: the code proves the user; the new password meets the
    /// policy; the user is `CONFIRMED`.
    #[allow(clippy::too_many_arguments)]
    pub async fn confirm_forgot_password(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        code: &str,
        password: &str,
        secret_hash: Option<&str>,
        client_metadata: Option<&StringMap>,
    ) -> Result<(), NativeError> {
        self.check_secret_hash(client, username, secret_hash)?;
        policy_check(ctx, password)?;
        let pool = &ctx.pool.id;
        let Some((user, Some(_))) = self.native_user(pool, username).await? else {
            return Err(NativeError::CodeMismatch);
        };
        self.check_code(pool, KIND_RESET, &user.id, code).await?;
        let record = self
            .password_record(pool, &user.username, password, None)
            .await?;
        self.post_confirmation(
            ctx,
            client,
            &user,
            PostConfirmationSource::ConfirmForgotPassword,
            client_metadata,
        )
        .await?;
        self.spend_code(pool, KIND_RESET, &user.id, code).await?;
        self.update_credential(pool, &user.id, |c| {
            c.password = Some(record.clone());
            c.status = UserStatus::Confirmed;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `AdminResetUserPassword`: the password stops working (`RESET_REQUIRED`) and a
    /// reset code is mailed, as `ForgotPassword` sends it.
    pub(crate) async fn admin_reset_password(
        &self,
        pool: &Pool,
        user: &User,
    ) -> Result<(), NativeError> {
        if !self.can_mail(pool) {
            return Err(no_mail());
        }
        let code = self.issue_user_code(&pool.id, KIND_RESET, &user.id).await?;
        let sent = self
            .send_code(
                pool,
                None,
                user,
                UserStatus::ResetRequired.as_str(),
                MessageSource::ForgotPassword,
                &code,
                None,
            )
            .await;
        if let Err(e) = sent {
            self.store.take(&pool.id, KIND_RESET, &user.id).await?;
            return Err(e);
        }
        self.update_credential(&pool.id, &user.id, |c| {
            c.status = UserStatus::ResetRequired;
            Ok(())
        })
        .await?;
        Ok(())
    }
}
