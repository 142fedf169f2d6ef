//! CSV user import: boto3 creates the job, Python's urllib PUTs the file to the
//! `PreSignedUrl` (once), the job runs and the users exist in `RESET_REQUIRED` until an
//! admin sets a password; malformed rows are refused one by one, an unknown column
//! fails the job, an oversized file is refused with 413 and imports nothing; and the
//! same import from the command line (`poolgate import-users`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::cognito_api::ok;
use crate::harness::Gw;

const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImport";
const HEADER: &str = "cognito:username,email,email_verified,given_name,custom:team,cognito:mfa_enabled,phone_number_verified";

/// PUTs `body` to `url` with urllib; the HTTP status.
async fn put_with_urllib(url: &str, body: &[u8]) -> u16 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    std::fs::write(&file, body).unwrap();
    let script = r#"
import sys, urllib.request, urllib.error
data = open(sys.argv[2], 'rb').read()
req = urllib.request.Request(sys.argv[1], data=data, method='PUT', headers={'Content-Type': 'text/csv'})
try:
    print(urllib.request.urlopen(req).status)
except urllib.error.HTTPError as e:
    print(e.code)
"#;
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(url)
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn create_job(gw: &Gw, name: &str) -> Value {
    let r = ok(
        gw,
        "CreateUserImportJob",
        json!({"JobName": name, "UserPoolId": "default", "CloudWatchLogsRoleArn": ROLE}),
    )
    .await;
    r["UserImportJob"].clone()
}

/// Starts the job and polls until it ends; its final description.
async fn run(gw: &Gw, job_id: &str) -> Value {
    let started = ok(
        gw,
        "StartUserImportJob",
        json!({"UserPoolId": "default", "JobId": job_id}),
    )
    .await;
    assert!(
        matches!(
            started["UserImportJob"]["Status"].as_str(),
            Some("Pending" | "InProgress")
        ),
        "{started}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = ok(
            gw,
            "DescribeUserImportJob",
            json!({"UserPoolId": "default", "JobId": job_id}),
        )
        .await;
        let job = d["UserImportJob"].clone();
        if matches!(
            job["Status"].as_str(),
            Some("Succeeded" | "Failed" | "Stopped")
        ) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job never ended: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_job_creates_reset_required_users_row_by_row() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "olga").await;
    let header = ok(&gw, "GetCSVHeader", json!({"UserPoolId": "default"})).await;
    let cols: Vec<&str> = header["CSVHeader"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for c in [
        "cognito:username",
        "email_verified",
        "phone_number_verified",
        "cognito:mfa_enabled",
        "given_name",
    ] {
        assert!(cols.contains(&c), "{c} in {cols:?}");
    }

    let job = create_job(&gw, "first-import").await;
    assert_eq!(job["Status"], "Created");
    let job_id = job["JobId"].as_str().unwrap().to_owned();
    assert!(job_id.starts_with("import-"));
    let url = job["PreSignedUrl"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/import/{job_id}?token=", gw.base)),
        "{url}"
    );

    // A wrong token is refused and does not spend the URL.
    let forged = format!("{}/import/{job_id}?token=guessed", gw.base);
    assert_eq!(
        put_with_urllib(&forged, b"cognito:username\nmallory\n").await,
        403
    );

    let csv = format!(
        "{HEADER}\n\
         ann,ann@example.test,true,Ann,red,false,false\n\
         bob,bob@example.test,TRUE,Bob,blue,false,false\n\
         carl,not-an-email,true,Carl,red,false,false\n\
         ann,ann2@example.test,true,Ann,red,false,false\n\
         olga,olga2@example.test,true,Olga,red,false,false\n\
         dina,dina@example.test,maybe,Dina,red,false,false\n\
         eve,eve@example.test,true\n"
    );
    assert_eq!(put_with_urllib(&url, csv.as_bytes()).await, 200);
    // One use: a second upload to the same URL is refused.
    assert_eq!(put_with_urllib(&url, csv.as_bytes()).await, 403);

    let done = run(&gw, &job_id).await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(done["ImportedUsers"], 2, "{done}");
    assert_eq!(done["FailedUsers"], 5, "{done}");
    assert!(done["CompletionDate"].is_number() && done["StartDate"].is_number());
    // A job runs once.
    let again = crate::cognito_api::boto3(
        &gw,
        &[(
            "StartUserImportJob",
            json!({"UserPoolId": "default", "JobId": job_id}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(again["status"], 400, "{again}");

    // Imported users: RESET_REQUIRED with their attributes; the refused rows made no one.
    let ann = admin_get_user(&gw, "ann").await;
    assert_eq!(ann["ok"]["UserStatus"], "RESET_REQUIRED", "{ann}");
    let attrs = ann["ok"]["UserAttributes"].as_array().unwrap();
    let attr = |n: &str| {
        attrs
            .iter()
            .find(|a| a["Name"] == n)
            .map(|a| a["Value"].clone())
    };
    assert_eq!(attr("email"), Some(json!("ann@example.test")));
    assert_eq!(attr("given_name"), Some(json!("Ann")));
    assert_eq!(attr("custom:team"), Some(json!("red")));
    for refused in ["carl", "dina", "eve"] {
        assert_eq!(
            admin_get_user(&gw, refused).await["error"]["Code"],
            "UserNotFoundException"
        );
    }
    let olga = admin_get_user(&gw, "olga").await;
    assert_eq!(
        olga["ok"]["UserStatus"], "CONFIRMED",
        "an existing user is untouched"
    );

    // ListUsers shows each user's real status, and filters on it.
    let listed = ok(&gw, "ListUsers", json!({"UserPoolId": "default"})).await;
    let status = |name: &str| {
        listed["Users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["Username"] == name)
            .map(|u| u["UserStatus"].clone())
    };
    assert_eq!(status("ann"), Some(json!("RESET_REQUIRED")), "{listed}");
    assert_eq!(status("olga"), Some(json!("CONFIRMED")), "{listed}");
    let reset = ok(
        &gw,
        "ListUsers",
        json!({"UserPoolId": "default", "Filter": "cognito:user_status = \"RESET_REQUIRED\""}),
    )
    .await;
    let mut names: Vec<&str> = reset["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ann", "bob"], "{reset}");

    // No sign-in until the password is reset: Cognito's PasswordResetRequiredException,
    // whatever password is presented, by password and by SRP.
    for pw in ["Anything-1", PASSWORD] {
        let r = password_auth(&gw, &client_id, "ann", pw).await;
        assert_eq!(r["error"]["Code"], "PasswordResetRequiredException", "{r}");
    }
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
               "AuthParameters": {"USERNAME": "ann", "SRP_A": "ab12"}}),
    )
    .await;
    assert_eq!(code, "PasswordResetRequiredException");
    ok(
        &gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": "ann", "Password": PASSWORD, "Permanent": true}),
    )
    .await;
    let r = password_auth(&gw, &client_id, "ann", PASSWORD).await;
    let id = r["ok"]["AuthenticationResult"]["IdToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(verified_claims(&gw, id).await["cognito:username"], "ann");

    // An unknown column fails the whole file: nothing imported.
    let job2 = create_job(&gw, "bad-columns").await;
    let id2 = job2["JobId"].as_str().unwrap().to_owned();
    let url2 = job2["PreSignedUrl"].as_str().unwrap();
    assert_eq!(
        put_with_urllib(url2, b"cognito:username,favourite_colour\nfred,green\n").await,
        200
    );
    let done2 = run(&gw, &id2).await;
    assert_eq!(done2["Status"], "Failed", "{done2}");
    assert_eq!(done2["ImportedUsers"], 0);
    assert!(
        done2["CompletionMessage"]
            .as_str()
            .unwrap()
            .contains("favourite_colour")
    );
    assert_eq!(
        admin_get_user(&gw, "fred").await["error"]["Code"],
        "UserNotFoundException"
    );

    // Both jobs are listed, newest first, and pages follow the token.
    let list = ok(
        &gw,
        "ListUserImportJobs",
        json!({"UserPoolId": "default", "MaxResults": 1}),
    )
    .await;
    assert_eq!(list["UserImportJobs"].as_array().unwrap().len(), 1);
    let token = list["PaginationToken"].as_str().unwrap();
    let list2 = ok(
        &gw,
        "ListUserImportJobs",
        json!({"UserPoolId": "default", "MaxResults": 1, "PaginationToken": token}),
    )
    .await;
    let mut ids = vec![
        list["UserImportJobs"][0]["JobId"].clone(),
        list2["UserImportJobs"][0]["JobId"].clone(),
    ];
    ids.sort_by_key(|v| v.to_string());
    let mut want = vec![json!(job_id), json!(id2)];
    want.sort_by_key(|v| v.to_string());
    assert_eq!(ids, want);

    // A job stopped before it starts never runs.
    let job3 = create_job(&gw, "stopped").await;
    let stopped = ok(
        &gw,
        "StopUserImportJob",
        json!({"UserPoolId": "default", "JobId": job3["JobId"]}),
    )
    .await;
    assert_eq!(stopped["UserImportJob"]["Status"], "Stopped");
    let url3 = job3["PreSignedUrl"].as_str().unwrap();
    assert_eq!(
        put_with_urllib(url3, b"cognito:username\ngina\n").await,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_csv_is_refused_and_imports_nothing() {
    let gw = Gw::start_env(&[("POOLGATE_IMPORT_MAX_BYTES", "4096")]).await;
    let job = create_job(&gw, "too-big").await;
    let url = job["PreSignedUrl"].as_str().unwrap().to_owned();
    let mut csv = String::from("cognito:username,email\n");
    let mut i = 0;
    while csv.len() <= 4096 {
        csv.push_str(&format!("user{i},user{i}@example.test\n"));
        i += 1;
    }
    assert_eq!(put_with_urllib(&url, csv.as_bytes()).await, 413);
    // Nothing was taken: the job cannot start, and no user exists.
    let start = crate::cognito_api::boto3(
        &gw,
        &[(
            "StartUserImportJob",
            json!({"UserPoolId": "default", "JobId": job["JobId"]}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(start["status"], 400, "{start}");
    assert_eq!(
        admin_get_user(&gw, "user0").await["error"]["Code"],
        "UserNotFoundException"
    );
    // A file within the cap is still taken by the same URL.
    assert_eq!(
        put_with_urllib(&url, b"cognito:username,email\nuser0,user0@example.test\n").await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_imports_a_file_and_reports_refused_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
    // A gateway creates the default pool, then stops (SQLite has one process at a time).
    let mut gw = Gw::start_with(
        &store,
        tmp.path(),
        None,
        std::sync::Arc::new(poolgate::clock::SystemClock),
    )
    .await;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    gw.running.take().unwrap().shutdown().await;

    let file = tmp.path().join("users.csv");
    std::fs::write(
        &file,
        format!(
            "{HEADER}\n\
             hugo,hugo@example.test,true,Hugo,red,false,false\n\
             iris,iris-at-example,true,Iris,red,false,false\n\
             hugo,hugo2@example.test,true,Hugo,red,false,false\n"
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_poolgate"))
        .args(["import-users", "--pool", "default"])
        .arg(&file)
        .env_clear()
        .env("POOLGATE_STORE", &store)
        .env("POOLGATE_ADMIN_TOKEN", crate::harness::ADMIN_TOKEN)
        .current_dir(tmp.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported 1, skipped 0, failed 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("refused line 3: ir*** (4 chars): invalid email address"),
        "{stdout}"
    );
    assert!(
        stdout.contains("refused line 4: hu*** (4 chars): the username appears twice"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("iris-at-example"),
        "no personal data in the report"
    );

    // An unknown pool: exit 2, nothing imported.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_poolgate"))
        .args(["import-users", "--pool", "nope"])
        .arg(&file)
        .env_clear()
        .env("POOLGATE_STORE", &store)
        .env("POOLGATE_ADMIN_TOKEN", crate::harness::ADMIN_TOKEN)
        .current_dir(tmp.path())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Back in the gateway: hugo is there, in RESET_REQUIRED.
    gw.restart().await;
    let hugo = admin_get_user(&gw, "hugo").await;
    assert_eq!(hugo["ok"]["UserStatus"], "RESET_REQUIRED", "{hugo}");
    let r = password_auth(&gw, &client_id, "hugo", "Whatever-1").await;
    assert_eq!(r["error"]["Code"], "PasswordResetRequiredException", "{r}");
}

async fn describe(gw: &Gw, id: &str) -> Value {
    ok(
        gw,
        "DescribeUserImportJob",
        json!({"UserPoolId": "default", "JobId": id}),
    )
    .await["UserImportJob"]
        .clone()
}

/// A job whose gateway stopped mid-run is never `InProgress` for ever: the restarted
/// gateway (alone on its SQLite file) ends it `Failed` with a message, a stopping one
/// `Stopped`; finished and not-yet-started jobs are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_short_by_a_restart_ends_failed() {
    use poolgate::store::imports::ImportStatus;

    let mut gw = Gw::start().await;
    let running = create_job(&gw, "cut-short").await["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stopping = create_job(&gw, "was-stopping").await["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let waiting = create_job(&gw, "not-started").await["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    // The state a gateway leaves when it dies mid-run (with a fresh heartbeat).
    let store = gw.running.as_ref().unwrap().store.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (id, status) in [
        (&running, ImportStatus::InProgress),
        (&stopping, ImportStatus::Stopping),
    ] {
        let mut j = store.get_import_job("default", id).await.unwrap().unwrap();
        let v = j.version;
        j.status = status;
        j.uploaded = true;
        j.started_at = Some(now);
        j.heartbeat_at = Some(now);
        j.imported = 3;
        assert!(store.update_import_job(&j, v).await.unwrap());
    }
    drop(store);
    assert_eq!(describe(&gw, &running).await["Status"], "InProgress");

    gw.restart().await;
    let j = describe(&gw, &running).await;
    assert_eq!(j["Status"], "Failed", "{j}");
    assert!(
        j["CompletionMessage"]
            .as_str()
            .unwrap()
            .contains("stopped before the end of the file"),
        "{j}"
    );
    assert!(j["CompletionDate"].is_number(), "{j}");
    assert_eq!(j["ImportedUsers"], 3, "what was imported is still counted");
    let j = describe(&gw, &stopping).await;
    assert_eq!(j["Status"], "Stopped", "{j}");
    let j = describe(&gw, &waiting).await;
    assert_eq!(
        j["Status"], "Created",
        "a job not started is untouched: {j}"
    );
    // A failed job cannot be started again.
    let again = crate::cognito_api::boto3(
        &gw,
        &[(
            "StartUserImportJob",
            json!({"UserPoolId": "default", "JobId": running}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(again["status"], 400, "{again}");
}
