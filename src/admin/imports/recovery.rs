//! Import jobs whose run was cut short by a stop or a crash of the gateway that ran
//! them: Cognito never leaves a job `InProgress` for ever, and neither does poolgate.
//! A running job renews `heartbeat_at` every [`HEARTBEAT_EVERY_S`]; a job still
//! unfinished whose runner has been silent for [`STALE_AFTER_S`] ends `Failed` (or
//! `Stopped`, when a stop was asked for) with a message saying so. At start, a gateway
//! that holds its store alone (SQLite: one process per file) ends every unfinished job
//! at once, since nothing else can be running it; on a shared store (Redis) it waits
//! for the heartbeat to age, so that a restart never fails another instance's job.
//! Rows imported before the cut stay imported (each row is whole).

use std::time::Duration;

use tokio::sync::watch;

use super::{ImportJob, ImportStatus, update_job};
use crate::admin::Admin;
use crate::flow::native::NativeError;

/// How often a running job renews its heartbeat (at its stop checks).
pub const HEARTBEAT_EVERY_S: i64 = 30;
/// How long a runner may be silent before its job is taken for abandoned.
pub const STALE_AFTER_S: i64 = 180;
/// How often a gateway looks for abandoned jobs.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

const MESSAGE: &str = "Import Job Failed: the gateway running it stopped before the end of the file. Users imported before that stay imported; start a new job for the rest.";

/// The status an unfinished job ends in when its runner is gone (`None`: it is
/// finished, or its runner may still be alive). `exclusive`: no other gateway shares
/// the store.
pub fn orphaned_outcome(job: &ImportJob, now: i64, exclusive: bool) -> Option<ImportStatus> {
    if !job.status.is_unfinished() {
        return None;
    }
    let last = job
        .heartbeat_at
        .or(job.started_at)
        .unwrap_or(job.created_at);
    if !exclusive && now - last < STALE_AFTER_S {
        return None;
    }
    Some(if job.status == ImportStatus::Stopping {
        ImportStatus::Stopped
    } else {
        ImportStatus::Failed
    })
}

impl Admin {
    /// Ends every abandoned job of every pool; returns how many it ended.
    pub async fn recover_import_jobs(&self, exclusive: bool) -> Result<usize, NativeError> {
        let mut ended = 0;
        for pool in self.store.list_pools().await? {
            for job in self.store.list_import_jobs(&pool.id).await? {
                let now = self.clock.now();
                if orphaned_outcome(&job, now, exclusive).is_none() {
                    continue;
                }
                // Compare-and-set: a runner that spoke meanwhile keeps its job.
                let done = update_job(&self.store, &pool.id, &job.job_id, |j| {
                    let to = orphaned_outcome(j, now, exclusive)
                        .ok_or_else(|| NativeError::InvalidParameter("the job is alive".into()))?;
                    j.status = to;
                    j.completed_at = Some(now);
                    j.completion_message = Some(if to == ImportStatus::Stopped {
                        "Import Job Stopped: the gateway stopped while the job was stopping.".into()
                    } else {
                        MESSAGE.into()
                    });
                    Ok(())
                })
                .await;
                match done {
                    Ok(j) => {
                        tracing::warn!(pool = %pool.id, job = %j.job_id, status = j.status.as_str(), "import job abandoned by its gateway ended");
                        ended += 1;
                    }
                    // Alive after all, or gone meanwhile.
                    Err(NativeError::InvalidParameter(_) | NativeError::ResourceNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(ended)
    }
}

/// Ends abandoned jobs now (awaited, so that a restarted gateway never shows one
/// running), then every minute until `stop`.
pub async fn spawn_recovery(
    admin: std::sync::Arc<Admin>,
    exclusive: bool,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(e) = admin.recover_import_jobs(exclusive).await {
        tracing::error!(error = %e, "could not look for abandoned import jobs");
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = admin.recover_import_jobs(false).await {
                tracing::warn!(error = %e, "could not look for abandoned import jobs");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: ImportStatus, heartbeat: Option<i64>) -> ImportJob {
        ImportJob {
            pool_id: "p".into(),
            job_id: "import-a".into(),
            job_name: "j".into(),
            status,
            cloudwatch_logs_role_arn: "arn:aws:iam::1:role/r".into(),
            upload_token_hash: String::new(),
            uploaded: true,
            created_at: 1_000,
            started_at: Some(1_010),
            completed_at: None,
            imported: 0,
            skipped: 0,
            failed: 0,
            completion_message: None,
            version: 3,
            heartbeat_at: heartbeat,
        }
    }

    #[test]
    fn only_silent_unfinished_jobs_are_ended() {
        let live = job(ImportStatus::InProgress, Some(2_000));
        assert_eq!(
            orphaned_outcome(&live, 2_010, false),
            None,
            "alive on a shared store"
        );
        assert_eq!(
            orphaned_outcome(&live, 2_000 + STALE_AFTER_S, false),
            Some(ImportStatus::Failed)
        );
        assert_eq!(
            orphaned_outcome(&live, 2_010, true),
            Some(ImportStatus::Failed),
            "a store held alone: nothing else runs it"
        );
        let stopping = job(ImportStatus::Stopping, None);
        assert_eq!(
            orphaned_outcome(&stopping, 1_010 + STALE_AFTER_S, false),
            Some(ImportStatus::Stopped)
        );
        assert_eq!(
            orphaned_outcome(&job(ImportStatus::Pending, None), 1_020, false),
            None
        );
        for done in [
            ImportStatus::Created,
            ImportStatus::Succeeded,
            ImportStatus::Failed,
            ImportStatus::Stopped,
            ImportStatus::Expired,
        ] {
            assert_eq!(orphaned_outcome(&job(done, None), 99_999, true), None);
        }
    }
}
