//! Where the sign-in and the token endpoint call the pool's hooks: the sign-in's
//! gate (pre-sign-up, pre-authentication, in `identity`), post-authentication, and
//! pre-token-generation for every issuance (hosted sign-in, refresh, client
//! credentials). A hook that fails fails the step before anything is issued or stored.

use super::{Flow, FlowError, PoolCtx, split_scope};
use crate::hooks::{
    Caller, GroupConfiguration, HookError, Hooks, PostAuthenticationRequest, PreTokenRequest,
    TokenOverrides, TokenSource, Trigger, user_attributes,
};
use crate::identity::Gate;
use crate::identity::gate::EXTERNAL_PROVIDER;
use crate::model::{IdentityLink, User};

/// The token endpoint's answer to a failed hook: the app gets `access_denied`.
pub(crate) fn token_error(e: &HookError) -> FlowError {
    FlowError::oauth(400, e.oauth_error(), e.to_string())
}

impl Flow {
    /// The hooks of a sign-in through `client_id`.
    pub(crate) fn gate<'a>(&'a self, ctx: &'a PoolCtx, client_id: &'a str) -> Gate<'a> {
        Gate {
            hooks: &self.hooks,
            caller: Caller {
                pool: &ctx.pool,
                client_id: Some(client_id),
            },
        }
    }

    /// After a federated sign-in resolved its user: `PostAuthentication_Authentication`,
    /// then pre-token generation from `source` (`TokenGeneration_HostedAuth` for the
    /// browser, whose changes travel with the code). The outer error is the store's;
    /// the inner one the hooks'.
    pub(crate) async fn after_sign_in(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        user: &User,
        scope: &str,
        source: TokenSource,
    ) -> Result<Result<Option<TokenOverrides>, HookError>, FlowError> {
        let pool = &ctx.pool;
        if !Hooks::has(pool, Trigger::PostAuthentication)
            && !Hooks::has(pool, Trigger::PreTokenGeneration)
        {
            return Ok(Ok(None));
        }
        let links = self
            .store
            .get_user_with_identities(&pool.id, &user.id)
            .await?
            .map(|(_, links)| links)
            .unwrap_or_default();
        let caller = Caller {
            pool,
            client_id: Some(client_id),
        };
        let post = self
            .hooks
            .post_authentication(
                &caller,
                &user.username,
                PostAuthenticationRequest {
                    new_device_used: false,
                    user_attributes: user_attributes(user, &links, EXTERNAL_PROVIDER),
                    client_metadata: None,
                },
            )
            .await;
        if let Err(e) = post {
            return Ok(Err(e));
        }
        Ok(self
            .token_overrides(ctx, client_id, Some((user, &links)), scope, source)
            .await)
    }

    /// Asks the pre-token-generation hook (when the pool has one) for changes of the
    /// tokens about to be issued to `user` (none for client credentials) with `scope`.
    pub(crate) async fn token_overrides(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        user: Option<(&User, &[IdentityLink])>,
        scope: &str,
        source: TokenSource,
    ) -> Result<Option<TokenOverrides>, HookError> {
        if Hooks::pre_token_version(&ctx.pool).is_none() {
            return Ok(None);
        }
        let (attrs, groups) = match user {
            Some((u, links)) => (
                user_attributes(u, links, EXTERNAL_PROVIDER),
                u.groups.clone(),
            ),
            None => Default::default(),
        };
        let request = PreTokenRequest {
            user_attributes: attrs,
            group_configuration: GroupConfiguration {
                groups_to_override: groups,
                iam_roles_to_override: Vec::new(),
                preferred_role: None,
            },
            scopes: Some(split_scope(scope)),
            client_metadata: None,
        };
        let caller = Caller {
            pool: &ctx.pool,
            client_id: Some(client_id),
        };
        self.hooks
            .pre_token_generation(
                &caller,
                source,
                user.map(|(u, _)| u.username.as_str()),
                request,
            )
            .await
    }
}
