//! User import jobs in Redis: the pool's hash `import_jobs` (job id -> JSON); updates
//! compare-and-set on the record's `version` in one script. Deleting the pool removes
//! it with the pool's other keys.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::keys::PoolKeys;
use super::{RedisStore, from_json, script, to_json};
use crate::store::StoreResult;
use crate::store::imports::{ImportJob, ImportJobStore};

/// KEYS: jobs hash. ARGV: job id, expected version, JSON.
static UPDATE_JOB: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
if tostring(cjson.decode(cur)['version']) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1",
    )
});

#[async_trait]
impl ImportJobStore for RedisStore {
    async fn create_import_job(&self, job: &ImportJob) -> StoreResult<bool> {
        let mut job = job.clone();
        job.version = 1;
        let n: i64 = self
            .query(
                redis::cmd("HSETNX")
                    .arg(PoolKeys::new(&job.pool_id).import_jobs())
                    .arg(&job.job_id)
                    .arg(to_json(&job)?),
            )
            .await?;
        Ok(n == 1)
    }

    async fn get_import_job(&self, pool: &str, job_id: &str) -> StoreResult<Option<ImportJob>> {
        let text: Option<String> = self
            .query(
                redis::cmd("HGET")
                    .arg(PoolKeys::new(pool).import_jobs())
                    .arg(job_id),
            )
            .await?;
        text.as_deref().map(from_json).transpose()
    }

    async fn list_import_jobs(&self, pool: &str) -> StoreResult<Vec<ImportJob>> {
        let all: Vec<String> = self
            .query(redis::cmd("HVALS").arg(PoolKeys::new(pool).import_jobs()))
            .await?;
        let mut jobs = all
            .iter()
            .map(|t| from_json(t))
            .collect::<StoreResult<Vec<ImportJob>>>()?;
        jobs.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.job_id.cmp(&b.job_id))
        });
        Ok(jobs)
    }

    async fn update_import_job(&self, job: &ImportJob, expected: u64) -> StoreResult<bool> {
        let mut job = job.clone();
        job.version = expected.saturating_add(1);
        let n: i64 = self
            .eval(
                UPDATE_JOB
                    .key(PoolKeys::new(&job.pool_id).import_jobs())
                    .arg(&job.job_id)
                    .arg(expected.to_string())
                    .arg(to_json(&job)?),
            )
            .await?;
        Ok(n == 1)
    }
}
