//! User import jobs through the Cognito API: `GetCSVHeader`, `CreateUserImportJob`,
//! `StartUserImportJob`, `DescribeUserImportJob`, `ListUserImportJobs`,
//! `StopUserImportJob`. Rules live in `admin::imports`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::shapes::epoch;
use super::{CognitoError, Ctx, OpResult};
use crate::admin::imports::{CSV_HEADER, ImportJob};

/// `UserImportJobType`; `PreSignedUrl` only where the job was just created (poolgate
/// keeps the upload token's hash, not the token).
fn job_type(j: &ImportJob, url: Option<&str>) -> Value {
    let mut v = json!({
        "JobName": j.job_name,
        "JobId": j.job_id,
        "UserPoolId": j.pool_id,
        "CreationDate": epoch(j.created_at),
        "Status": j.status.as_str(),
        "CloudWatchLogsRoleArn": j.cloudwatch_logs_role_arn,
        "ImportedUsers": j.imported,
        "SkippedUsers": j.skipped,
        "FailedUsers": j.failed,
    });
    if let Some(u) = url {
        v["PreSignedUrl"] = json!(u);
    }
    if let Some(t) = j.started_at {
        v["StartDate"] = json!(epoch(t));
    }
    if let Some(t) = j.completed_at {
        v["CompletionDate"] = json!(epoch(t));
    }
    if let Some(m) = &j.completion_message {
        v["CompletionMessage"] = json!(m);
    }
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolRequest {
    pub user_pool_id: String,
}

pub async fn get_csv_header(ctx: Ctx, input: PoolRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    Ok(json!({"UserPoolId": pool.id, "CSVHeader": CSV_HEADER}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateJobRequest {
    pub job_name: String,
    pub user_pool_id: String,
    pub cloud_watch_logs_role_arn: String,
}

pub async fn create_user_import_job(ctx: Ctx, input: CreateJobRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    let (job, url) = ctx
        .admin()
        .create_import_job(
            &pool,
            &input.job_name,
            &input.cloud_watch_logs_role_arn,
            &ctx.state.settings.public_url,
        )
        .await?;
    Ok(json!({"UserImportJob": job_type(&job, Some(&url))}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRequest {
    pub user_pool_id: String,
    pub job_id: String,
}

pub async fn start_user_import_job(ctx: Ctx, input: JobRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    let job = ctx.admin().start_import_job(&pool, &input.job_id).await?;
    Ok(json!({"UserImportJob": job_type(&job, None)}))
}

pub async fn describe_user_import_job(ctx: Ctx, input: JobRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    let job = ctx.admin().import_job(&pool.id, &input.job_id).await?;
    Ok(json!({"UserImportJob": job_type(&job, None)}))
}

pub async fn stop_user_import_job(ctx: Ctx, input: JobRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    let job = ctx.admin().stop_import_job(&pool.id, &input.job_id).await?;
    Ok(json!({"UserImportJob": job_type(&job, None)}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListJobsRequest {
    pub user_pool_id: String,
    pub max_results: i64,
    pub pagination_token: Option<String>,
}

pub async fn list_user_import_jobs(ctx: Ctx, input: ListJobsRequest) -> OpResult {
    if !(1..=60).contains(&input.max_results) {
        return Err(CognitoError::invalid_parameter(
            "MaxResults must be between 1 and 60.",
        ));
    }
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    let jobs = ctx.admin().list_import_jobs(&pool.id).await?;
    // The token is the id of the first job of the next page.
    let start = match &input.pagination_token {
        None => 0,
        Some(t) => jobs
            .iter()
            .position(|j| &j.job_id == t)
            .ok_or_else(|| CognitoError::invalid_parameter("Invalid PaginationToken."))?,
    };
    let n = input.max_results as usize;
    let page: Vec<Value> = jobs
        .iter()
        .skip(start)
        .take(n)
        .map(|j| job_type(j, None))
        .collect();
    let mut out = json!({"UserImportJobs": page});
    if let Some(next) = jobs.get(start + n) {
        out["PaginationToken"] = json!(next.job_id);
    }
    Ok(out)
}
