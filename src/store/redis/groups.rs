//! Redis backend: pool groups (one hash per pool) and memberships (a set of user ids
//! per group and a set of group names per user, changed together by one script).

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::keys::{PoolKeys, enc};
use super::{RedisStore, UnexpectedReply, from_json, from_json_all, script, to_json};
use crate::model::Group;
use crate::store::{CasOutcome, GroupStore, MembershipOutcome, StoreError, StoreResult};

/// KEYS: groups, user, group members, user's groups. ARGV: name, user id.
static ADD: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'nogroup' end
if redis.call('EXISTS', KEYS[2]) == 0 then return 'nouser' end
local added = redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[1])
if added == 1 then return 'added' end
return 'member'",
    )
});

/// KEYS: group members, user's groups. ARGV: name, user id.
static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local n = redis.call('SREM', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[2], ARGV[1])
return n",
    )
});

/// KEYS: groups, group members. ARGV: name, pool prefix.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local n = redis.call('HDEL', KEYS[1], ARGV[1])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('SREM', ARGV[2] .. 'ugroups:' .. id, ARGV[1])
end
redis.call('DEL', KEYS[2])
return n",
    )
});

/// KEYS: groups. ARGV: name, JSON.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1",
    )
});

#[async_trait]
impl GroupStore for RedisStore {
    async fn create_group(&self, group: &Group) -> StoreResult<()> {
        let k = PoolKeys::new(&group.pool_id);
        let n: i64 = self
            .query(
                redis::cmd("HSETNX")
                    .arg(k.groups())
                    .arg(&group.name)
                    .arg(to_json(group)?),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "group {} exists",
                group.name
            )));
        }
        Ok(())
    }
    async fn get_group(&self, pool: &str, name: &str) -> StoreResult<Option<Group>> {
        let text: Option<String> = self
            .query(
                redis::cmd("HGET")
                    .arg(PoolKeys::new(pool).groups())
                    .arg(name),
            )
            .await?;
        text.as_deref().map(from_json).transpose()
    }
    async fn list_groups(&self, pool: &str) -> StoreResult<Vec<Group>> {
        let texts: Vec<String> = self
            .query(redis::cmd("HVALS").arg(PoolKeys::new(pool).groups()))
            .await?;
        let mut out: Vec<Group> = from_json_all(texts.into_iter().map(Some).collect())?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
    async fn update_group(&self, group: &Group) -> StoreResult<bool> {
        let k = PoolKeys::new(&group.pool_id);
        let n: i64 = self
            .eval(UPDATE.key(k.groups()).arg(&group.name).arg(to_json(group)?))
            .await?;
        Ok(n == 1)
    }
    async fn update_group_if(
        &self,
        expected: &Group,
        new: &Group,
    ) -> StoreResult<CasOutcome<Group>> {
        if (&expected.pool_id, &expected.name) != (&new.pool_id, &new.name) {
            return Err(StoreError::Invalid(
                "a compare-and-set cannot change a group's name".to_owned(),
            ));
        }
        let k = PoolKeys::new(&new.pool_id);
        super::records::hash_replace_if_equal(self, &k.groups(), &new.name, expected, new).await
    }
    async fn delete_group(&self, pool: &str, name: &str) -> StoreResult<bool> {
        let k = PoolKeys::new(pool);
        let n: i64 = self
            .eval(
                DELETE
                    .key(k.groups())
                    .key(k.group_members(name))
                    .arg(name)
                    .arg(k.prefix()),
            )
            .await?;
        Ok(n == 1)
    }
    async fn add_to_group(
        &self,
        pool: &str,
        name: &str,
        user_id: &str,
    ) -> StoreResult<MembershipOutcome> {
        // The delete script derives `ugroups:` keys from raw ids: only ids that need no
        // escaping (poolgate's UUIDs) can be members.
        if enc(user_id) != user_id {
            return Ok(MembershipOutcome::NoSuchUser);
        }
        let k = PoolKeys::new(pool);
        let reply: String = self
            .eval(
                ADD.key(k.groups())
                    .key(k.user(user_id))
                    .key(k.group_members(name))
                    .key(k.user_groups(user_id))
                    .arg(name)
                    .arg(user_id),
            )
            .await?;
        match reply.as_str() {
            "added" => Ok(MembershipOutcome::Added),
            "member" => Ok(MembershipOutcome::AlreadyMember),
            "nogroup" => Ok(MembershipOutcome::NoSuchGroup),
            "nouser" => Ok(MembershipOutcome::NoSuchUser),
            _ => Err(StoreError::unavailable(UnexpectedReply(reply))),
        }
    }
    async fn remove_from_group(&self, pool: &str, name: &str, user_id: &str) -> StoreResult<bool> {
        let k = PoolKeys::new(pool);
        let n: i64 = self
            .eval(
                REMOVE
                    .key(k.group_members(name))
                    .key(k.user_groups(user_id))
                    .arg(name)
                    .arg(user_id),
            )
            .await?;
        Ok(n == 1)
    }
    async fn groups_of_user(&self, pool: &str, user_id: &str) -> StoreResult<Vec<Group>> {
        let k = PoolKeys::new(pool);
        let names: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(k.user_groups(user_id)))
            .await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<Option<String>> = self
            .query(redis::cmd("HMGET").arg(k.groups()).arg(&names))
            .await?;
        let mut out: Vec<Group> = from_json_all(texts)?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
    async fn group_members(&self, pool: &str, name: &str) -> StoreResult<Vec<String>> {
        let k = PoolKeys::new(pool);
        let mut ids: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(k.group_members(name)))
            .await?;
        ids.sort();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // A deleted user's membership is not listed.
            let exists: i64 = self.query(redis::cmd("EXISTS").arg(k.user(&id))).await?;
            if exists == 1 {
                out.push(id);
            }
        }
        Ok(out)
    }
}
