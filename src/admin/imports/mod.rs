//! User import from CSV, as Cognito's user import jobs: `GetCSVHeader`'s columns, a job
//! whose `PreSignedUrl` (served by poolgate, one upload, size-capped) takes the file,
//! and the import itself, shared by `StartUserImportJob` and `poolgate import-users`:
//! each row checked on its own and created whole (user and credential in one step) in
//! `RESET_REQUIRED`, or refused with its reason; never half a row.

mod recovery;
mod rows;

pub use recovery::{HEARTBEAT_EVERY_S, STALE_AFTER_S, orphaned_outcome, spawn_recovery};
pub use rows::{CSV_HEADER, ImportReport, Refusal, futures_stop, import_csv, masked};

use std::sync::atomic::{AtomicI64, Ordering};

use url::Url;

use super::service::Admin;
use crate::clock::SharedClock;
use crate::flow::native::NativeError;
use crate::model::Pool;
use crate::secret::{constant_time_eq, random_token, sha256_hex};
use crate::store::EphemeralKind;
use crate::store::SharedBackend;
pub use crate::store::imports::{ImportJob, ImportStatus};

/// How long an uploaded CSV waits for `StartUserImportJob`.
const CSV_TTL: std::time::Duration = std::time::Duration::from_secs(86_400);

fn not_found() -> NativeError {
    NativeError::ResourceNotFound("The import job does not exist.".into())
}

fn job_id() -> String {
    // Cognito's pattern: `import-[0-9a-zA-Z-]+`.
    let raw = random_token(16);
    let alnum: String = raw.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("import-{alnum}")
}

impl Admin {
    /// `CreateUserImportJob`: the job and its `PreSignedUrl` (the token is only in the
    /// URL given here; the job keeps its hash).
    pub async fn create_import_job(
        &self,
        pool: &Pool,
        name: &str,
        role_arn: &str,
        public_url: &Url,
    ) -> Result<(ImportJob, String), NativeError> {
        if name.is_empty() || name.len() > 128 {
            return Err(NativeError::InvalidParameter(
                "JobName must be 1 to 128 characters.".into(),
            ));
        }
        if !role_arn.starts_with("arn:") || role_arn.len() < 20 || role_arn.len() > 2048 {
            return Err(NativeError::InvalidParameter(
                "CloudWatchLogsRoleArn must be an ARN.".into(),
            ));
        }
        let token = random_token(32);
        let job = ImportJob {
            pool_id: pool.id.clone(),
            job_id: job_id(),
            job_name: name.to_owned(),
            status: ImportStatus::Created,
            cloudwatch_logs_role_arn: role_arn.to_owned(),
            upload_token_hash: sha256_hex(&token),
            uploaded: false,
            created_at: self.clock.now(),
            started_at: None,
            completed_at: None,
            imported: 0,
            skipped: 0,
            failed: 0,
            completion_message: None,
            version: 1,
            heartbeat_at: None,
        };
        if !self.store.create_import_job(&job).await? {
            return Err(NativeError::Flow(crate::flow::FlowError::Unavailable));
        }
        let mut url = public_url.clone();
        url.path_segments_mut()
            .map_err(|()| {
                crate::flow::FlowError::internal(
                    "build the import URL",
                    "the public URL cannot be a base",
                )
            })?
            .pop_if_empty()
            .push("import")
            .push(&job.job_id);
        url.query_pairs_mut().append_pair("token", &token);
        Ok((job, url.to_string()))
    }

    pub async fn import_job(&self, pool: &str, job_id: &str) -> Result<ImportJob, NativeError> {
        if job_id.is_empty() || job_id.len() > 55 {
            return Err(not_found());
        }
        self.store
            .get_import_job(pool, job_id)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn list_import_jobs(&self, pool: &str) -> Result<Vec<ImportJob>, NativeError> {
        Ok(self.store.list_import_jobs(pool).await?)
    }

    /// Changes a job with `f`, compare-and-set on its version.
    async fn update_job(
        &self,
        pool: &str,
        job_id: &str,
        f: impl Fn(&mut ImportJob) -> Result<(), NativeError>,
    ) -> Result<ImportJob, NativeError> {
        update_job(&self.store, pool, job_id, f).await
    }

    /// The `PreSignedUrl`'s one upload: the token checked in constant time against the
    /// job (in any pool), the CSV kept until the job starts. A second upload, a wrong
    /// token or a started job is refused and changes nothing.
    pub async fn upload_import_csv(
        &self,
        job_id: &str,
        token: &str,
        csv: &[u8],
    ) -> Result<(), NativeError> {
        let refused = || NativeError::NotAuthorized("The upload URL is not valid.".into());
        if job_id.is_empty() || job_id.len() > 55 || token.is_empty() || token.len() > 128 {
            return Err(refused());
        }
        let mut found = None;
        for pool in self.store.list_pools().await? {
            if let Some(j) = self.store.get_import_job(&pool.id, job_id).await? {
                found = Some(j);
                break;
            }
        }
        let job = found.ok_or_else(refused)?;
        if !constant_time_eq(
            sha256_hex(token).as_bytes(),
            job.upload_token_hash.as_bytes(),
        ) {
            return Err(refused());
        }
        // Claimed first (compare-and-set): of two concurrent uploads one wins.
        self.update_job(&job.pool_id, job_id, |j| {
            if j.uploaded || j.status != ImportStatus::Created {
                return Err(refused());
            }
            j.uploaded = true;
            Ok(())
        })
        .await?;
        self.store
            .put(&job.pool_id, EphemeralKind::ImportCsv, job_id, csv, CSV_TTL)
            .await?;
        Ok(())
    }

    /// `StartUserImportJob`: the job runs in the background; the answer shows it
    /// `Pending`.
    pub async fn start_import_job(
        &self,
        pool: &Pool,
        job_id: &str,
    ) -> Result<ImportJob, NativeError> {
        let now = self.clock.now();
        let job = self
            .update_job(&pool.id, job_id, |j| {
                if j.status != ImportStatus::Created || !j.uploaded {
                    return Err(NativeError::InvalidParameter(
                        "The job can start only once, after its CSV file was uploaded.".into(),
                    ));
                }
                j.status = ImportStatus::Pending;
                j.started_at = Some(now);
                Ok(())
            })
            .await?;
        let (store, clock, pool) = (self.store.clone(), self.clock.clone(), pool.clone());
        let id = job_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = run_job(&store, &clock, &pool, &id).await {
                tracing::error!(job = %id, error = %e, "import job failed");
            }
        });
        Ok(job)
    }

    /// `StopUserImportJob`: a job not yet running stops at once; a running one at its
    /// next check.
    pub async fn stop_import_job(
        &self,
        pool: &str,
        job_id: &str,
    ) -> Result<ImportJob, NativeError> {
        let now = self.clock.now();
        self.update_job(pool, job_id, |j| {
            match j.status {
                ImportStatus::Created | ImportStatus::Pending => {
                    j.status = ImportStatus::Stopped;
                    j.completed_at = Some(now);
                }
                ImportStatus::InProgress => j.status = ImportStatus::Stopping,
                _ => {
                    return Err(NativeError::InvalidParameter(
                        "The job is not running.".into(),
                    ));
                }
            }
            Ok(())
        })
        .await
    }
}

async fn update_job(
    store: &SharedBackend,
    pool: &str,
    job_id: &str,
    f: impl Fn(&mut ImportJob) -> Result<(), NativeError>,
) -> Result<ImportJob, NativeError> {
    for _ in 0..8 {
        let mut job = store
            .get_import_job(pool, job_id)
            .await?
            .ok_or_else(not_found)?;
        let expected = job.version;
        f(&mut job)?;
        if store.update_import_job(&job, expected).await? {
            job.version = expected + 1;
            return Ok(job);
        }
    }
    Err(NativeError::Flow(crate::flow::FlowError::Unavailable))
}

/// Runs a started job: takes its CSV (once), imports it, and writes the counts.
async fn run_job(
    store: &SharedBackend,
    clock: &SharedClock,
    pool: &Pool,
    job_id: &str,
) -> Result<(), NativeError> {
    let started = clock.now();
    let job = update_job(store, &pool.id, job_id, |j| {
        if j.status != ImportStatus::Pending {
            return Err(NativeError::InvalidParameter("not pending".into()));
        }
        j.status = ImportStatus::InProgress;
        j.heartbeat_at = Some(started);
        Ok(())
    })
    .await;
    if job.is_err() {
        // Stopped before it ran.
        return Ok(());
    }
    let csv = store
        .take(&pool.id, EphemeralKind::ImportCsv, job_id)
        .await?;
    let outcome = match csv {
        None => Err("the uploaded file expired".to_owned()),
        Some(bytes) => {
            let (s, p, id) = (store.clone(), pool.id.clone(), job_id.to_owned());
            let (c, beat) = (clock.clone(), std::sync::Arc::new(AtomicI64::new(started)));
            let mut stop = move || -> futures_stop::StopCheck {
                let (s, p, id, c, beat) =
                    (s.clone(), p.clone(), id.clone(), c.clone(), beat.clone());
                Box::pin(async move {
                    // Between rows: a sign of life now and then (see `recovery`), and
                    // whether a stop was asked for.
                    let now = c.now();
                    if now - beat.load(Ordering::Relaxed) >= HEARTBEAT_EVERY_S {
                        beat.store(now, Ordering::Relaxed);
                        let renewed = update_job(&s, &p, &id, |j| {
                            j.heartbeat_at = Some(now);
                            Ok(())
                        })
                        .await;
                        if let Err(e) = renewed {
                            tracing::warn!(job = %id, error = %e, "import job heartbeat not written");
                        }
                    }
                    matches!(
                        s.get_import_job(&p, &id).await,
                        Ok(Some(j)) if j.status == ImportStatus::Stopping
                    )
                })
            };
            import_csv(store, clock, pool, &bytes, &mut |_| {}, &mut stop).await
        }
    };
    let now = clock.now();
    update_job(store, &pool.id, job_id, |j| {
        j.completed_at = Some(now);
        match &outcome {
            Ok(r) => {
                j.imported = r.imported;
                j.skipped = r.skipped;
                j.failed = r.failed;
                j.status = if r.stopped || j.status == ImportStatus::Stopping {
                    ImportStatus::Stopped
                } else {
                    ImportStatus::Succeeded
                };
                j.completion_message = Some(if r.failed == 0 {
                    "Import Job Completed Successfully.".into()
                } else {
                    format!(
                        "Import Job Completed: {} imported, {} failed (see the log for each row).",
                        r.imported, r.failed
                    )
                });
            }
            Err(m) => {
                j.status = ImportStatus::Failed;
                j.completion_message = Some(format!("Import Job Failed: {m}."));
            }
        }
        Ok(())
    })
    .await?;
    Ok(())
}
