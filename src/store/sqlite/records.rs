//! Pool-level records in SQLite: pools, domains, app clients, identity providers and
//! resource servers. Blocking functions, called through `SqliteStore::run`.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{conflict_msg, db_err, exec, from_json, query_all, query_one, to_json};
use crate::model::{DomainRecord, Pool};
use crate::store::{CasOutcome, StoreError, StoreResult};

pub(super) fn create_pool(conn: &Connection, pool: &Pool) -> StoreResult<()> {
    exec(
        conn,
        "INSERT INTO pools (id, created_at, data) VALUES (?1, ?2, ?3)",
        params![pool.id, pool.created_at, to_json(pool)?],
    )
    .map_err(|e| conflict_msg(e, || format!("pool {} already exists", pool.id)))?;
    Ok(())
}

pub(super) fn get_pool(conn: &Connection, id: &str) -> StoreResult<Option<Pool>> {
    query_one(conn, "SELECT data FROM pools WHERE id = ?1", [id])
}

pub(super) fn list_pools(conn: &Connection) -> StoreResult<Vec<Pool>> {
    query_all(conn, "SELECT data FROM pools ORDER BY created_at, id", [])
}

pub(super) fn update_pool(conn: &Connection, pool: &Pool) -> StoreResult<bool> {
    let n = exec(
        conn,
        "UPDATE pools SET created_at = ?2, data = ?3 WHERE id = ?1",
        params![pool.id, pool.created_at, to_json(pool)?],
    )?;
    Ok(n > 0)
}

/// Reads, compares and writes in one IMMEDIATE transaction: no writer can come
/// between the comparison and the write.
pub(super) fn update_pool_if(
    conn: &mut Connection,
    expected: &Pool,
    new: &Pool,
) -> StoreResult<CasOutcome> {
    if expected.id != new.id {
        return Err(StoreError::Invalid(
            "a compare-and-set cannot change a pool's id".to_owned(),
        ));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let Some(stored) = get_pool(&tx, &expected.id)? else {
        return Ok(CasOutcome::Missing);
    };
    if stored != *expected {
        return Ok(CasOutcome::Changed(Box::new(stored)));
    }
    update_pool(&tx, new)?;
    tx.commit().map_err(db_err)?;
    Ok(CasOutcome::Written)
}

/// Tables whose rows belong to one pool, through their `pool_id` column.
const POOL_TABLES: &[&str] = &[
    "group_members",
    "groups",
    "sp_keys",
    "domains",
    "clients",
    "providers",
    "resource_servers",
    "identity_links",
    "refresh_tokens",
    "users",
    "signing_keys",
    "ephemeral",
];

pub(super) fn delete_pool(conn: &mut Connection, id: &str) -> StoreResult<bool> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let existed = exec(&tx, "DELETE FROM pools WHERE id = ?1", [id])? > 0;
    // Rows of a pool that no longer exists are cleaned up as well: they are orphans.
    for table in POOL_TABLES {
        exec(
            &tx,
            &format!("DELETE FROM {table} WHERE pool_id = ?1"),
            [id],
        )?;
    }
    tx.commit().map_err(db_err)?;
    Ok(existed)
}

pub(super) fn put_domain(conn: &Connection, domain: &DomainRecord) -> StoreResult<()> {
    // One statement: insert, or replace only when the same pool owns the domain. No
    // change at all means another pool owns it.
    let n = exec(
        conn,
        "INSERT INTO domains (domain, pool_id, data) VALUES (?1, ?2, ?3)
         ON CONFLICT (domain) DO UPDATE SET data = excluded.data
         WHERE domains.pool_id = excluded.pool_id",
        params![domain.domain, domain.pool_id, to_json(domain)?],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "domain {} belongs to another pool",
            domain.domain
        )));
    }
    Ok(())
}

pub(super) fn get_domain(conn: &Connection, domain: &str) -> StoreResult<Option<DomainRecord>> {
    query_one(conn, "SELECT data FROM domains WHERE domain = ?1", [domain])
}

pub(super) fn list_domains(
    conn: &Connection,
    pool: Option<&str>,
) -> StoreResult<Vec<DomainRecord>> {
    match pool {
        Some(pool) => query_all(
            conn,
            "SELECT data FROM domains WHERE pool_id = ?1 ORDER BY domain",
            [pool],
        ),
        None => query_all(conn, "SELECT data FROM domains ORDER BY domain", []),
    }
}

pub(super) fn delete_domain(conn: &Connection, pool: &str, domain: &str) -> StoreResult<bool> {
    let n = exec(
        conn,
        "DELETE FROM domains WHERE pool_id = ?1 AND domain = ?2",
        [pool, domain],
    )?;
    Ok(n > 0)
}

/// A table keyed by `(pool_id, <name column>)` holding one kind of pool record.
#[derive(Clone, Copy)]
pub(super) struct Keyed {
    table: &'static str,
    key: &'static str,
}

pub(super) const CLIENTS: Keyed = Keyed {
    table: "clients",
    key: "client_id",
};
pub(super) const PROVIDERS: Keyed = Keyed {
    table: "providers",
    key: "name",
};
pub(super) const GROUPS: Keyed = Keyed {
    table: "groups",
    key: "name",
};
pub(super) const RESOURCE_SERVERS: Keyed = Keyed {
    table: "resource_servers",
    key: "identifier",
};

impl Keyed {
    pub(super) fn put(
        self,
        conn: &Connection,
        pool: &str,
        key: &str,
        data: &str,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO {t} (pool_id, {k}, data) VALUES (?1, ?2, ?3)
             ON CONFLICT (pool_id, {k}) DO UPDATE SET data = excluded.data",
            t = self.table,
            k = self.key
        );
        exec(conn, &sql, [pool, key, data])
            .map_err(|e| conflict_msg(e, || format!("{} record exists", self.table)))
            .map(drop)
    }

    /// Replaces the record only while its stored `updated_at` is `expected`; one
    /// statement, so nothing can come between the check and the write.
    pub(super) fn replace_if_version(
        self,
        conn: &Connection,
        pool: &str,
        key: &str,
        data: &str,
        expected: &str,
    ) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE {t} SET data = ?3
             WHERE pool_id = ?1 AND {k} = ?2
               AND IFNULL(json_extract(data, '$.version'), '') = ?4",
            t = self.table,
            k = self.key
        );
        Ok(exec(conn, &sql, params![pool, key, data, expected])? > 0)
    }

    /// Compare-and-set: the stored record is compared with `expected` as a record (its
    /// text may come from another version), then replaced by `data` only while its
    /// stored text is still the one compared, in one statement.
    pub(super) fn replace_if_equal<T: serde::de::DeserializeOwned + PartialEq>(
        self,
        conn: &Connection,
        pool: &str,
        key: &str,
        expected: &T,
        data: &str,
    ) -> StoreResult<CasOutcome<T>> {
        let select = format!(
            "SELECT data FROM {} WHERE pool_id = ?1 AND {} = ?2",
            self.table, self.key
        );
        let update = format!(
            "UPDATE {} SET data = ?3 WHERE pool_id = ?1 AND {} = ?2 AND data = ?4",
            self.table, self.key
        );
        for _ in 0..3 {
            let raw: Option<String> = conn
                .query_row(&select, [pool, key], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let Some(raw) = raw else {
                return Ok(CasOutcome::Missing);
            };
            let stored: T = from_json(&raw)?;
            if stored != *expected {
                return Ok(CasOutcome::Changed(Box::new(stored)));
            }
            if exec(conn, &update, params![pool, key, data, raw])? > 0 {
                return Ok(CasOutcome::Written);
            }
            // Rewritten between the two statements (another process): compare again.
        }
        Err(StoreError::Conflict(format!(
            "the {} record keeps changing",
            self.table
        )))
    }

    pub(super) fn get<T: serde::de::DeserializeOwned>(
        self,
        conn: &Connection,
        pool: &str,
        key: &str,
    ) -> StoreResult<Option<T>> {
        let sql = format!(
            "SELECT data FROM {} WHERE pool_id = ?1 AND {} = ?2",
            self.table, self.key
        );
        query_one(conn, &sql, [pool, key])
    }

    pub(super) fn list<T: serde::de::DeserializeOwned>(
        self,
        conn: &Connection,
        pool: &str,
    ) -> StoreResult<Vec<T>> {
        let sql = format!(
            "SELECT data FROM {} WHERE pool_id = ?1 ORDER BY {}",
            self.table, self.key
        );
        query_all(conn, &sql, [pool])
    }

    pub(super) fn delete(self, conn: &Connection, pool: &str, key: &str) -> StoreResult<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE pool_id = ?1 AND {} = ?2",
            self.table, self.key
        );
        Ok(exec(conn, &sql, [pool, key])? > 0)
    }
}
