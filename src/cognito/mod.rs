//! The Cognito API (`cognito-idp`, JSON 1.1): the table of operations that
//! `http::cognito` dispatches `X-Amz-Target` to, each a thin translation between the
//! botocore model's shapes and the admin service (interface.md section 7).
//!
//! Adding an operation: write `async fn op(ctx: Ctx, input: T) -> OpResult` in the file
//! of its area (`T` a serde struct of the input shape, or `serde_json::Value`), and add
//! one line to [`OPERATIONS`].

pub mod attributes;
pub mod auth;
pub mod client_secrets;
pub mod clients;
pub mod error;
pub mod groups;
pub mod imports;
pub mod introspect;
pub mod links;
pub mod mfa_config;
pub mod native_users;
pub mod pool_update;
pub mod pools;
pub mod providers;
pub mod resource_servers;
pub mod schema;
pub mod shapes;
pub mod signup;
pub mod sigv4;
pub mod tags;
pub mod users;

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::CognitoError;

use crate::http::SharedState;

/// The prefix of every `X-Amz-Target` of this service.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// What an operation works with.
#[derive(Clone)]
pub struct Ctx {
    pub state: SharedState,
    /// The region of the caller's credential scope (`None` for unsigned operations).
    pub region: Option<String>,
    /// The caller's address (`http::client_ip`), for sign-in throttling.
    pub client_ip: Option<std::net::IpAddr>,
}

impl Ctx {
    /// The admin service: every rule the operations apply is there.
    pub fn admin(&self) -> &crate::admin::Admin {
        &self.state.admin
    }

    /// Where the call comes from, for throttling.
    pub fn caller(&self) -> crate::flow::native::Caller {
        crate::flow::native::Caller {
            ip: self.client_ip,
            ..Default::default()
        }
    }

    /// The region a pool's ARN and descriptions name: the one in its Cognito-shaped id,
    /// else the caller's, else `us-east-1`.
    pub fn region_of(&self, pool_id: &str) -> String {
        match pool_id.split_once('_') {
            Some((r, _)) if !r.is_empty() => r.to_owned(),
            _ => self.region.clone().unwrap_or_else(|| "us-east-1".into()),
        }
    }
}

pub type OpResult = Result<Value, CognitoError>;
pub type OpFuture = Pin<Box<dyn Future<Output = OpResult> + Send>>;
/// An operation: the request body (a JSON object) in, the answer body out.
pub type Handler = fn(Ctx, Value) -> OpFuture;

/// One row of the operation table.
pub struct Operation {
    /// The operation's name in the model (`CreateUserPool`).
    pub name: &'static str,
    /// Whether the caller must sign with SigV4 (false for the operations Cognito
    /// serves to end users without AWS credentials).
    pub signed: bool,
    pub handler: Handler,
    /// The member names the input type reads (checked against the model in tests).
    pub input_fields: fn() -> Vec<&'static str>,
}

/// Reads the input shape `T` from the body and runs `f`; a body that does not fit the
/// shape is answered as Cognito does (see [`error::from_input_error`]).
pub fn call<T, F, Fut>(ctx: Ctx, body: Value, f: F) -> OpFuture
where
    T: DeserializeOwned,
    F: FnOnce(Ctx, T) -> Fut,
    Fut: Future<Output = OpResult> + Send + 'static,
{
    match serde_json::from_value::<T>(body) {
        Ok(input) => Box::pin(f(ctx, input)),
        Err(e) => {
            let e = error::from_input_error(&e);
            Box::pin(async move { Err(e) })
        }
    }
}

/// `op!("Name", signed, path::to::fn)` or `op!("Name", unsigned, path::to::fn)`.
macro_rules! op {
    ($name:literal, signed, $f:path) => {
        Operation {
            name: $name,
            signed: true,
            handler: |c, v| call(c, v, $f),
            input_fields: || introspect::input_fields_of($f),
        }
    };
    ($name:literal, unsigned, $f:path) => {
        Operation {
            name: $name,
            signed: false,
            handler: |c, v| call(c, v, $f),
            input_fields: || introspect::input_fields_of($f),
        }
    };
}

/// Every operation served, by its model name.
pub static OPERATIONS: &[Operation] = &[
    // User pools.
    op!("CreateUserPool", signed, pools::create_user_pool),
    op!("DescribeUserPool", signed, pools::describe_user_pool),
    op!("DeleteUserPool", signed, pools::delete_user_pool),
    op!("ListUserPools", signed, pools::list_user_pools),
    op!("UpdateUserPool", signed, pool_update::update_user_pool),
    op!(
        "UpdateUserPoolDomain",
        signed,
        pool_update::update_user_pool_domain
    ),
    op!("AddCustomAttributes", signed, schema::add_custom_attributes),
    op!(
        "GetUserPoolMfaConfig",
        signed,
        mfa_config::get_user_pool_mfa_config
    ),
    op!(
        "SetUserPoolMfaConfig",
        signed,
        mfa_config::set_user_pool_mfa_config
    ),
    op!("TagResource", signed, tags::tag_resource),
    op!("UntagResource", signed, tags::untag_resource),
    op!("ListTagsForResource", signed, tags::list_tags_for_resource),
    op!(
        "GetSigningCertificate",
        signed,
        pools::get_signing_certificate
    ),
    op!(
        "CreateUserPoolDomain",
        signed,
        pools::create_user_pool_domain
    ),
    op!(
        "DescribeUserPoolDomain",
        signed,
        pools::describe_user_pool_domain
    ),
    op!(
        "DeleteUserPoolDomain",
        signed,
        pools::delete_user_pool_domain
    ),
    // App clients.
    op!(
        "CreateUserPoolClient",
        signed,
        clients::create_user_pool_client
    ),
    op!(
        "DescribeUserPoolClient",
        signed,
        clients::describe_user_pool_client
    ),
    op!(
        "UpdateUserPoolClient",
        signed,
        clients::update_user_pool_client
    ),
    op!(
        "DeleteUserPoolClient",
        signed,
        clients::delete_user_pool_client
    ),
    op!(
        "ListUserPoolClients",
        signed,
        clients::list_user_pool_clients
    ),
    op!(
        "AddUserPoolClientSecret",
        signed,
        client_secrets::add_user_pool_client_secret
    ),
    op!(
        "ListUserPoolClientSecrets",
        signed,
        client_secrets::list_user_pool_client_secrets
    ),
    op!(
        "DeleteUserPoolClientSecret",
        signed,
        client_secrets::delete_user_pool_client_secret
    ),
    // Identity providers.
    op!(
        "CreateIdentityProvider",
        signed,
        providers::create_identity_provider
    ),
    op!(
        "DescribeIdentityProvider",
        signed,
        providers::describe_identity_provider
    ),
    op!(
        "UpdateIdentityProvider",
        signed,
        providers::update_identity_provider
    ),
    op!(
        "DeleteIdentityProvider",
        signed,
        providers::delete_identity_provider
    ),
    op!(
        "ListIdentityProviders",
        signed,
        providers::list_identity_providers
    ),
    op!(
        "GetIdentityProviderByIdentifier",
        signed,
        providers::get_identity_provider_by_identifier
    ),
    // Resource servers.
    op!(
        "CreateResourceServer",
        signed,
        resource_servers::create_resource_server
    ),
    op!(
        "DescribeResourceServer",
        signed,
        resource_servers::describe_resource_server
    ),
    op!(
        "UpdateResourceServer",
        signed,
        resource_servers::update_resource_server
    ),
    op!(
        "DeleteResourceServer",
        signed,
        resource_servers::delete_resource_server
    ),
    op!(
        "ListResourceServers",
        signed,
        resource_servers::list_resource_servers
    ),
    // Users.
    op!("ListUsers", signed, users::list_users),
    op!("AdminGetUser", signed, users::admin_get_user),
    op!("AdminDeleteUser", signed, users::admin_delete_user),
    op!("AdminDisableUser", signed, users::admin_disable_user),
    op!("AdminEnableUser", signed, users::admin_enable_user),
    op!(
        "AdminUserGlobalSignOut",
        signed,
        users::admin_user_global_sign_out
    ),
    op!(
        "AdminLinkProviderForUser",
        signed,
        users::admin_link_provider_for_user
    ),
    op!(
        "AdminDisableProviderForUser",
        signed,
        users::admin_disable_provider_for_user
    ),
    // User attributes: the admin's and the user's own.
    op!(
        "AdminUpdateUserAttributes",
        signed,
        attributes::admin_update_user_attributes
    ),
    op!(
        "AdminDeleteUserAttributes",
        signed,
        attributes::admin_delete_user_attributes
    ),
    op!(
        "UpdateUserAttributes",
        unsigned,
        attributes::update_user_attributes
    ),
    op!(
        "DeleteUserAttributes",
        unsigned,
        attributes::delete_user_attributes
    ),
    op!("DeleteUser", unsigned, attributes::delete_user),
    op!(
        "GetUserAttributeVerificationCode",
        unsigned,
        attributes::get_user_attribute_verification_code
    ),
    op!(
        "VerifyUserAttribute",
        unsigned,
        attributes::verify_user_attribute
    ),
    // Groups.
    op!("CreateGroup", signed, groups::create_group),
    op!("GetGroup", signed, groups::get_group),
    op!("UpdateGroup", signed, groups::update_group),
    op!("DeleteGroup", signed, groups::delete_group),
    op!("ListGroups", signed, groups::list_groups),
    op!(
        "AdminAddUserToGroup",
        signed,
        groups::admin_add_user_to_group
    ),
    op!(
        "AdminRemoveUserFromGroup",
        signed,
        groups::admin_remove_user_from_group
    ),
    op!(
        "AdminListGroupsForUser",
        signed,
        groups::admin_list_groups_for_user
    ),
    op!("ListUsersInGroup", signed, groups::list_users_in_group),
    // Native users: sign-in (flow::native), self-service and admin rules.
    op!("InitiateAuth", unsigned, auth::initiate_auth),
    op!("AdminInitiateAuth", signed, auth::admin_initiate_auth),
    op!(
        "RespondToAuthChallenge",
        unsigned,
        auth::respond_to_auth_challenge
    ),
    op!(
        "AdminRespondToAuthChallenge",
        signed,
        auth::admin_respond_to_auth_challenge
    ),
    op!(
        "GetTokensFromRefreshToken",
        unsigned,
        auth::get_tokens_from_refresh_token
    ),
    op!("RevokeToken", unsigned, auth::revoke_token),
    op!("GetUser", unsigned, native_users::get_user),
    op!("GlobalSignOut", unsigned, native_users::global_sign_out),
    op!("ChangePassword", unsigned, native_users::change_password),
    op!(
        "AssociateSoftwareToken",
        unsigned,
        native_users::associate_software_token
    ),
    op!(
        "VerifySoftwareToken",
        unsigned,
        native_users::verify_software_token
    ),
    op!(
        "SetUserMFAPreference",
        unsigned,
        native_users::set_user_mfa_preference
    ),
    op!(
        "AdminSetUserMFAPreference",
        signed,
        native_users::admin_set_user_mfa_preference
    ),
    op!("AdminCreateUser", signed, native_users::admin_create_user),
    op!(
        "AdminSetUserPassword",
        signed,
        native_users::admin_set_user_password
    ),
    op!(
        "AdminResetUserPassword",
        signed,
        native_users::admin_reset_user_password
    ),
    op!(
        "AdminConfirmSignUp",
        signed,
        native_users::admin_confirm_sign_up
    ),
    // User import jobs.
    op!("GetCSVHeader", signed, imports::get_csv_header),
    op!(
        "CreateUserImportJob",
        signed,
        imports::create_user_import_job
    ),
    op!("StartUserImportJob", signed, imports::start_user_import_job),
    op!(
        "DescribeUserImportJob",
        signed,
        imports::describe_user_import_job
    ),
    op!("ListUserImportJobs", signed, imports::list_user_import_jobs),
    op!("StopUserImportJob", signed, imports::stop_user_import_job),
    op!("SignUp", unsigned, signup::sign_up),
    op!("ConfirmSignUp", unsigned, signup::confirm_sign_up),
    op!(
        "ResendConfirmationCode",
        unsigned,
        signup::resend_confirmation_code
    ),
    op!("ForgotPassword", unsigned, signup::forgot_password),
    op!(
        "ConfirmForgotPassword",
        unsigned,
        signup::confirm_forgot_password
    ),
];

/// The operation a target names (`AWSCognitoIdentityProviderService.{Op}`).
pub fn operation(target: &str) -> Option<&'static Operation> {
    let name = target.strip_prefix(TARGET_PREFIX)?;
    OPERATIONS.iter().find(|o| o.name == name)
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod model_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_each_name_once_and_finds_by_target() {
        let mut names: Vec<&str> = OPERATIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "an operation is listed twice");
        assert!(operation("AWSCognitoIdentityProviderService.ListUserPools").is_some());
        assert!(operation("ListUserPools").is_none());
        assert!(operation("AWSCognitoIdentityProviderService.Nope").is_none());
    }
}
