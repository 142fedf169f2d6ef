//! The pool's hooks in native sign-ins, where Cognito calls them:
//! `PreAuthentication` before the password is checked, `UserMigration` for an unknown
//! user signing in with a password, `PostAuthentication` and pre-token generation
//! after the last challenge and before anything is issued or stored, and
//! `PreSignUp_AdminCreateUser` / `PreSignUp_SignUp` before a user is created.

use super::{NativeError, create::NewUser};
use crate::flow::{Flow, PoolCtx, split_scope};
use crate::hooks::{
    Caller as HookCaller, GroupConfiguration, Hooks, MigrationSource, PostAuthenticationRequest,
    PreAuthenticationRequest, PreSignUpRequest, PreSignUpResponse, PreSignUpSource,
    PreTokenRequest, StringMap, TokenOverrides, TokenSource, Trigger, UserMigrationRequest,
    user_attributes,
};
use crate::model::{AppClient, IdentityLink, Pool, User};
use crate::store::credentials::UserStatus;

/// The hook caller of `pool` for an app client (or none, for admin operations).
pub(crate) fn hook_caller<'a>(pool: &'a Pool, client_id: Option<&'a str>) -> HookCaller<'a> {
    HookCaller { pool, client_id }
}

impl Flow {
    /// `PreAuthentication_Authentication` for a user about to present a password.
    pub(crate) async fn pre_authentication(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        status: UserStatus,
        validation_data: Option<&StringMap>,
    ) -> Result<(), NativeError> {
        if !Hooks::has(&ctx.pool, Trigger::PreAuthentication) {
            return Ok(());
        }
        let links = self.links_of(&ctx.pool.id, &user.id).await?;
        let request = PreAuthenticationRequest {
            user_attributes: user_attributes(user, &links, status.as_str()),
            validation_data: validation_data.cloned(),
            user_not_found: false,
        };
        self.hooks
            .pre_authentication(
                &hook_caller(&ctx.pool, Some(&client.client_id)),
                &user.username,
                request,
            )
            .await?;
        Ok(())
    }

    /// `PreAuthentication_Authentication` for a username that no user has: poolgate
    /// answers as Cognito with `PreventUserExistenceErrors: ENABLED` does (the same
    /// refusal as a wrong password), and Cognito then calls the trigger with
    /// `request.userNotFound: true` and no attributes.
    pub(crate) async fn pre_authentication_unknown(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        validation_data: Option<&StringMap>,
    ) -> Result<(), NativeError> {
        if !Hooks::has(&ctx.pool, Trigger::PreAuthentication) || username.is_empty() {
            return Ok(());
        }
        let request = PreAuthenticationRequest {
            user_attributes: StringMap::new(),
            validation_data: validation_data.cloned(),
            user_not_found: true,
        };
        self.hooks
            .pre_authentication(
                &hook_caller(&ctx.pool, Some(&client.client_id)),
                username,
                request,
            )
            .await?;
        Ok(())
    }

    pub(super) async fn links_of(
        &self,
        pool: &str,
        user_id: &str,
    ) -> Result<Vec<IdentityLink>, NativeError> {
        Ok(self
            .store
            .get_user_with_identities(pool, user_id)
            .await?
            .map(|(_, l)| l)
            .unwrap_or_default())
    }

    /// After the last challenge: `PostAuthentication_Authentication` (a failure fails
    /// the sign-in), then the pre-token-generation hook's changes of the tokens.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn native_hooks_before_tokens(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        user: &User,
        links: &[IdentityLink],
        scope: &str,
        source: TokenSource,
        client_metadata: Option<&StringMap>,
    ) -> Result<Option<TokenOverrides>, NativeError> {
        let pool = &ctx.pool;
        let post = Hooks::has(pool, Trigger::PostAuthentication);
        let pre_token = Hooks::pre_token_version(pool).is_some();
        if !post && !pre_token {
            return Ok(None);
        }
        let status = self
            .store
            .get_credential(&pool.id, &user.id)
            .await?
            .map_or(UserStatus::ExternalProvider, |c| c.status);
        let attrs = user_attributes(user, links, status.as_str());
        let caller = hook_caller(pool, Some(&client.client_id));
        if post {
            self.hooks
                .post_authentication(
                    &caller,
                    &user.username,
                    PostAuthenticationRequest {
                        new_device_used: false,
                        user_attributes: attrs.clone(),
                        client_metadata: client_metadata.cloned(),
                    },
                )
                .await?;
        }
        if !pre_token {
            return Ok(None);
        }
        let request = PreTokenRequest {
            user_attributes: attrs,
            group_configuration: GroupConfiguration {
                groups_to_override: user.groups.clone(),
                iam_roles_to_override: Vec::new(),
                preferred_role: None,
            },
            scopes: Some(split_scope(scope)),
            client_metadata: client_metadata.cloned(),
        };
        Ok(self
            .hooks
            .pre_token_generation(&caller, source, Some(&user.username), request)
            .await?)
    }

    /// `UserMigration_Authentication`: an unknown user signing in with a password is
    /// asked of the pool's hook; when it answers with the user's attributes, the user
    /// is created with that password (its hash and SRP verifier) and the status the
    /// hook chose. `None` when there is no hook or it did not know the user.
    pub(crate) async fn migrate_on_sign_in(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        username: &str,
        password: &str,
        validation_data: Option<&StringMap>,
    ) -> Result<Option<User>, NativeError> {
        if !Hooks::has(&ctx.pool, Trigger::UserMigration) {
            return Ok(None);
        }
        let request = UserMigrationRequest {
            password: Some(password.to_owned()),
            validation_data: validation_data.cloned(),
            client_metadata: None,
        };
        let answer = self
            .hooks
            .user_migration(
                &hook_caller(&ctx.pool, Some(&client.client_id)),
                MigrationSource::Authentication,
                username,
                request,
            )
            .await;
        let answer = match answer {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(None),
            // The function threw (a wrong password, a user it does not know): the same
            // answer as any failed sign-in.
            Err(crate::hooks::HookError::Refused { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(attributes) = answer.user_attributes else {
            return Ok(None);
        };
        let status = match answer.final_user_status.as_deref() {
            Some("RESET_REQUIRED") => UserStatus::ResetRequired,
            _ => UserStatus::Confirmed,
        };
        let new = NewUser {
            username: username.to_owned(),
            attributes: attributes
                .into_iter()
                .filter(|(k, _)| k != "username" && k != "sub")
                .collect(),
            password: (status == UserStatus::Confirmed).then(|| password.to_owned()),
            password_expires_at: None,
            status,
        };
        let (user, _) = self.create_native(&ctx.pool, new).await?;
        Ok(Some(user))
    }

    /// `PreSignUp` for a user about to be created; Cognito's initial answer (every
    /// flag `false`) when the pool has no such hook.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn pre_sign_up_native(
        &self,
        pool: &Pool,
        client_id: Option<&str>,
        source: PreSignUpSource,
        username: &str,
        attributes: &[(String, String)],
        validation_data: Option<StringMap>,
        client_metadata: Option<StringMap>,
    ) -> Result<PreSignUpResponse, NativeError> {
        let request = PreSignUpRequest {
            user_attributes: attributes.iter().cloned().collect(),
            validation_data,
            client_metadata,
        };
        Ok(self
            .hooks
            .pre_sign_up(&hook_caller(pool, client_id), source, username, request)
            .await?
            .unwrap_or_else(PreSignUpResponse::initial))
    }
}
