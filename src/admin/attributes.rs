//! An administrator's changes of a user's attributes (`AdminUpdateUserAttributes`,
//! `AdminDeleteUserAttributes`): the rules of [`crate::flow::native::attributes`], as
//! one partial update of the user, whatever else changes it meanwhile.

use super::service::Admin;
use crate::flow::native::NativeError;
use crate::flow::native::attributes::{Editor, delete_patch, set_patch};
use crate::model::{Pool, User};

impl Admin {
    async fn user_named(&self, pool: &Pool, username: &str) -> Result<User, NativeError> {
        crate::flow::native::aliases::user_by_sign_in_name(&self.store, &pool.id, username)
            .await?
            .ok_or(NativeError::UserNotFound)
    }

    /// Sets `attrs` on the user; an administrator may set `email_verified` and
    /// `phone_number_verified`. Returns the user as written.
    pub async fn update_user_attributes(
        &self,
        pool: &Pool,
        username: &str,
        attrs: &[(String, String)],
    ) -> Result<User, NativeError> {
        let user = self.user_named(pool, username).await?;
        let patch = set_patch(pool, &user, attrs, Editor::Admin, self.clock.now())?;
        self.store
            .patch_user(&pool.id, &user.id, &patch)
            .await?
            .ok_or(NativeError::UserNotFound)
    }

    /// Removes the attributes `names` from the user. Returns the user as written.
    pub async fn delete_user_attributes(
        &self,
        pool: &Pool,
        username: &str,
        names: &[String],
    ) -> Result<User, NativeError> {
        let user = self.user_named(pool, username).await?;
        let patch = delete_patch(pool, names, Editor::Admin, self.clock.now())?;
        self.store
            .patch_user(&pool.id, &user.id, &patch)
            .await?
            .ok_or(NativeError::UserNotFound)
    }
}

impl Admin {
    /// Adds attributes to the pool's schema, atomically with respect to every other
    /// change of the pool; a name the schema has already is refused.
    pub async fn add_schema_attributes(
        &self,
        pool: &str,
        added: Vec<crate::model::SchemaAttribute>,
    ) -> super::AdminResult<super::PoolInfo> {
        self.change_settings(pool, |current| {
            let mut settings = current.clone();
            let schema = settings.schema.get_or_insert_with(Vec::new);
            for a in &added {
                if schema.iter().any(|s| s.name == a.name) {
                    return Err(super::AdminError::invalid(format!(
                        "schema: {} exists already",
                        a.name
                    )));
                }
                schema.push(a.clone());
            }
            Ok(settings)
        })
        .await
    }
}
