//! Records for the Redis store tests, with the fields that matter as parameters.

use std::collections::BTreeMap;
use std::sync::Arc;

use poolgate::model::{
    IdentityLink, Pool, PoolSettings, RefreshState, RefreshTokenRecord, SigningAlg,
    SigningKeyRecord, User,
};
use poolgate::store::prelude::*;
use poolgate::store::redis::RedisStore;

use crate::harness::ptype;
use crate::redis_server::RedisServer;

/// A fresh server and a store connected to it.
pub async fn store() -> (RedisServer, Arc<RedisStore>) {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url())
        .await
        .expect("open redis store");
    (server, Arc::new(store))
}

pub async fn with_pool(store: &RedisStore, id: &str) {
    let pool = Pool {
        id: id.into(),
        settings: PoolSettings::default(),
        created_at: 1,
        hook_secret: None,
    };
    store.create_pool(&pool).await.expect("create pool");
}

pub fn user(pool: &str, id: &str, username: &str, email: Option<&str>, created_at: i64) -> User {
    User {
        pool_id: pool.into(),
        id: id.into(),
        username: username.into(),
        enabled: true,
        email: email.map(str::to_owned),
        email_norm: email.map(str::to_lowercase),
        email_verified: email.is_some(),
        attributes: BTreeMap::from([("name".to_owned(), serde_json::json!("Ada"))]),
        groups: vec!["staff".into()],
        created_at,
        updated_at: created_at,
        tokens_valid_after: 0,
    }
}

pub fn link(pool: &str, user_id: &str, provider: &str, subject: &str) -> IdentityLink {
    IdentityLink {
        pool_id: pool.into(),
        provider_name: provider.into(),
        provider_type: ptype("OIDC"),
        subject: subject.into(),
        issuer: Some("https://idp.example".into()),
        user_id: user_id.into(),
        primary: true,
        created_at_ms: 1_000,
    }
}

pub fn refresh(
    pool: &str,
    hash: &str,
    family: &str,
    user_id: &str,
    expires_at: i64,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: hash.into(),
        pool_id: pool.into(),
        family_id: family.into(),
        user_id: user_id.into(),
        client_id: "app".into(),
        scope: "openid".into(),
        auth_time: 100,
        issued_at: 100,
        expires_at,
        state: RefreshState::Active,
    }
}

pub fn signing_key(pool: &str, kid: &str, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        pool_id: pool.into(),
        kid: kid.into(),
        alg: SigningAlg::ES256,
        private_pkcs8: "AAAA".into(),
        public_jwk: serde_json::json!({"kty": "EC", "kid": kid}),
        created_at,
        active: true,
        visible_until: None,
    }
}
