//! The hooks that run while a federated sign-in's user is resolved:
//! `PreSignUp_ExternalProvider` before a new user is created (a first sign-in), and
//! `PreAuthentication_Authentication` before an existing user's record is touched (a
//! later sign-in; Cognito does not run it on the first): both run before any write,
//! so a refusal leaves nothing behind. `PostConfirmation_ConfirmSignUp`
//! runs just after a first sign-in created its user (a federated user's confirmation
//! is its creation, as Cognito's): its failure fails that sign-in, and the user stays,
//! as in Cognito (its next sign-in is not a first one).

use crate::hooks::{
    Caller, HookError, Hooks, PostConfirmationRequest, PostConfirmationSource,
    PreAuthenticationRequest, PreSignUpRequest, PreSignUpResponse, PreSignUpSource, StringMap,
    user_attributes,
};
use crate::model::{IdentityLink, User};

/// Federated users' `cognito:user_status`, as Cognito reports it.
pub const EXTERNAL_PROVIDER: &str = "EXTERNAL_PROVIDER";

/// The hooks of one sign-in: the client and pool it is for.
pub struct Gate<'a> {
    pub hooks: &'a Hooks,
    pub caller: Caller<'a>,
}

impl Gate<'_> {
    /// Asks the pre-sign-up hook about a user about to be created from an external
    /// identity. `None`: no hook.
    pub async fn pre_sign_up(&self, user: &User) -> Result<Option<PreSignUpResponse>, HookError> {
        let mut attrs: StringMap = user_attributes(user, &[], EXTERNAL_PROVIDER);
        // Not yet a user: no `sub` or status, only what the provider asserted.
        attrs.remove("sub");
        attrs.remove("cognito:user_status");
        self.hooks
            .pre_sign_up(
                &self.caller,
                PreSignUpSource::ExternalProvider,
                &user.username,
                PreSignUpRequest {
                    user_attributes: attrs,
                    validation_data: None,
                    client_metadata: None,
                },
            )
            .await
    }

    /// Asks the pre-authentication hook whether `user` may sign in.
    pub async fn pre_authentication(&self, user: &User) -> Result<(), HookError> {
        self.hooks
            .pre_authentication(
                &self.caller,
                &user.username,
                PreAuthenticationRequest {
                    user_attributes: user_attributes(user, &[], EXTERNAL_PROVIDER),
                    validation_data: None,
                    user_not_found: false,
                },
            )
            .await
    }

    /// Tells the post-confirmation hook that `user` was just created from its first
    /// federated sign-in through `link`.
    pub async fn post_confirmation(
        &self,
        user: &User,
        link: &IdentityLink,
    ) -> Result<(), HookError> {
        self.hooks
            .post_confirmation(
                &self.caller,
                PostConfirmationSource::ConfirmSignUp,
                &user.username,
                PostConfirmationRequest {
                    user_attributes: user_attributes(
                        user,
                        std::slice::from_ref(link),
                        EXTERNAL_PROVIDER,
                    ),
                    client_metadata: None,
                },
            )
            .await
    }
}
