//! Changing a user's attributes after creation (`AdminUpdateUserAttributes`,
//! `AdminDeleteUserAttributes`, and the user's own `UpdateUserAttributes`,
//! `DeleteUserAttributes`, `DeleteUser`): Cognito's rules, checked against the pool's
//! schema, turned into one partial update of the user ([`UserPatch`]), so that a
//! change of attributes never writes back a stale `enabled` or `tokens_valid_after`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::NativeError;
use crate::flow::{Flow, PoolCtx};
use crate::identity::normalize_email;
use crate::model::{Pool, SchemaAttribute, User};
use crate::store::patch::UserPatch;

/// Cognito's standard attributes (OpenID Connect's, with its two verification flags).
pub const STANDARD: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];
/// The most custom and developer attributes a pool may declare (Cognito's limit).
pub const MAX_CUSTOM: usize = 50;
/// The longest value of an attribute.
const MAX_VALUE: usize = 2048;

/// Who changes the attributes: an administrator (signed call), or the user with its
/// access token, who may not set the verification flags nor `dev:` attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Editor {
    Admin,
    User,
}

fn invalid(m: String) -> NativeError {
    NativeError::InvalidParameter(m)
}

fn unauthorized_write() -> NativeError {
    NativeError::NotAuthorized("A client attempted to write unauthorized attribute".into())
}

/// The attributes the gateway writes itself: nobody sets or removes them.
fn read_only(name: &str) -> bool {
    matches!(name, "sub" | "identities" | "username") || name.starts_with("cognito:")
}

/// A `custom:` or `dev:` attribute (the part after the prefix is its schema name).
fn is_custom(name: &str) -> bool {
    name.starts_with("custom:") || name.starts_with("dev:")
}

/// The schema entry of `name`, after checking that the name may be written at all: not
/// one the gateway writes, a standard attribute or one the pool declares.
fn declared<'a>(pool: &'a Pool, name: &str) -> Result<Option<&'a SchemaAttribute>, NativeError> {
    if read_only(name) {
        return Err(invalid(format!(
            "Cannot modify the non-mutable attribute {name}"
        )));
    }
    let entry = pool
        .settings
        .schema
        .as_ref()
        .and_then(|s| s.iter().find(|a| a.name == name));
    if STANDARD.contains(&name) || entry.is_some() {
        return Ok(entry);
    }
    // A pool without a schema (made through /admin/v1) accepts any custom attribute.
    if is_custom(name) && pool.settings.schema.is_none() && name.len() <= 32 + "custom:".len() {
        return Ok(None);
    }
    Err(invalid(format!(
        "Attribute does not exist in the schema: {name}"
    )))
}

fn bound<T: std::str::FromStr>(v: &Option<String>, what: &str) -> Result<Option<T>, String> {
    v.as_deref()
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| format!("{what} {s:?} is not a number"))
        })
        .transpose()
}

/// Whether `value` fits the declared type and constraints of `a`.
pub fn check_value(a: &SchemaAttribute, value: &str) -> Result<(), NativeError> {
    let bad = || invalid(format!("Invalid value for the attribute {}", a.name));
    match a.attribute_data_type.as_str() {
        "Number" if !value.is_empty() => {
            let n: i64 = value.trim().parse().map_err(|_| bad())?;
            if let Some(c) = &a.number_attribute_constraints {
                let min = bound::<i64>(&c.min_value, "MinValue").map_err(invalid)?;
                let max = bound::<i64>(&c.max_value, "MaxValue").map_err(invalid)?;
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    return Err(bad());
                }
            }
        }
        "Boolean" if !matches!(value, "true" | "false") => return Err(bad()),
        _ => {}
    }
    if let Some(c) = &a.string_attribute_constraints {
        let len = value.chars().count();
        let min = bound::<usize>(&c.min_length, "MinLength").map_err(invalid)?;
        let max = bound::<usize>(&c.max_length, "MaxLength").map_err(invalid)?;
        if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
            return Err(bad());
        }
    }
    Ok(())
}

/// The check of one attribute given when a user is created: a `custom:`/`dev:`
/// attribute must be declared (when the pool has a schema) and its value fit it.
pub fn check_for_create(pool: &Pool, name: &str, value: &str) -> Result<(), NativeError> {
    if !is_custom(name) {
        return Ok(());
    }
    match declared(pool, name)? {
        Some(a) => check_value(a, value),
        None => Ok(()),
    }
}

/// The problems of a schema as stored: full names, known types, no duplicates, the
/// limits Cognito sets.
pub fn schema_problems(schema: &[SchemaAttribute]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut custom = 0;
    for a in schema {
        if !seen.insert(a.name.as_str()) {
            out.push(format!("schema: {} is declared twice", a.name));
        }
        let short = a
            .name
            .strip_prefix("custom:")
            .or_else(|| a.name.strip_prefix("dev:"));
        match short {
            Some(s) => {
                custom += 1;
                let ok = (1..=20).contains(&s.chars().count())
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    out.push(format!(
                        "schema: {:?}: a custom attribute's name is 1 to 20 visible characters",
                        a.name
                    ));
                }
                if a.required {
                    out.push(format!(
                        "schema: {}: required custom attributes are not supported",
                        a.name
                    ));
                }
                if a.developer_only_attribute != a.name.starts_with("dev:") {
                    out.push(format!(
                        "schema: {}: developer-only attributes are named dev:",
                        a.name
                    ));
                }
            }
            None if !STANDARD.contains(&a.name.as_str()) || read_only(&a.name) => {
                out.push(format!(
                    "schema: {:?} is neither a standard attribute nor custom:<name>",
                    a.name
                ));
            }
            None => {}
        }
        if !matches!(
            a.attribute_data_type.as_str(),
            "String" | "Number" | "DateTime" | "Boolean"
        ) {
            out.push(format!(
                "schema: {}: AttributeDataType is String, Number, DateTime or Boolean",
                a.name
            ));
        }
        if let Some(c) = &a.string_attribute_constraints {
            for (v, what) in [(&c.min_length, "MinLength"), (&c.max_length, "MaxLength")] {
                if let Err(e) = bound::<usize>(v, what) {
                    out.push(format!("schema: {}: {e}", a.name));
                }
            }
        }
        if let Some(c) = &a.number_attribute_constraints {
            for (v, what) in [(&c.min_value, "MinValue"), (&c.max_value, "MaxValue")] {
                if let Err(e) = bound::<i64>(v, what) {
                    out.push(format!("schema: {}: {e}", a.name));
                }
            }
        }
    }
    if custom > MAX_CUSTOM {
        out.push(format!("schema: at most {MAX_CUSTOM} custom attributes"));
    }
    out
}

fn flag(value: &str, name: &str) -> Result<bool, NativeError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!("{name} must be true or false"))),
    }
}

/// A phone number as Cognito takes it: `+`, then 4 to 15 digits.
fn valid_phone(v: &str) -> bool {
    v.strip_prefix('+')
        .is_some_and(|d| (4..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

fn attribute_text(user: &User, name: &str) -> Option<String> {
    user.attributes.get(name).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Names given twice in one call are refused: the call would not say which one wins.
fn once<'a>(seen: &mut BTreeSet<&'a str>, name: &'a str) -> Result<(), NativeError> {
    if seen.insert(name) {
        Ok(())
    } else {
        Err(invalid(format!("The attribute {name} is given twice")))
    }
}

/// Whether `editor` may change the attribute `name` declared as `entry`.
fn writable(
    entry: Option<&SchemaAttribute>,
    name: &str,
    editor: Editor,
) -> Result<(), NativeError> {
    if entry.is_some_and(|a| !a.mutable) {
        return Err(invalid(format!(
            "Cannot modify the non-mutable attribute {name}"
        )));
    }
    let admin_only = name == "email_verified"
        || name == "phone_number_verified"
        || name.starts_with("dev:")
        || entry.is_some_and(|a| a.developer_only_attribute);
    if admin_only && editor == Editor::User {
        return Err(unauthorized_write());
    }
    Ok(())
}

/// The partial update that sets `attrs` on `user` (read to tell whether the email or
/// phone number changes), or why nothing may change. A changed email (phone number)
/// is no longer verified, unless an administrator sets `email_verified`
/// (`phone_number_verified`) in the same call.
pub fn set_patch(
    pool: &Pool,
    user: &User,
    attrs: &[(String, String)],
    editor: Editor,
    now: i64,
) -> Result<UserPatch, NativeError> {
    let mut patch = UserPatch {
        updated_at: Some(now),
        ..UserPatch::default()
    };
    let mut seen = BTreeSet::new();
    let (mut email_changed, mut phone_changed) = (false, false);
    let mut phone_verified_given = false;
    for (name, value) in attrs {
        once(&mut seen, name)?;
        let entry = declared(pool, name)?;
        writable(entry, name, editor)?;
        if value.len() > MAX_VALUE {
            return Err(invalid(format!("The value of {name} is too long")));
        }
        if let Some(a) = entry {
            check_value(a, value)?;
        }
        match name.as_str() {
            "email" => {
                if !value.contains('@') || value.chars().any(char::is_whitespace) {
                    return Err(invalid("Invalid email address format.".into()));
                }
                let norm = normalize_email(value, pool.settings.email_case_sensitive);
                email_changed = user.email_norm.as_deref() != Some(norm.as_str());
                patch.email = Some(Some(value.clone()));
                patch.email_norm = Some(Some(norm));
            }
            "email_verified" => patch.email_verified = Some(flag(value, name)?),
            "phone_number" => {
                if !valid_phone(value) {
                    return Err(invalid("Invalid phone number format.".into()));
                }
                phone_changed = attribute_text(user, name).as_deref() != Some(value.as_str());
                patch
                    .set_attributes
                    .insert(name.clone(), Value::String(value.clone()));
            }
            "phone_number_verified" => {
                let v = flag(value, name)?;
                phone_verified_given = true;
                patch
                    .set_attributes
                    .insert(name.clone(), Value::String(v.to_string()));
            }
            _ => {
                patch
                    .set_attributes
                    .insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    if email_changed && patch.email_verified.is_none() {
        patch.email_verified = Some(false);
    }
    if phone_changed && !phone_verified_given {
        patch.set_attributes.insert(
            "phone_number_verified".into(),
            Value::String("false".into()),
        );
    }
    Ok(patch)
}

/// The partial update that removes `names` from a user, or why nothing may change.
/// Removing the email (phone number) removes its verification too.
pub fn delete_patch(
    pool: &Pool,
    names: &[String],
    editor: Editor,
    now: i64,
) -> Result<UserPatch, NativeError> {
    let mut patch = UserPatch {
        updated_at: Some(now),
        ..UserPatch::default()
    };
    let mut seen = BTreeSet::new();
    for name in names {
        once(&mut seen, name)?;
        let entry = declared(pool, name)?;
        writable(entry, name, editor)?;
        if entry.is_some_and(|a| a.required) {
            return Err(invalid(format!(
                "The attribute {name} is required and cannot be deleted"
            )));
        }
        match name.as_str() {
            "email" => {
                patch.email = Some(None);
                patch.email_norm = Some(None);
                patch.email_verified = Some(false);
            }
            "email_verified" => patch.email_verified = Some(false),
            "phone_number" => {
                patch.remove_attributes.push(name.clone());
                patch.remove_attributes.push("phone_number_verified".into());
            }
            _ => patch.remove_attributes.push(name.clone()),
        }
    }
    Ok(patch)
}

impl Flow {
    /// `UpdateUserAttributes`: the user changes its own attributes.
    pub async fn update_own_attributes(
        &self,
        ctx: &PoolCtx,
        token: &str,
        attrs: &[(String, String)],
    ) -> Result<User, NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        let patch = set_patch(&ctx.pool, &user, attrs, Editor::User, self.clock.now())?;
        self.store
            .patch_user(&ctx.pool.id, &user.id, &patch)
            .await?
            .ok_or(NativeError::UserNotFound)
    }

    /// `DeleteUserAttributes`: the user removes some of its own attributes.
    pub async fn delete_own_attributes(
        &self,
        ctx: &PoolCtx,
        token: &str,
        names: &[String],
    ) -> Result<User, NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        let patch = delete_patch(&ctx.pool, names, Editor::User, self.clock.now())?;
        self.store
            .patch_user(&ctx.pool.id, &user.id, &patch)
            .await?
            .ok_or(NativeError::UserNotFound)
    }

    /// `DeleteUser`: the user deletes itself, with its links, refresh tokens,
    /// credential and group memberships.
    pub async fn delete_own_user(&self, ctx: &PoolCtx, token: &str) -> Result<(), NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        if !self.store.delete_user(&ctx.pool.id, &user.id).await? {
            return Err(NativeError::UserNotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PoolSettings, StringConstraints};

    fn attr(name: &str, mutable: bool) -> SchemaAttribute {
        SchemaAttribute {
            name: name.into(),
            attribute_data_type: "String".into(),
            developer_only_attribute: name.starts_with("dev:"),
            mutable,
            required: false,
            number_attribute_constraints: None,
            string_attribute_constraints: None,
        }
    }

    fn pool(schema: Option<Vec<SchemaAttribute>>) -> Pool {
        Pool {
            id: "p".into(),
            settings: PoolSettings {
                schema,
                ..PoolSettings::default()
            },
            created_at: 0,
            hook_secret: None,
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn user() -> User {
        let mut u = User::new("p", "ann".into(), 1);
        u.email = Some("ann@example.test".into());
        u.email_norm = Some("ann@example.test".into());
        u.email_verified = true;
        u
    }

    #[test]
    fn a_new_email_is_unverified_unless_the_admin_says_so() {
        let p = pool(None);
        let u = user();
        let set = |a: &[(&str, &str)], e| set_patch(&p, &u, &pairs(a), e, 9).unwrap();
        let patch = set(&[("email", "new@example.test")], Editor::Admin);
        assert_eq!(patch.email_verified, Some(false));
        assert_eq!(patch.email_norm, Some(Some("new@example.test".into())));
        let patch = set(
            &[("email", "new@example.test"), ("email_verified", "true")],
            Editor::Admin,
        );
        assert_eq!(patch.email_verified, Some(true));
        // The same address again (whatever its case) keeps the verification.
        let patch = set(&[("email", "Ann@Example.test")], Editor::User);
        assert_eq!(patch.email_verified, None);
        // Nothing but what is named: enabled and tokens_valid_after stay unset.
        assert_eq!(patch.enabled, None);
        assert_eq!(patch.tokens_valid_after, None);
        let patch = set(&[("phone_number", "+15555550100")], Editor::Admin);
        assert_eq!(
            patch.set_attributes["phone_number_verified"],
            Value::String("false".into())
        );
    }

    #[test]
    fn refused_names_and_values() {
        let p = pool(Some(vec![
            attr("custom:team", true),
            attr("custom:badge", false),
            attr("dev:tier", true),
        ]));
        let u = user();
        let err = |a: &[(&str, &str)], e| set_patch(&p, &u, &pairs(a), e, 9).unwrap_err();
        for name in [
            "sub",
            "identities",
            "cognito:user_status",
            "custom:nope",
            "nope",
        ] {
            assert!(
                matches!(
                    err(&[(name, "x")], Editor::Admin),
                    NativeError::InvalidParameter(_)
                ),
                "{name}"
            );
        }
        assert!(matches!(
            err(&[("custom:badge", "x")], Editor::Admin),
            NativeError::InvalidParameter(_)
        ));
        for name in ["email_verified", "phone_number_verified", "dev:tier"] {
            assert!(
                matches!(
                    err(&[(name, "true")], Editor::User),
                    NativeError::NotAuthorized(_)
                ),
                "{name}"
            );
        }
        assert!(matches!(
            err(&[("email_verified", "yes")], Editor::Admin),
            NativeError::InvalidParameter(_)
        ));
        assert!(matches!(
            err(&[("email", "nope")], Editor::Admin),
            NativeError::InvalidParameter(_)
        ));
        assert!(matches!(
            err(&[("name", "a"), ("name", "b")], Editor::Admin),
            NativeError::InvalidParameter(_)
        ));
        assert!(set_patch(&p, &u, &pairs(&[("custom:team", "red")]), Editor::User, 9).is_ok());
        assert!(set_patch(&p, &u, &pairs(&[("dev:tier", "1")]), Editor::Admin, 9).is_ok());
        // Deleting follows the same rules.
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(delete_patch(&p, &names(&["custom:badge"]), Editor::Admin, 9).is_err());
        assert!(delete_patch(&p, &names(&["sub"]), Editor::Admin, 9).is_err());
        let d = delete_patch(&p, &names(&["email", "custom:team"]), Editor::User, 9).unwrap();
        assert_eq!(d.email, Some(None));
        assert_eq!(d.email_verified, Some(false));
        assert_eq!(d.remove_attributes, ["custom:team"]);
        // A pool without a schema takes any custom attribute, never an unknown name.
        let open = pool(None);
        assert!(set_patch(&open, &u, &pairs(&[("custom:x", "1")]), Editor::User, 9).is_ok());
        assert!(set_patch(&open, &u, &pairs(&[("x", "1")]), Editor::Admin, 9).is_err());
    }

    #[test]
    fn values_fit_their_declared_type() {
        let mut n = attr("custom:age", true);
        n.attribute_data_type = "Number".into();
        n.number_attribute_constraints = Some(crate::model::NumberConstraints {
            min_value: Some("0".into()),
            max_value: Some("150".into()),
        });
        assert!(check_value(&n, "42").is_ok());
        assert!(check_value(&n, "151").is_err());
        assert!(check_value(&n, "x").is_err());
        let mut s = attr("custom:code", true);
        s.string_attribute_constraints = Some(StringConstraints {
            min_length: Some("2".into()),
            max_length: Some("3".into()),
        });
        assert!(check_value(&s, "ab").is_ok());
        assert!(check_value(&s, "abcd").is_err());
        assert!(schema_problems(&[s.clone(), s]).len() == 1);
        assert!(!schema_problems(&[attr("sub", false)]).is_empty());
        let mut r = attr("custom:r", true);
        r.required = true;
        assert!(!schema_problems(&[r]).is_empty());
    }
}
