//! The CSV import itself, shared by `StartUserImportJob` and `poolgate import-users`:
//! Cognito's columns (`GetCSVHeader`), each row checked on its own and created whole
//! (user and credential in one step) in `RESET_REQUIRED`, or refused with its reason.

use std::collections::HashSet;

use serde_json::Value;

use crate::admin::native_users::{apply_attributes, valid_username};
use crate::clock::SharedClock;
use crate::model::{Pool, User};
use crate::store::SharedBackend;
use crate::store::credentials::{CreateNativeOutcome, Credential, UserStatus};

/// Cognito's CSV columns (`GetCSVHeader`), in its order.
pub const CSV_HEADER: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "cognito:mfa_enabled",
    "cognito:username",
];

/// Rows between two looks at a `StopUserImportJob`.
const STOP_CHECK_EVERY: u64 = 100;

/// A refused row: its line in the file and why (no personal data beyond a masked
/// username).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub line: u64,
    pub user: String,
    pub reason: String,
}

/// The outcome of an import.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    pub imported: u64,
    pub skipped: u64,
    pub failed: u64,
    pub refusals: Vec<Refusal>,
    /// The import stopped on request before the end of the file.
    pub stopped: bool,
}

/// A username as logs show it: its first two characters and its length.
pub fn masked(username: &str) -> String {
    let head: String = username.chars().take(2).collect();
    format!("{head}*** ({} chars)", username.chars().count())
}

/// A plausible address: one `@`, a local part, a dotted domain, no spaces.
fn plausible_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn flag(name: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "" | "false" => Ok(false),
        "true" => Ok(true),
        _ => Err(format!("{name} must be true or false")),
    }
}

/// Checks the header: every column one of Cognito's or `custom:*`, `cognito:username`
/// present, none repeated.
fn check_header(header: &[String]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for h in header {
        let custom = h
            .strip_prefix("custom:")
            .is_some_and(|n| !n.is_empty() && n.len() <= 20);
        if !custom && !CSV_HEADER.contains(&h.as_str()) {
            return Err(format!("unknown column {h:?}"));
        }
        if !seen.insert(h.as_str()) {
            return Err(format!("column {h:?} is repeated"));
        }
    }
    if !seen.contains("cognito:username") {
        return Err("the cognito:username column is missing".into());
    }
    Ok(())
}

/// The user a row describes and whether its `cognito:mfa_enabled` is true (SMS MFA,
/// as in Cognito's import), or why it is refused.
fn row_user(
    pool: &Pool,
    header: &[String],
    row: &[String],
    now: i64,
) -> Result<(User, bool), String> {
    let mut username = String::new();
    let mut attributes = Vec::new();
    let mut phone = false;
    let mut mfa = false;
    for (h, v) in header.iter().zip(row) {
        let v = v.trim();
        match h.as_str() {
            "cognito:username" => username = v.to_owned(),
            "cognito:mfa_enabled" => mfa = flag(h, v)?,
            "email" if !v.is_empty() => {
                if !plausible_email(v) {
                    return Err("invalid email address".into());
                }
                attributes.push((h.clone(), v.to_owned()));
            }
            "email_verified" | "phone_number_verified" => {
                let b = flag(h, v)?;
                attributes.push((h.clone(), b.to_string()));
            }
            _ if v.is_empty() => {}
            "phone_number" => {
                if !v.starts_with('+') || v.len() < 3 || !v[1..].bytes().all(|b| b.is_ascii_digit())
                {
                    return Err("phone_number must be +digits (E.164)".into());
                }
                phone = true;
                attributes.push((h.clone(), v.to_owned()));
            }
            _ => attributes.push((h.clone(), v.to_owned())),
        }
    }
    if !valid_username(&username) {
        return Err("cognito:username must be 1 to 128 characters without spaces".into());
    }
    if mfa && !phone {
        return Err("cognito:mfa_enabled true needs a phone_number".into());
    }
    let mut user = User::new(&pool.id, username, now);
    apply_attributes(pool, &mut user, &attributes).map_err(|e| e.to_string())?;
    if let Some(Value::String(v)) = user.attributes.get("phone_number_verified")
        && v == "false"
    {
        user.attributes.remove("phone_number_verified");
    }
    Ok((user, mfa))
}

/// Imports the CSV `bytes` into `pool`: users in `RESET_REQUIRED`, each created whole or
/// refused. `progress` hears how many bytes are read; `stop` is asked every few rows.
pub async fn import_csv(
    store: &SharedBackend,
    clock: &SharedClock,
    pool: &Pool,
    bytes: &[u8],
    progress: &mut (dyn FnMut(u64) + Send),
    stop: &mut (dyn FnMut() -> futures_stop::StopCheck + Send),
) -> Result<ImportReport, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| "the header row is not valid CSV".to_owned())?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    check_header(&header)?;
    let mut report = ImportReport::default();
    let mut seen = HashSet::new();
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        let line = reader.position().line();
        let read = reader.read_record(&mut record);
        progress(reader.position().byte());
        let refuse = |report: &mut ImportReport, user: &str, reason: String| {
            tracing::warn!(line, user = %masked(user), reason = %reason, "import: row refused");
            report.failed += 1;
            report.refusals.push(Refusal {
                line,
                user: masked(user),
                reason,
            });
        };
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                refuse(&mut report, "", "not valid CSV (or not UTF-8)".into());
                continue;
            }
        }
        rows += 1;
        if rows.is_multiple_of(STOP_CHECK_EVERY) && stop().await {
            report.stopped = true;
            break;
        }
        let row: Vec<String> = record.iter().map(str::to_owned).collect();
        if row.iter().all(|f| f.trim().is_empty()) {
            report.skipped += 1;
            continue;
        }
        if row.len() != header.len() {
            refuse(
                &mut report,
                "",
                format!("{} fields, the header has {}", row.len(), header.len()),
            );
            continue;
        }
        let (user, sms_mfa) = match row_user(pool, &header, &row, clock.now()) {
            Ok(u) => u,
            Err(reason) => {
                let name = header
                    .iter()
                    .position(|h| h == "cognito:username")
                    .and_then(|i| row.get(i))
                    .cloned()
                    .unwrap_or_default();
                refuse(&mut report, &name, reason);
                continue;
            }
        };
        if !seen.insert(user.username.to_ascii_lowercase()) {
            refuse(
                &mut report,
                &user.username,
                "the username appears twice in the file".into(),
            );
            continue;
        }
        let cred = Credential {
            pool_id: pool.id.clone(),
            user_id: user.id.clone(),
            status: UserStatus::ResetRequired,
            password: None,
            totp: None,
            totp_enabled: false,
            totp_preferred: false,
            sms_enabled: sms_mfa,
            sms_preferred: false,
            version: 1,
            updated_at: user.created_at,
        };
        let lower = user.username.to_ascii_lowercase();
        let exists = store.get_user_by_username(&pool.id, &user.username).await;
        let exists_lower = if lower != user.username {
            store.get_user_by_username(&pool.id, &lower).await
        } else {
            Ok(None)
        };
        match (exists, exists_lower) {
            (Ok(None), Ok(None)) => {}
            (Ok(_), Ok(_)) => {
                refuse(&mut report, &user.username, "the username exists".into());
                continue;
            }
            (Err(e), _) | (_, Err(e)) => return Err(format!("the store failed: {e}")),
        }
        match store.create_native_user(&user, &cred).await {
            Ok(CreateNativeOutcome::Created) => report.imported += 1,
            Ok(CreateNativeOutcome::UsernameExists) => {
                refuse(&mut report, &user.username, "the username exists".into());
            }
            Err(e) => return Err(format!("the store failed: {e}")),
        }
    }
    Ok(report)
}

/// Whether to stop, asked between rows.
pub mod futures_stop {
    /// The answer of a stop check.
    pub type StopCheck = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;

    /// A check that never stops (the command line).
    pub fn never() -> StopCheck {
        Box::pin(async { false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_values_are_checked() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_header(&h(CSV_HEADER)).is_ok());
        assert!(check_header(&h(&["cognito:username", "custom:team"])).is_ok());
        assert!(check_header(&h(&["cognito:username", "favourite_colour"])).is_err());
        assert!(check_header(&h(&["email"])).is_err());
        assert!(check_header(&h(&["cognito:username", "email", "email"])).is_err());
        assert!(plausible_email("a@example.test"));
        for bad in ["a", "a@b", "@b.c", "a@b@c.d", "a b@c.d", "a@.c"] {
            assert!(!plausible_email(bad), "{bad}");
        }
        assert_eq!(masked("carol"), "ca*** (5 chars)");
        assert!(flag("x", "maybe").is_err());
    }
}
