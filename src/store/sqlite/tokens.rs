//! Signing keys and refresh tokens in SQLite. Rotations are IMMEDIATE transactions so
//! that "check the state, then write" cannot interleave with another writer.

use rusqlite::{Connection, TransactionBehavior, params};

use super::{conflict_msg, db_err, exec, query_all, query_one, to_json};
use crate::model::{RefreshState, RefreshTokenRecord, SigningKeyRecord};
use crate::store::{RotateOutcome, StoreResult};

pub(super) fn list_keys(conn: &Connection, pool: &str) -> StoreResult<Vec<SigningKeyRecord>> {
    query_all(
        conn,
        "SELECT data FROM signing_keys WHERE pool_id = ?1 ORDER BY created_at, kid",
        [pool],
    )
}

pub(super) fn insert_initial_key(conn: &Connection, key: &SigningKeyRecord) -> StoreResult<bool> {
    // One statement, so the emptiness check and the insert are one atomic step.
    let n = exec(
        conn,
        "INSERT INTO signing_keys (pool_id, kid, created_at, data)
         SELECT ?1, ?2, ?3, ?4
         WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE pool_id = ?1)",
        params![key.pool_id, key.kid, key.created_at, to_json(key)?],
    )?;
    Ok(n > 0)
}

fn upsert_key(conn: &Connection, key: &SigningKeyRecord) -> StoreResult<()> {
    exec(
        conn,
        "INSERT INTO signing_keys (pool_id, kid, created_at, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (pool_id, kid) DO UPDATE SET created_at = excluded.created_at,
                                                  data = excluded.data",
        params![key.pool_id, key.kid, key.created_at, to_json(key)?],
    )
    .map(drop)
}

pub(super) fn rotate_key(
    conn: &mut Connection,
    key: &SigningKeyRecord,
    old_visible_until: i64,
    now: i64,
) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let existing = list_keys(&tx, &key.pool_id)?;
    for mut old in existing {
        if old.kid == key.kid {
            continue;
        }
        if old.active {
            old.active = false;
            old.visible_until = Some(old_visible_until);
            upsert_key(&tx, &old)?;
        } else if old.visible_until.is_none_or(|until| until <= now) {
            // A retired key whose last token has expired has nothing left to verify.
            exec(
                &tx,
                "DELETE FROM signing_keys WHERE pool_id = ?1 AND kid = ?2",
                [&old.pool_id, &old.kid],
            )?;
        }
    }
    let mut new = key.clone();
    new.active = true;
    new.visible_until = None;
    upsert_key(&tx, &new)?;
    tx.commit().map_err(db_err)
}

pub(super) fn insert_refresh(conn: &Connection, token: &RefreshTokenRecord) -> StoreResult<()> {
    exec(
        conn,
        "INSERT INTO refresh_tokens (token_hash, pool_id, family_id, user_id, state, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token.token_hash,
            token.pool_id,
            token.family_id,
            token.user_id,
            state_name(token.state),
            to_json(token)?
        ],
    )
    .map_err(|e| conflict_msg(e, || "refresh token already stored".into()))
    .map(drop)
}

pub(super) fn get_refresh(
    conn: &Connection,
    pool: &str,
    token_hash: &str,
) -> StoreResult<Option<RefreshTokenRecord>> {
    query_one(
        conn,
        "SELECT data FROM refresh_tokens WHERE token_hash = ?1 AND pool_id = ?2",
        [token_hash, pool],
    )
}

fn state_name(state: RefreshState) -> &'static str {
    match state {
        RefreshState::Active => "active",
        RefreshState::Used => "used",
        RefreshState::Revoked => "revoked",
    }
}

fn set_state(conn: &Connection, token: &RefreshTokenRecord) -> StoreResult<()> {
    exec(
        conn,
        "UPDATE refresh_tokens SET state = ?2, data = ?3 WHERE token_hash = ?1",
        params![token.token_hash, state_name(token.state), to_json(token)?],
    )
    .map(drop)
}

/// Revokes every token of `(pool, <column> = value)` that is not revoked yet; the JSON
/// record is patched in the same statement so both copies of the state agree.
fn revoke_where(conn: &Connection, column: &str, pool: &str, value: &str) -> StoreResult<u64> {
    let sql = format!(
        "UPDATE refresh_tokens SET state = 'revoked', data = json_set(data, '$.state', 'revoked')
         WHERE pool_id = ?1 AND {column} = ?2 AND state <> 'revoked'"
    );
    Ok(exec(conn, &sql, [pool, value])? as u64)
}

pub(super) fn rotate_refresh(
    conn: &mut Connection,
    token_hash: &str,
    new: &RefreshTokenRecord,
    now: i64,
) -> StoreResult<RotateOutcome> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let Some(mut old) = get_refresh(&tx, &new.pool_id, token_hash)? else {
        return Ok(RotateOutcome::Invalid);
    };
    let outcome = match old.state {
        RefreshState::Active if old.expires_at > now => {
            old.state = RefreshState::Used;
            set_state(&tx, &old)?;
            insert_refresh(&tx, new)?;
            RotateOutcome::Rotated(old)
        }
        // A used token presented again was stolen or replayed (RFC 9700 4.14.2): the
        // whole family goes, whether or not this token has expired since.
        RefreshState::Used => {
            revoke_where(&tx, "family_id", &old.pool_id, &old.family_id)?;
            old.state = RefreshState::Revoked;
            RotateOutcome::Reused(old)
        }
        RefreshState::Active | RefreshState::Revoked => return Ok(RotateOutcome::Invalid),
    };
    tx.commit().map_err(db_err)?;
    Ok(outcome)
}

pub(super) fn revoke_refresh_family(
    conn: &Connection,
    pool: &str,
    family_id: &str,
) -> StoreResult<u64> {
    revoke_where(conn, "family_id", pool, family_id)
}

pub(super) fn revoke_user_refresh(
    conn: &Connection,
    pool: &str,
    user_id: &str,
) -> StoreResult<u64> {
    revoke_where(conn, "user_id", pool, user_id)
}
