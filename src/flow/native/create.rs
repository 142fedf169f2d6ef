//! Creating a native user: the username and attribute rules Cognito applies, then the
//! user and its credential written together (`AdminCreateUser`, `SignUp`, a user
//! brought in by the `UserMigration` hook).

use serde_json::Value;

use super::NativeError;
use crate::flow::Flow;
use crate::identity::normalize_email;
use crate::model::{Pool, User};
use crate::store::credentials::{CreateNativeOutcome, Credential, UserStatus};

/// Cognito's longest username.
const MAX_USERNAME: usize = 128;
/// Attributes nobody may set.
const READ_ONLY: &[&str] = &[
    "sub",
    "identities",
    "cognito:username",
    "cognito:user_status",
];

/// A user about to be created.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    /// `None`: no password (a user who must reset it).
    pub password: Option<String>,
    /// A temporary password stops working at this instant.
    pub password_expires_at: Option<i64>,
    pub status: UserStatus,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A username Cognito accepts: 1 to 128 characters, no whitespace or control
/// characters.
pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.chars().count() <= MAX_USERNAME
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Applies attributes (`email`, `email_verified`, standard claims, `custom:*`) to a user.
pub fn apply_attributes(
    pool: &Pool,
    user: &mut User,
    attributes: &[(String, String)],
) -> Result<(), NativeError> {
    for (name, value) in attributes {
        if READ_ONLY.contains(&name.as_str()) {
            return Err(NativeError::InvalidParameter(format!(
                "Cannot modify the non-mutable attribute {name}"
            )));
        }
        if name.is_empty() || name.len() > 32 + "custom:".len() || value.len() > 2048 {
            return Err(NativeError::InvalidParameter(format!(
                "Invalid attribute {name}"
            )));
        }
        // A custom attribute must be one the pool declares, with a value that fits it.
        super::attributes::check_for_create(pool, name, value)?;
        match name.as_str() {
            "email" => {
                if !value.contains('@') {
                    return Err(NativeError::InvalidParameter(
                        "Invalid email address format.".into(),
                    ));
                }
                user.email = Some(value.clone());
                user.email_norm = Some(normalize_email(value, pool.settings.email_case_sensitive));
            }
            "email_verified" => user.email_verified = value == "true",
            _ => {
                user.attributes
                    .insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    Ok(())
}

impl Flow {
    /// The user `new` describes, not yet stored (its attributes checked).
    pub(crate) fn new_native_user(&self, pool: &Pool, new: &NewUser) -> Result<User, NativeError> {
        if !valid_username(&new.username) {
            return Err(NativeError::InvalidParameter(
                "Username must be 1 to 128 characters without spaces.".into(),
            ));
        }
        let now = self.clock.now();
        let mut new = new.clone();
        let by_email = super::aliases::email_as_username(pool, &mut new)?.is_some();
        let mut user = User::new(&pool.id, new.username.clone(), now);
        if by_email {
            // Users sign in with their email; the username is the `sub`.
            user.username.clone_from(&user.id);
        }
        apply_attributes(pool, &mut user, &new.attributes)?;
        Ok(user)
    }

    /// Creates `user` (from [`Flow::new_native_user`]) with its credential, at once.
    pub(crate) async fn store_native_user(
        &self,
        pool: &Pool,
        user: &User,
        new: &NewUser,
    ) -> Result<Credential, NativeError> {
        if pool
            .settings
            .username_attributes
            .iter()
            .any(|a| a == "email")
            && let Some(norm) = &user.email_norm
            && !self
                .store
                .find_users_by_email(&pool.id, norm)
                .await?
                .is_empty()
        {
            // The email is the sign-in name: one user per address.
            return Err(NativeError::UsernameExists);
        }
        let password = match &new.password {
            Some(p) => Some(
                self.password_record(&pool.id, &user.username, p, new.password_expires_at)
                    .await?,
            ),
            None => None,
        };
        let cred = Credential {
            pool_id: pool.id.clone(),
            user_id: user.id.clone(),
            status: new.status,
            password,
            totp: None,
            totp_enabled: false,
            totp_preferred: false,
            sms_enabled: false,
            sms_preferred: false,
            version: 1,
            updated_at: self.clock.now(),
        };
        match self.store.create_native_user(user, &cred).await? {
            CreateNativeOutcome::Created => Ok(cred),
            CreateNativeOutcome::UsernameExists => Err(NativeError::UsernameExists),
        }
    }

    /// Checks and creates a user in one step.
    pub(crate) async fn create_native(
        &self,
        pool: &Pool,
        new: NewUser,
    ) -> Result<(User, Credential), NativeError> {
        let user = self.new_native_user(pool, &new)?;
        let cred = self.store_native_user(pool, &user, &new).await?;
        Ok((user, cred))
    }
}
