//! User import jobs (Cognito's `UserImportJobType`): a capability trait of the store,
//! one durable record per job. Writes compare-and-set on `version`, so a `Stop` and the
//! importer finishing never overwrite each other. The uploaded CSV itself is
//! short-lived state (`kind::IMPORT_CSV`), not part of the record.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;

/// Cognito's `UserImportJobStatusType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportStatus {
    Created,
    Pending,
    InProgress,
    Stopping,
    Expired,
    Stopped,
    Failed,
    Succeeded,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Stopping => "Stopping",
            Self::Expired => "Expired",
            Self::Stopped => "Stopped",
            Self::Failed => "Failed",
            Self::Succeeded => "Succeeded",
        }
    }
}

/// One import job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportJob {
    pub pool_id: String,
    pub job_id: String,
    pub job_name: String,
    pub status: ImportStatus,
    pub cloudwatch_logs_role_arn: String,
    /// SHA-256 (hex) of the upload token in the `PreSignedUrl`; never the token.
    pub upload_token_hash: String,
    /// Whether the CSV was uploaded (the URL takes one upload).
    pub uploaded: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub imported: u64,
    pub skipped: u64,
    pub failed: u64,
    pub completion_message: Option<String>,
    pub version: u64,
    /// The last sign of life of the gateway running the job (set when it starts,
    /// renewed while it runs): a job whose runner stopped is found by its age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<i64>,
}

impl ImportStatus {
    /// Whether a job in this status still waits for, or is in, a run.
    pub fn is_unfinished(self) -> bool {
        matches!(self, Self::Pending | Self::InProgress | Self::Stopping)
    }
}

#[async_trait]
pub trait ImportJobStore: Send + Sync + 'static {
    /// Stores a new job (version 1); `false` when its id is taken.
    async fn create_import_job(&self, job: &ImportJob) -> StoreResult<bool>;
    async fn get_import_job(&self, pool: &str, job_id: &str) -> StoreResult<Option<ImportJob>>;
    /// The pool's jobs, newest first.
    async fn list_import_jobs(&self, pool: &str) -> StoreResult<Vec<ImportJob>>;
    /// Stores `job` when the stored version is `expected`; the stored record gets
    /// `expected + 1`. Returns whether it stored.
    async fn update_import_job(&self, job: &ImportJob, expected: u64) -> StoreResult<bool>;
}
