//! Signing in with an email, as Cognito's pools with `UsernameAttributes: ["email"]`
//! (the email is the sign-in name; the username is the user's `sub`) or
//! `AliasAttributes: ["email"]` (a verified email also names the user). The name a
//! caller gives is looked up as a username first, then as such an email: one user,
//! or none. `phone_number` and `preferred_username` are not served (refused when the
//! pool is made).

use super::NativeError;
use super::create::NewUser;
use crate::identity::normalize_email;
use crate::model::{Pool, PoolSettings, User};
use crate::store::{SharedBackend, StoreResult};

/// The values poolgate serves in each list.
const SERVED: &[&str] = &["email"];

/// The problems of a pool's sign-in attributes.
pub fn problems(s: &PoolSettings) -> Vec<String> {
    let mut e = Vec::new();
    for (name, list, known) in [
        (
            "username_attributes",
            &s.username_attributes,
            &["email", "phone_number"][..],
        ),
        (
            "alias_attributes",
            &s.alias_attributes,
            &["email", "phone_number", "preferred_username"][..],
        ),
    ] {
        for v in list {
            if !known.contains(&v.as_str()) {
                e.push(format!("settings.{name}: {v:?} is not one of {known:?}"));
            } else if !SERVED.contains(&v.as_str()) {
                e.push(format!(
                    "settings.{name}: {v:?} is not served by poolgate (only \"email\")"
                ));
            }
        }
        let mut sorted = list.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != list.len() {
            e.push(format!("settings.{name}: a value is repeated"));
        }
    }
    if !s.username_attributes.is_empty() && !s.alias_attributes.is_empty() {
        e.push("settings: username_attributes and alias_attributes cannot both be set".into());
    }
    e
}

fn email_names_users(s: &PoolSettings) -> Option<bool> {
    if s.username_attributes.iter().any(|a| a == "email") {
        Some(false)
    } else if s.alias_attributes.iter().any(|a| a == "email") {
        Some(true)
    } else {
        None
    }
}

/// The user `name` signs in as in `pool`: its username, or the email that names it
/// (an alias only once verified). Two users with one email name nobody.
pub async fn user_by_sign_in_name(
    store: &SharedBackend,
    pool: &str,
    name: &str,
) -> StoreResult<Option<User>> {
    if let Some(u) = store.get_user_by_username(pool, name).await? {
        return Ok(Some(u));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase())
        && let Some(u) = store
            .get_user_by_username(pool, &name.to_ascii_lowercase())
            .await?
    {
        return Ok(Some(u));
    }
    if !name.contains('@') || name.len() > 256 {
        return Ok(None);
    }
    let Some(p) = store.get_pool(pool).await? else {
        return Ok(None);
    };
    let Some(verified_only) = email_names_users(&p.settings) else {
        return Ok(None);
    };
    let norm = normalize_email(name, p.settings.email_case_sensitive);
    let mut found: Vec<User> = store
        .find_users_by_email(pool, &norm)
        .await?
        .into_iter()
        .filter(|u| !verified_only || u.email_verified)
        .collect();
    Ok(if found.len() == 1 { found.pop() } else { None })
}

/// For a pool whose users sign in with their email: the new user's username must be
/// an email, which becomes its `email` attribute, and the username its `sub`.
/// Returns the email, to be checked unused before the user is stored.
pub fn email_as_username(pool: &Pool, new: &mut NewUser) -> Result<Option<String>, NativeError> {
    if email_names_users(&pool.settings) != Some(false) {
        return Ok(None);
    }
    let email = new.username.clone();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(NativeError::InvalidParameter(
            "Username should be an email.".into(),
        ));
    }
    if let Some((_, v)) = new.attributes.iter().find(|(n, _)| n == "email")
        && v != &email
    {
        return Err(NativeError::InvalidParameter(
            "The email attribute must be the username in this pool.".into(),
        ));
    }
    if !new.attributes.iter().any(|(n, _)| n == "email") {
        new.attributes.push(("email".into(), email.clone()));
    }
    Ok(Some(email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_email_is_served_and_never_both_lists() {
        let mut s = PoolSettings::default();
        assert!(problems(&s).is_empty());
        s.username_attributes = vec!["email".into()];
        assert!(problems(&s).is_empty());
        s.alias_attributes = vec!["email".into()];
        assert_eq!(problems(&s).len(), 1);
        s.username_attributes.clear();
        s.alias_attributes = vec!["preferred_username".into(), "nickname".into()];
        assert_eq!(problems(&s).len(), 2);
        s.alias_attributes = vec!["email".into(), "email".into()];
        assert_eq!(problems(&s).len(), 1);
    }
}
