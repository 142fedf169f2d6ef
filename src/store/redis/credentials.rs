//! Native users' credentials in Redis: `cred:{user id}` holds the record's JSON; the
//! scripts create a user with its credential in one step and compare-and-set on the
//! record's `version`. `DELETE_USER` (users.rs) removes it with the user.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::keys::PoolKeys;
use super::{RedisStore, UnexpectedReply, from_json, script, to_json};
use crate::model::User;
use crate::store::credentials::{CreateNativeOutcome, Credential, CredentialStore, next_version};
use crate::store::{StoreError, StoreResult};

/// KEYS: username, user, users, credential, [email index].
/// ARGV: user id, created_at, user JSON, credential JSON.
static CREATE_NATIVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 'taken' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'taken' end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SET', KEYS[4], ARGV[4])
if KEYS[5] then redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1]) end
return 'created'",
    )
});

/// KEYS: user, credential. ARGV: expected version (empty: none yet), credential JSON.
static PUT_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cur = redis.call('GET', KEYS[2])
if ARGV[1] == '' then
  if cur then return 0 end
else
  if not cur then return 0 end
  if tostring(cjson.decode(cur)['version']) ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[2], ARGV[2])
return 1",
    )
});

#[async_trait]
impl CredentialStore for RedisStore {
    async fn create_native_user(
        &self,
        user: &User,
        credential: &Credential,
    ) -> StoreResult<CreateNativeOutcome> {
        let mut cred = credential.clone();
        cred.version = 1;
        let k = PoolKeys::new(&user.pool_id);
        let mut inv = CREATE_NATIVE.prepare_invoke();
        inv.key(k.username(&user.username))
            .key(k.user(&user.id))
            .key(k.users())
            .key(k.credential(&user.id));
        if let Some(email) = &user.email_norm {
            inv.key(k.email(email));
        }
        inv.arg(&user.id)
            .arg(user.created_at)
            .arg(to_json(user)?)
            .arg(to_json(&cred)?);
        let reply: String = self.eval(&inv).await?;
        match reply.as_str() {
            "created" => Ok(CreateNativeOutcome::Created),
            "taken" => Ok(CreateNativeOutcome::UsernameExists),
            _ => Err(StoreError::unavailable(UnexpectedReply(reply))),
        }
    }

    async fn get_credential(&self, pool: &str, user_id: &str) -> StoreResult<Option<Credential>> {
        let text: Option<String> = self
            .query(redis::cmd("GET").arg(PoolKeys::new(pool).credential(user_id)))
            .await?;
        text.as_deref().map(from_json).transpose()
    }

    async fn put_credential(
        &self,
        credential: &Credential,
        expected: Option<u64>,
    ) -> StoreResult<bool> {
        let mut cred = credential.clone();
        cred.version = next_version(expected);
        let k = PoolKeys::new(&cred.pool_id);
        let n: i64 = self
            .eval(
                PUT_CREDENTIAL
                    .key(k.user(&cred.user_id))
                    .key(k.credential(&cred.user_id))
                    .arg(expected.map(|v| v.to_string()).unwrap_or_default())
                    .arg(to_json(&cred)?),
            )
            .await?;
        Ok(n == 1)
    }
}
