//! User import jobs in SQLite: one row per job, compare-and-set on `version`.

use async_trait::async_trait;
use rusqlite::params;

use super::{SqliteStore, exec, query_all, query_one, to_json};
use crate::store::StoreResult;
use crate::store::imports::{ImportJob, ImportJobStore};

#[async_trait]
impl ImportJobStore for SqliteStore {
    async fn create_import_job(&self, job: &ImportJob) -> StoreResult<bool> {
        let mut job = job.clone();
        job.version = 1;
        self.run(move |c| {
            let n = exec(
                c,
                "INSERT OR IGNORE INTO import_jobs (pool_id, job_id, created_at, version, data)
                 VALUES (?1, ?2, ?3, 1, ?4)",
                params![job.pool_id, job.job_id, job.created_at, to_json(&job)?],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn get_import_job(&self, pool: &str, job_id: &str) -> StoreResult<Option<ImportJob>> {
        let (pool, id) = (pool.to_owned(), job_id.to_owned());
        self.read(move |c| {
            query_one(
                c,
                "SELECT data FROM import_jobs WHERE pool_id = ?1 AND job_id = ?2",
                [pool, id],
            )
        })
        .await
    }

    async fn list_import_jobs(&self, pool: &str) -> StoreResult<Vec<ImportJob>> {
        let pool = pool.to_owned();
        self.read(move |c| {
            query_all(
                c,
                "SELECT data FROM import_jobs WHERE pool_id = ?1
                 ORDER BY created_at DESC, job_id",
                [pool],
            )
        })
        .await
    }

    async fn update_import_job(&self, job: &ImportJob, expected: u64) -> StoreResult<bool> {
        let mut job = job.clone();
        job.version = expected.saturating_add(1);
        self.run(move |c| {
            let n = exec(
                c,
                "UPDATE import_jobs SET version = ?3, data = ?4
                 WHERE pool_id = ?1 AND job_id = ?2 AND version = ?5",
                params![
                    job.pool_id,
                    job.job_id,
                    job.version as i64,
                    to_json(&job)?,
                    expected as i64
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }
}
