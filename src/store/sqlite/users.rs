//! Users and identity links in SQLite. Creating a user with its first link and linking
//! one more identity are single IMMEDIATE transactions: the check and the write cannot
//! interleave with another writer.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{conflict_msg, db_err, exec, query_all, query_one, to_json};
use crate::model::{IdentityLink, Page, User, UserFilter};
use crate::store::paging::{clamp_page, decode_cursor, encode_cursor};
use crate::store::{CreateUserOutcome, LinkOutcome, StoreError, StoreResult, UserPatch};

pub(super) fn get_user(conn: &Connection, pool: &str, id: &str) -> StoreResult<Option<User>> {
    query_one(
        conn,
        "SELECT data FROM users WHERE pool_id = ?1 AND id = ?2",
        [pool, id],
    )
}

pub(super) fn get_user_by_username(
    conn: &Connection,
    pool: &str,
    username: &str,
) -> StoreResult<Option<User>> {
    query_one(
        conn,
        "SELECT data FROM users WHERE pool_id = ?1 AND username = ?2",
        [pool, username],
    )
}

pub(super) fn find_users_by_email(
    conn: &Connection,
    pool: &str,
    email_norm: &str,
) -> StoreResult<Vec<User>> {
    query_all(
        conn,
        "SELECT data FROM users WHERE pool_id = ?1 AND email_norm = ?2 ORDER BY created_at, id",
        [pool, email_norm],
    )
}

pub(super) fn list_users(
    conn: &Connection,
    pool: &str,
    filter: &UserFilter,
    limit: usize,
    cursor: Option<&str>,
) -> StoreResult<Page<User>> {
    let limit = clamp_page(limit);
    let after = cursor.map(decode_cursor).transpose()?;
    let (after_created, after_id) = match &after {
        Some(p) => (Some(p.created_at), Some(p.id.as_str())),
        None => (None, None),
    };
    // One row more than the page tells whether there is a next page.
    let mut users: Vec<User> = query_all(
        conn,
        "SELECT u.data FROM users u
         WHERE u.pool_id = ?1
           AND (?2 IS NULL OR u.email_norm = ?2)
           AND (?3 IS NULL OR EXISTS (
                SELECT 1 FROM identity_links l
                WHERE l.pool_id = u.pool_id AND l.user_id = u.id AND l.provider_name = ?3))
           AND (?4 IS NULL OR (u.created_at, u.id) > (?4, ?5))
         ORDER BY u.created_at, u.id
         LIMIT ?6",
        params![
            pool,
            filter.email_norm,
            filter.provider,
            after_created,
            after_id,
            (limit + 1) as i64
        ],
    )?;
    let next_cursor = if users.len() > limit {
        users.truncate(limit);
        users.last().map(|u| encode_cursor(u.created_at, &u.id))
    } else {
        None
    };
    Ok(Page {
        items: users,
        next_cursor,
    })
}

pub(super) fn update_user(conn: &Connection, user: &User) -> StoreResult<bool> {
    let n = exec(
        conn,
        "UPDATE users SET username = ?3, email_norm = ?4, created_at = ?5, data = ?6
         WHERE pool_id = ?1 AND id = ?2",
        params![
            user.pool_id,
            user.id,
            user.username,
            user.email_norm,
            user.created_at,
            to_json(user)?
        ],
    )
    .map_err(|e| conflict_msg(e, || format!("username {} is taken", user.username)))?;
    Ok(n > 0)
}

/// Reads, patches and writes in one IMMEDIATE transaction: no other writer can come
/// between the read and the write.
pub(super) fn patch_user(
    conn: &mut Connection,
    pool: &str,
    id: &str,
    patch: &UserPatch,
) -> StoreResult<Option<User>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let Some(mut user) = get_user(&tx, pool, id)? else {
        return Ok(None);
    };
    patch.apply(&mut user);
    update_user(&tx, &user)?;
    tx.commit().map_err(db_err)?;
    Ok(Some(user))
}

pub(super) fn delete_user(conn: &mut Connection, pool: &str, id: &str) -> StoreResult<bool> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    exec(
        &tx,
        "DELETE FROM identity_links WHERE pool_id = ?1 AND user_id = ?2",
        [pool, id],
    )?;
    exec(
        &tx,
        "DELETE FROM refresh_tokens WHERE pool_id = ?1 AND user_id = ?2",
        [pool, id],
    )?;
    exec(
        &tx,
        "DELETE FROM group_members WHERE pool_id = ?1 AND user_id = ?2",
        [pool, id],
    )?;
    let n = exec(
        &tx,
        "DELETE FROM users WHERE pool_id = ?1 AND id = ?2",
        [pool, id],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(n > 0)
}

pub(super) fn find_identity(
    conn: &Connection,
    pool: &str,
    provider: &str,
    subject: &str,
) -> StoreResult<Option<IdentityLink>> {
    query_one(
        conn,
        "SELECT data FROM identity_links
         WHERE pool_id = ?1 AND provider_name = ?2 AND subject = ?3",
        [pool, provider, subject],
    )
}

pub(super) fn list_identities(
    conn: &Connection,
    pool: &str,
    user_id: &str,
) -> StoreResult<Vec<IdentityLink>> {
    query_all(
        conn,
        "SELECT data FROM identity_links WHERE pool_id = ?1 AND user_id = ?2
         ORDER BY created_at_ms, provider_name, subject",
        [pool, user_id],
    )
}

fn linked_user(
    conn: &Connection,
    pool: &str,
    provider: &str,
    subject: &str,
) -> StoreResult<Option<String>> {
    conn.prepare_cached(
        "SELECT user_id FROM identity_links
         WHERE pool_id = ?1 AND provider_name = ?2 AND subject = ?3",
    )
    .map_err(db_err)?
    .query_row([pool, provider, subject], |row| row.get(0))
    .optional()
    .map_err(db_err)
}

fn insert_link(conn: &Connection, link: &IdentityLink) -> StoreResult<()> {
    exec(
        conn,
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
    )
    .map(drop)
}

pub(super) fn create_user_with_identity(
    conn: &mut Connection,
    user: &User,
    link: &IdentityLink,
) -> StoreResult<CreateUserOutcome> {
    if link.pool_id != user.pool_id || link.user_id != user.id {
        return Err(StoreError::Invalid(
            "the identity link does not name this user".into(),
        ));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    if let Some(owner) = linked_user(&tx, &link.pool_id, &link.provider_name, &link.subject)? {
        return Ok(CreateUserOutcome::IdentityTaken(owner));
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
            to_json(user)?
        ],
    )
    .map_err(|e| {
        conflict_msg(e, || {
            format!("user {} or username {} exists", user.id, user.username)
        })
    })?;
    insert_link(&tx, link)?;
    tx.commit().map_err(db_err)?;
    Ok(CreateUserOutcome::Created)
}

pub(super) fn link_identity(
    conn: &mut Connection,
    link: &IdentityLink,
    max_links: usize,
) -> StoreResult<LinkOutcome> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let user: Option<String> = tx
        .prepare_cached("SELECT data FROM users WHERE pool_id = ?1 AND id = ?2")
        .map_err(db_err)?
        .query_row([&link.pool_id, &link.user_id], |row| row.get(0))
        .optional()
        .map_err(db_err)?;
    let Some(user) = user else {
        return Ok(LinkOutcome::NoSuchUser);
    };
    // A disabled user gains no identity (interface.md section 6), checked in the same
    // transaction as the write.
    let user: User = serde_json::from_str(&user).map_err(StoreError::corrupt)?;
    if !user.enabled {
        return Ok(LinkOutcome::Disabled);
    }
    match linked_user(&tx, &link.pool_id, &link.provider_name, &link.subject)? {
        Some(owner) if owner == link.user_id => return Ok(LinkOutcome::AlreadyLinked),
        Some(owner) => return Ok(LinkOutcome::LinkedToOther(owner)),
        None => {}
    }
    // Pending links (by a source attribute) count toward the limit too.
    if super::pending_links::links_and_pending(&tx, &link.pool_id, &link.user_id)? >= max_links {
        return Ok(LinkOutcome::LimitReached);
    }
    insert_link(&tx, link)?;
    tx.commit().map_err(db_err)?;
    Ok(LinkOutcome::Linked)
}

pub(super) fn unlink_identity(
    conn: &Connection,
    pool: &str,
    user_id: &str,
    provider: &str,
    subject: &str,
) -> StoreResult<bool> {
    let n = exec(
        conn,
        "DELETE FROM identity_links
         WHERE pool_id = ?1 AND user_id = ?2 AND provider_name = ?3 AND subject = ?4",
        [pool, user_id, provider, subject],
    )?;
    Ok(n > 0)
}

/// Removes every identity link of one provider (its deletion); returns how many.
pub(super) fn delete_provider_links(
    conn: &Connection,
    pool: &str,
    provider: &str,
) -> StoreResult<usize> {
    exec(
        conn,
        "DELETE FROM identity_links WHERE pool_id = ?1 AND provider_name = ?2",
        [pool, provider],
    )
}
