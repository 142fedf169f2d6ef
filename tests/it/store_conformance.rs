//! The store conformance suite: every method's contract, run unchanged against every
//! backend, one test per (backend, contract) ([`contract_tests`]), each on a store of
//! its own. Every check still works in fresh pools with random ids and never assumes
//! the store is empty, so that a backend shared with other runs passes too.

use std::collections::BTreeMap;

use poolgate::model::{
    AppClient, Branding, ClientSecretRecord, DomainRecord, HookSecret, IdentityLink, IssuerStyle,
    LambdaConfig, LambdaVersion, LinkPolicy, OAuthFlow, Pool, PoolSettings, ProviderRecord,
    RefreshRotation, RefreshState, RefreshTokenRecord, ResourceScope, ResourceServer, SigningAlg,
    SigningKeyRecord, User, VersionedHook,
};
use poolgate::store::SharedBackend;
use serde_json::json;

use crate::harness::ptype;

pub mod client_races;
pub mod credentials;
pub mod ephemeral;
pub mod groups;
pub mod hardening;
pub mod imports;
pub mod listing;
pub mod pending_links;
pub mod pool_races;
pub mod races;
pub mod records;
mod sqlite;
pub mod tokens;
pub mod users;

/// A fresh, empty backend for one test, and what keeps it alive (its SQLite file's
/// folder, its `redis-server`). The backend is dropped first.
pub struct Fresh {
    pub backend: SharedBackend,
    pub _keep: Box<dyn std::any::Any + Send>,
}

/// One `#[tokio::test]` per contract against the backend `$open` makes (an async fn
/// returning a [`Fresh`] store for each test), in a module named `$module`: the first
/// failure hides no other contract.
macro_rules! contract_tests {
    ($module:ident, $open:path) => {
        $crate::store_conformance::contract_tests!(@each $module, $open;
            ping => records::ping;
            sp_keys => $crate::saml_store::sp_keys;
            pools => records::pools;
            domains => records::domains;
            clients => records::clients;
            providers => records::providers;
            resource_servers => records::resource_servers;
            delete_pool_cascades => records::delete_pool_cascades;
            user_lookups => users::lookups;
            user_update => users::update;
            identity_taken => users::identity_taken;
            concurrent_first_sign_in => users::concurrent_first_sign_in;
            link_and_unlink => users::link_and_unlink;
            list_pages_and_filters => listing::list_pages_and_filters;
            list_limit_clamped => listing::list_limit_clamped;
            delete_user_cascades => users::delete_user_cascades;
            patch_user_keeps_what_it_does_not_name => races::patch_user_keeps_what_it_does_not_name;
            concurrent_patches_all_land => races::concurrent_patches_all_land;
            replace_provider_is_compare_and_set => races::replace_provider_is_compare_and_set;
            sign_in_races_admin_writes => races::sign_in_races_admin_writes;
            update_pool_if => pool_races::update_pool_if;
            admin_pool_changes_all_land => pool_races::admin_pool_changes_all_land;
            admin_tags_keep_concurrent_patches => pool_races::admin_tags_keep_concurrent_patches;
            update_client_if => client_races::update_client_if;
            admin_client_changes_all_land => client_races::admin_client_changes_all_land;
            admin_group_updates_all_land => client_races::admin_group_updates_all_land;
            groups => groups::groups;
            delete_user_ends_memberships => groups::delete_user_ends_memberships;
            disabled_user_gains_no_link => hardening::disabled_user_gains_no_link;
            provider_delete_unlinks => hardening::provider_delete_unlinks;
            credentials_create_and_read => credentials::create_and_read;
            credentials_compare_and_set => credentials::compare_and_set;
            credentials_concurrent_writers => credentials::concurrent_writers;
            credentials_deleted_with_user_and_pool => credentials::deleted_with_user_and_pool;
            import_jobs => imports::import_jobs;
            pending_links_create_find_delete => pending_links::create_find_delete;
            pending_links_count_toward_the_limit => pending_links::count_toward_the_limit;
            pending_links_claim => pending_links::claim;
            pending_links_concurrent_claims => pending_links::concurrent_claims;
            pending_links_gone_with_user_provider_and_pool => pending_links::gone_with_user_provider_and_pool;
            signing_keys => tokens::keys;
            concurrent_initial_key => tokens::concurrent_initial_key;
            refresh_rotation => tokens::refresh_rotation;
            refresh_expired_and_unknown => tokens::refresh_expired_and_unknown;
            refresh_is_pool_scoped => tokens::refresh_is_pool_scoped;
            concurrent_refresh_rotation => tokens::concurrent_rotation;
            revoke_family_and_user => tokens::revoke_family_and_user;
            ephemeral_put_get_take => ephemeral::put_get_take;
            ephemeral_namespaces => ephemeral::namespaces;
            ephemeral_concurrent_take => ephemeral::concurrent_take;
            ephemeral_put_if_absent => ephemeral::put_if_absent;
            // Twice: with the kinds sign-ins use (which the SQLite backend keeps in
            // memory) and with other kinds (kept in its file).
            take_and_put_marks_once_sign_in_kinds => ephemeral::take_and_put_marks_once, ephemeral::SIGN_IN_KINDS;
            take_and_put_marks_once_file_kinds => ephemeral::take_and_put_marks_once, ephemeral::FILE_KINDS;
            redeem_code_sign_in_kinds => ephemeral::redeem_code, ephemeral::SIGN_IN_KINDS;
            redeem_code_file_kinds => ephemeral::redeem_code, ephemeral::FILE_KINDS;
            take_and_put_sign_in_kinds => ephemeral::take_and_put, (EphemeralKind::Flow, EphemeralKind::Code);
            take_and_put_file_kinds => ephemeral::take_and_put, ephemeral::FILE_KINDS;
            revocation_during_redemption => ephemeral::revocation_during_redemption;
            ephemeral_ttl_expiry => ephemeral::ttl_expiry;
        );
    };
    (@each $module:ident, $open:path; $($name:ident => $f:path $(, $arg:expr)?;)*) => {
        mod $module {
            #[allow(unused_imports)]
            use poolgate::store::EphemeralKind;
            #[allow(unused_imports)]
            use $crate::store_conformance::{
                client_races, credentials, ephemeral, groups, hardening, imports, listing,
                pending_links, pool_races, races, records, tokens, users,
            };
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fresh = $open().await;
                    $f(&fresh.backend $(, $arg)?).await;
                }
            )*
        }
    };
}
pub(crate) use contract_tests;

/// A random id, unique across runs sharing one backend.
pub fn uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Creates a fresh pool and returns its id.
pub async fn fresh_pool(b: &SharedBackend) -> String {
    let id = format!("conf-{}", uid());
    b.create_pool(&pool(&id)).await.expect("create pool");
    id
}

pub fn pool(id: &str) -> Pool {
    Pool {
        id: id.into(),
        settings: PoolSettings {
            signing_alg: SigningAlg::ES256,
            email_case_sensitive: false,
            issuer_style: IssuerStyle::Cognito,
            sp_entity_id: Some(format!("urn:amazon:cognito:sp:{id}")),
            cognito_claims: None,
            // Hooks and their secret persist with the pool in every backend.
            hooks: LambdaConfig {
                pre_sign_up: Some("https://hooks.example.com/pre-sign-up".into()),
                pre_token_generation_config: Some(VersionedHook {
                    lambda_version: LambdaVersion::V2_0,
                    lambda_arn: "https://hooks.example.com/pre-token".into(),
                }),
                ..LambdaConfig::default()
            },
            // Cognito's UserPoolTags persist with the pool.
            tags: [
                ("env".to_owned(), "prod".to_owned()),
                ("team".to_owned(), String::new()),
            ]
            .into(),
            ..PoolSettings::default()
        },
        created_at: 1_700_000_000,
        hook_secret: Some(HookSecret("conformance-hook-secret".into())),
    }
}

pub fn domain(pool: &str, domain: &str) -> DomainRecord {
    DomainRecord {
        domain: domain.into(),
        pool_id: pool.into(),
        certificate_pem: Some(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
        ),
        private_key_pem: Some(
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n".into(),
        ),
        created_at: 1_700_000_001,
    }
}

pub fn client(pool: &str, client_id: &str) -> AppClient {
    AppClient {
        pool_id: pool.into(),
        client_id: client_id.into(),
        name: format!("app {client_id}"),
        secret_hash: Some("ab".repeat(32)),
        callback_urls: vec!["https://app.example.test/cb".into()],
        logout_urls: vec!["https://app.example.test/bye".into()],
        allowed_oauth_flows: vec![OAuthFlow::Code, OAuthFlow::ClientCredentials],
        allowed_scopes: vec!["openid".into(), "email".into(), "api/read".into()],
        supported_identity_providers: vec!["Google".into(), "Corp".into()],
        id_token_validity_s: 3600,
        access_token_validity_s: 1800,
        refresh_token_validity_s: 86_400,
        branding: Branding {
            logo_url: Some("https://app.example.test/logo.png".into()),
            primary_color: Some("#123456".into()),
            css: Some("body { color: red }".into()),
        },
        refresh_token_rotation: RefreshRotation {
            enabled: true,
            retry_grace_s: 30,
        },
        explicit_auth_flows: vec![
            "ALLOW_USER_SRP_AUTH".into(),
            "ALLOW_REFRESH_TOKEN_AUTH".into(),
        ],
        created_at: 1_700_000_002,
        // Two current secrets (a rotation under way), each a digest and a sealed copy.
        secrets: vec![
            ClientSecretRecord {
                id: format!("{client_id}--1700000002000"),
                created_at: 1_700_000_002,
                hash: "ab".repeat(32),
                sealed: Some("v1.c2VhbGVkLW9uZQ".into()),
            },
            ClientSecretRecord {
                id: format!("{client_id}--1700000003000"),
                created_at: 1_700_000_003,
                hash: "cd".repeat(32),
                sealed: Some("v1.c2VhbGVkLXR3bw".into()),
            },
        ],
    }
}

pub fn provider(pool: &str, name: &str) -> ProviderRecord {
    let details = json!({
        "client_id": "upstream-client",
        "client_secret": "upstream-secret",
        "issuer": "https://idp.example.test",
        "authorize_scopes": "openid email",
    });
    ProviderRecord {
        pool_id: pool.into(),
        name: name.into(),
        provider_type: ptype("OIDC"),
        details: details.as_object().cloned().unwrap_or_default(),
        attribute_mapping: BTreeMap::from([("email".into(), "email".into())]),
        idp_identifiers: vec!["corp.example.test".into()],
        link_by_email: LinkPolicy::Verified,
        created_at: 1_700_000_003,
        updated_at: 1_700_000_004,
        version: "v1".into(),
    }
}

pub fn resource_server(pool: &str, identifier: &str) -> ResourceServer {
    ResourceServer {
        pool_id: pool.into(),
        identifier: identifier.into(),
        name: format!("api {identifier}"),
        scopes: vec![
            ResourceScope {
                name: "read".into(),
                description: "Read things".into(),
            },
            ResourceScope {
                name: "write".into(),
                description: String::new(),
            },
        ],
    }
}

/// A user with a fresh id; `email` is also its normalized email, lower-cased.
pub fn user(pool: &str, username: &str, email: Option<&str>, created_at: i64) -> User {
    User {
        pool_id: pool.into(),
        id: uuid::Uuid::new_v4().to_string(),
        username: username.into(),
        enabled: true,
        email: email.map(str::to_owned),
        email_norm: email.map(str::to_lowercase),
        email_verified: email.is_some(),
        attributes: BTreeMap::from([
            ("name".into(), json!("Ann Example")),
            ("picture".into(), json!("https://img.example.test/a.png")),
        ]),
        groups: vec!["staff".into()],
        created_at,
        updated_at: created_at,
        tokens_valid_after: 0,
    }
}

pub fn link(user: &User, provider: &str, subject: &str) -> IdentityLink {
    IdentityLink {
        pool_id: user.pool_id.clone(),
        provider_name: provider.into(),
        provider_type: ptype("Google"),
        subject: subject.into(),
        issuer: Some("https://accounts.google.com".into()),
        user_id: user.id.clone(),
        primary: true,
        created_at_ms: 1_700_000_000_000,
    }
}

/// Creates `user` with a first link to a fresh subject of `provider`; returns the link.
pub async fn create_linked(b: &SharedBackend, user: &User, provider: &str) -> IdentityLink {
    let l = link(user, provider, &uid());
    let outcome = b
        .create_user_with_identity(user, &l)
        .await
        .expect("create user");
    assert_eq!(outcome, poolgate::store::CreateUserOutcome::Created);
    l
}

pub fn key(pool: &str, kid: &str, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        pool_id: pool.into(),
        kid: kid.into(),
        alg: SigningAlg::ES256,
        private_pkcs8: "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg".into(),
        public_jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": "AAAA", "y": "BBBB"}),
        created_at,
        active: true,
        visible_until: None,
    }
}

pub fn refresh(pool: &str, family: &str, user_id: &str, expires_at: i64) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: format!("{}{}", uid(), uid()),
        pool_id: pool.into(),
        family_id: family.into(),
        user_id: user_id.into(),
        client_id: "client-1".into(),
        scope: "openid email".into(),
        auth_time: 1_000,
        issued_at: 1_000,
        expires_at,
        state: RefreshState::Active,
    }
}
