//! Pending identity links in SQLite: one row per source, deleted with the user (a
//! foreign key with `ON DELETE CASCADE`) and with the provider. Creating and claiming
//! are single IMMEDIATE transactions: the checks and the write cannot interleave with
//! another writer.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{SqliteStore, db_err, exec, query_all, query_one, to_json};
use crate::model::{IdentityLink, User};
use crate::store::pending_links::{ClaimOutcome, PendingLink, PendingLinkStore, PendingOutcome};
use crate::store::{StoreError, StoreResult};

/// The user, read inside the caller's transaction.
fn user(conn: &Connection, pool: &str, id: &str) -> StoreResult<Option<User>> {
    query_one(
        conn,
        "SELECT data FROM users WHERE pool_id = ?1 AND id = ?2",
        [pool, id],
    )
}

fn find(
    conn: &Connection,
    pool: &str,
    provider: &str,
    attribute: &str,
    value: &str,
) -> StoreResult<Option<PendingLink>> {
    query_one(
        conn,
        "SELECT data FROM pending_links
         WHERE pool_id = ?1 AND provider_name = ?2 AND attribute_name = ?3
           AND attribute_value = ?4",
        [pool, provider, attribute, value],
    )
}

/// A user's identity links plus pending links: what the limit counts.
pub(super) fn links_and_pending(
    conn: &Connection,
    pool: &str,
    user_id: &str,
) -> StoreResult<usize> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM identity_links WHERE pool_id = ?1 AND user_id = ?2)
                  + (SELECT COUNT(*) FROM pending_links WHERE pool_id = ?1 AND user_id = ?2)",
        )
        .map_err(db_err)?
        .query_row([pool, user_id], |row| row.get(0))
        .map_err(db_err)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn remove(conn: &Connection, p: &PendingLink) -> StoreResult<usize> {
    exec(
        conn,
        "DELETE FROM pending_links
         WHERE pool_id = ?1 AND provider_name = ?2 AND attribute_name = ?3
           AND attribute_value = ?4",
        [
            &p.pool_id,
            &p.provider_name,
            &p.attribute_name,
            &p.attribute_value,
        ],
    )
}

fn create(conn: &mut Connection, p: &PendingLink, max: usize) -> StoreResult<PendingOutcome> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let Some(u) = user(&tx, &p.pool_id, &p.user_id)? else {
        return Ok(PendingOutcome::NoSuchUser);
    };
    if !u.enabled {
        return Ok(PendingOutcome::Disabled);
    }
    // The foreign key removes a deleted user's rows: any row found has a user.
    if let Some(cur) = find(
        &tx,
        &p.pool_id,
        &p.provider_name,
        &p.attribute_name,
        &p.attribute_value,
    )? {
        return Ok(if cur.user_id == p.user_id {
            PendingOutcome::AlreadyPending
        } else {
            PendingOutcome::PendingForOther(cur.user_id)
        });
    }
    if links_and_pending(&tx, &p.pool_id, &p.user_id)? >= max {
        return Ok(PendingOutcome::LimitReached);
    }
    exec(
        &tx,
        "INSERT INTO pending_links (pool_id, provider_name, attribute_name, attribute_value,
                                    user_id, created_at_ms, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            p.pool_id,
            p.provider_name,
            p.attribute_name,
            p.attribute_value,
            p.user_id,
            p.created_at_ms,
            to_json(p)?
        ],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(PendingOutcome::Created)
}

fn claim(
    conn: &mut Connection,
    p: &PendingLink,
    link: &IdentityLink,
    max: usize,
) -> StoreResult<ClaimOutcome> {
    if link.pool_id != p.pool_id
        || link.user_id != p.user_id
        || link.provider_name != p.provider_name
    {
        return Err(StoreError::Invalid(
            "the identity link does not match the pending link".into(),
        ));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let owner: Option<String> = tx
        .prepare_cached(
            "SELECT user_id FROM identity_links
             WHERE pool_id = ?1 AND provider_name = ?2 AND subject = ?3",
        )
        .map_err(db_err)?
        .query_row([&link.pool_id, &link.provider_name, &link.subject], |row| {
            row.get(0)
        })
        .optional()
        .map_err(db_err)?;
    if let Some(owner) = owner {
        return Ok(ClaimOutcome::IdentityTaken(owner));
    }
    let cur = find(
        &tx,
        &p.pool_id,
        &p.provider_name,
        &p.attribute_name,
        &p.attribute_value,
    )?;
    if cur.is_none_or(|c| c.user_id != p.user_id) {
        return Ok(ClaimOutcome::Gone);
    }
    let Some(u) = user(&tx, &p.pool_id, &p.user_id)? else {
        return Ok(ClaimOutcome::Gone);
    };
    if !u.enabled {
        return Ok(ClaimOutcome::Disabled);
    }
    // The pending link being claimed is counted already and becomes the new link.
    if links_and_pending(&tx, &p.pool_id, &p.user_id)? > max {
        return Ok(ClaimOutcome::LimitReached);
    }
    remove(&tx, p)?;
    exec(
        &tx,
        "INSERT INTO identity_links (pool_id, provider_name, subject, user_id, created_at_ms, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            link.pool_id,
            link.provider_name,
            link.subject,
            link.user_id,
            link.created_at_ms,
            to_json(link)?
        ],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(ClaimOutcome::Linked)
}

fn delete(
    conn: &mut Connection,
    pool: &str,
    provider: &str,
    attribute: &str,
    value: &str,
    owner: Option<&str>,
) -> StoreResult<Option<PendingLink>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let Some(cur) = find(&tx, pool, provider, attribute, value)? else {
        return Ok(None);
    };
    if owner.is_some_and(|o| o != cur.user_id) {
        return Ok(None);
    }
    remove(&tx, &cur)?;
    tx.commit().map_err(db_err)?;
    Ok(Some(cur))
}

/// Removes every pending link of one provider (its deletion); returns how many.
pub(super) fn delete_provider_pending(
    conn: &Connection,
    pool: &str,
    provider: &str,
) -> StoreResult<usize> {
    exec(
        conn,
        "DELETE FROM pending_links WHERE pool_id = ?1 AND provider_name = ?2",
        [pool, provider],
    )
}

#[async_trait]
impl PendingLinkStore for SqliteStore {
    async fn create_pending_link(
        &self,
        link: &PendingLink,
        max_links: usize,
    ) -> StoreResult<PendingOutcome> {
        let link = link.clone();
        self.run(move |c| create(c, &link, max_links)).await
    }

    async fn pending_link_attributes(
        &self,
        pool: &str,
        provider: &str,
    ) -> StoreResult<Vec<String>> {
        let (pool, provider) = (pool.to_owned(), provider.to_owned());
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT DISTINCT attribute_name FROM pending_links
                     WHERE pool_id = ?1 AND provider_name = ?2 ORDER BY attribute_name",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([&pool, &provider], |row| row.get::<_, String>(0))
                .map_err(db_err)?;
            rows.map(|r| r.map_err(db_err)).collect()
        })
        .await
    }

    async fn find_pending_link(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Option<PendingLink>> {
        let args = [pool, provider, attribute, value].map(str::to_owned);
        self.read(move |c| find(c, &args[0], &args[1], &args[2], &args[3]))
            .await
    }

    async fn list_pending_links(&self, pool: &str, user_id: &str) -> StoreResult<Vec<PendingLink>> {
        let (pool, user_id) = (pool.to_owned(), user_id.to_owned());
        self.read(move |c| {
            query_all(
                c,
                "SELECT data FROM pending_links WHERE pool_id = ?1 AND user_id = ?2
                 ORDER BY created_at_ms, provider_name, attribute_name, attribute_value",
                [&pool, &user_id],
            )
        })
        .await
    }

    async fn delete_pending_link(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
        owner: Option<&str>,
    ) -> StoreResult<Option<PendingLink>> {
        let args = [pool, provider, attribute, value].map(str::to_owned);
        let owner = owner.map(str::to_owned);
        self.run(move |c| delete(c, &args[0], &args[1], &args[2], &args[3], owner.as_deref()))
            .await
    }

    async fn claim_pending_link(
        &self,
        pending: &PendingLink,
        link: &IdentityLink,
        max_links: usize,
    ) -> StoreResult<ClaimOutcome> {
        let (pending, link) = (pending.clone(), link.clone());
        self.run(move |c| claim(c, &pending, &link, max_links))
            .await
    }
}
