//! Native users' credentials in SQLite: one row per user, deleted with the user (a
//! foreign key with `ON DELETE CASCADE`); writes compare-and-set on `version`.

use async_trait::async_trait;
use rusqlite::{TransactionBehavior, params};

use super::{SqliteStore, conflict_msg, db_err, exec, query_one, to_json};
use crate::model::User;
use crate::store::StoreResult;
use crate::store::credentials::{CreateNativeOutcome, Credential, CredentialStore, next_version};

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn create_native_user(
        &self,
        user: &User,
        credential: &Credential,
    ) -> StoreResult<CreateNativeOutcome> {
        let user = user.clone();
        let mut cred = credential.clone();
        cred.version = 1;
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let taken = tx
                .prepare_cached(
                    "SELECT 1 FROM users WHERE pool_id = ?1 AND (username = ?2 OR id = ?3)",
                )
                .map_err(db_err)?
                .exists(params![user.pool_id, user.username, user.id])
                .map_err(db_err)?;
            if taken {
                return Ok(CreateNativeOutcome::UsernameExists);
            }
            exec(
                &tx,
                "INSERT INTO users (pool_id, id, username, email_norm, created_at, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    user.pool_id,
                    user.id,
                    user.username,
                    user.email_norm,
                    user.created_at,
                    to_json(&user)?
                ],
            )
            .map_err(|e| conflict_msg(e, || format!("username {} exists", user.username)))?;
            exec(
                &tx,
                "INSERT INTO credentials (pool_id, user_id, version, data) VALUES (?1, ?2, 1, ?3)",
                params![cred.pool_id, cred.user_id, to_json(&cred)?],
            )?;
            tx.commit().map_err(db_err)?;
            Ok(CreateNativeOutcome::Created)
        })
        .await
    }

    async fn get_credential(&self, pool: &str, user_id: &str) -> StoreResult<Option<Credential>> {
        let (pool, id) = (pool.to_owned(), user_id.to_owned());
        self.read(move |c| {
            query_one(
                c,
                "SELECT data FROM credentials WHERE pool_id = ?1 AND user_id = ?2",
                [pool, id],
            )
        })
        .await
    }

    async fn put_credential(
        &self,
        credential: &Credential,
        expected: Option<u64>,
    ) -> StoreResult<bool> {
        let mut cred = credential.clone();
        cred.version = next_version(expected);
        self.run(move |c| {
            let json = to_json(&cred)?;
            let n = match expected {
                Some(v) => exec(
                    c,
                    "UPDATE credentials SET version = ?3, data = ?4
                     WHERE pool_id = ?1 AND user_id = ?2 AND version = ?5",
                    params![
                        cred.pool_id,
                        cred.user_id,
                        cred.version as i64,
                        json,
                        v as i64
                    ],
                )?,
                // The foreign key refuses a credential for a user that does not exist;
                // the primary key one for a user that has one already.
                None => match exec(
                    c,
                    "INSERT INTO credentials (pool_id, user_id, version, data)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![cred.pool_id, cred.user_id, cred.version as i64, json],
                ) {
                    Ok(n) => n,
                    Err(
                        crate::store::StoreError::Conflict(_)
                        | crate::store::StoreError::AlreadyExists(_),
                    ) => 0,
                    Err(e) => return Err(e),
                },
            };
            Ok(n > 0)
        })
        .await
    }
}
