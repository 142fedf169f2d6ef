//! User import jobs: created once per id, read back whole, listed newest first per
//! pool, changed only by compare-and-set on the version, through Cognito's statuses.

use poolgate::store::SharedBackend;
use poolgate::store::imports::{ImportJob, ImportStatus};

use super::{fresh_pool, uid};

fn job(pool: &str, id: &str, created_at: i64) -> ImportJob {
    ImportJob {
        pool_id: pool.into(),
        job_id: id.into(),
        job_name: format!("name of {id}"),
        status: ImportStatus::Created,
        cloudwatch_logs_role_arn: "arn:aws:iam::123456789012:role/import".into(),
        upload_token_hash: "ab".repeat(32),
        uploaded: false,
        created_at,
        started_at: None,
        completed_at: None,
        imported: 0,
        skipped: 0,
        failed: 0,
        completion_message: None,
        version: 1,
        heartbeat_at: None,
    }
}

/// Moves the stored job to `status` with `f`, over `expected`; asserts it stored.
async fn step(
    b: &SharedBackend,
    mut j: ImportJob,
    expected: u64,
    f: impl FnOnce(&mut ImportJob),
) -> ImportJob {
    f(&mut j);
    assert!(
        b.update_import_job(&j, expected).await.unwrap(),
        "update over version {expected}"
    );
    let got = b
        .get_import_job(&j.pool_id, &j.job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.version, expected + 1);
    got
}

pub async fn import_jobs(b: &SharedBackend) {
    let pool = fresh_pool(b).await;
    let other = fresh_pool(b).await;
    let id = format!("import-{}", uid());
    let first = job(&pool, &id, 1_700_000_000);
    assert!(b.create_import_job(&first).await.unwrap());
    // The same id again stores nothing and changes nothing.
    let mut twin = job(&pool, &id, 1_700_000_500);
    twin.job_name = "twin".into();
    assert!(!b.create_import_job(&twin).await.unwrap());
    let got = b.get_import_job(&pool, &id).await.unwrap().unwrap();
    assert_eq!(got, first, "read back whole, version 1");
    assert_eq!(
        b.get_import_job(&other, &id).await.unwrap(),
        None,
        "pool-scoped"
    );
    assert_eq!(b.get_import_job(&pool, "import-none").await.unwrap(), None);

    // Listed newest first, in its pool only.
    let newer = job(&pool, &format!("import-{}", uid()), 1_700_000_100);
    assert!(b.create_import_job(&newer).await.unwrap());
    assert!(
        b.create_import_job(&job(&other, &format!("import-{}", uid()), 1_700_000_200))
            .await
            .unwrap()
    );
    let ids: Vec<String> = b
        .list_import_jobs(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(ids, vec![newer.job_id.clone(), id.clone()]);
    assert_eq!(b.list_import_jobs(&other).await.unwrap().len(), 1);

    // Created -> uploaded -> Pending -> InProgress -> Succeeded, each over its version.
    let j = step(b, got, 1, |j| j.uploaded = true).await;
    let j = step(b, j, 2, |j| {
        j.status = ImportStatus::Pending;
        j.started_at = Some(1_700_000_010);
    })
    .await;
    let j = step(b, j, 3, |j| {
        j.status = ImportStatus::InProgress;
        j.heartbeat_at = Some(1_700_000_011);
    })
    .await;
    assert_eq!(
        j.heartbeat_at,
        Some(1_700_000_011),
        "the heartbeat persists"
    );
    // A writer holding an old version changes nothing.
    let mut stale = j.clone();
    stale.status = ImportStatus::Stopped;
    assert!(!b.update_import_job(&stale, 3).await.unwrap());
    assert!(!b.update_import_job(&stale, 9).await.unwrap());
    assert_eq!(
        b.get_import_job(&pool, &id).await.unwrap().unwrap().status,
        ImportStatus::InProgress
    );
    let done = step(b, j, 4, |j| {
        j.status = ImportStatus::Succeeded;
        j.completed_at = Some(1_700_000_020);
        j.imported = 7;
        j.failed = 2;
        j.completion_message = Some("done".into());
    })
    .await;
    assert_eq!(
        (
            done.status,
            done.imported,
            done.failed,
            done.completion_message.as_deref()
        ),
        (ImportStatus::Succeeded, 7, 2, Some("done"))
    );

    // An update of a job that does not exist stores nothing.
    let ghost = job(&pool, "import-ghost", 1);
    assert!(!b.update_import_job(&ghost, 1).await.unwrap());
    assert_eq!(b.get_import_job(&pool, "import-ghost").await.unwrap(), None);

    // Of two writers over the same version, one wins.
    let racer = b
        .get_import_job(&pool, &newer.job_id)
        .await
        .unwrap()
        .unwrap();
    let (mut a, mut c) = (racer.clone(), racer);
    a.status = ImportStatus::Stopped;
    c.uploaded = true;
    let (ra, rc) = tokio::join!(b.update_import_job(&a, 1), b.update_import_job(&c, 1));
    assert!(
        ra.unwrap() ^ rc.unwrap(),
        "exactly one compare-and-set wins"
    );
    assert_eq!(
        b.get_import_job(&pool, &newer.job_id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // The jobs go with their pool.
    b.delete_pool(&pool).await.unwrap();
    assert!(b.list_import_jobs(&pool).await.unwrap().is_empty());
    assert_eq!(b.get_import_job(&pool, &id).await.unwrap(), None);
}
