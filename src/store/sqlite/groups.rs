//! SQLite backend: pool groups (`groups`) and memberships (`group_members`).

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior, params};

use super::records::GROUPS;
use super::{SqliteStore, conflict_msg, db_err, exec, query_all, query_one, to_json};
use crate::model::Group;
use crate::store::{CasOutcome, GroupStore, MembershipOutcome, StoreError, StoreResult};

fn create(conn: &Connection, g: &Group) -> StoreResult<()> {
    exec(
        conn,
        "INSERT INTO groups (pool_id, name, data) VALUES (?1, ?2, ?3)",
        params![g.pool_id, g.name, to_json(g)?],
    )
    .map_err(|e| conflict_msg(e, || format!("group {} exists", g.name)))?;
    Ok(())
}

fn get(conn: &Connection, pool: &str, name: &str) -> StoreResult<Option<Group>> {
    query_one(
        conn,
        "SELECT data FROM groups WHERE pool_id = ?1 AND name = ?2",
        [pool, name],
    )
}

fn add(
    conn: &mut Connection,
    pool: &str,
    name: &str,
    user: &str,
) -> StoreResult<MembershipOutcome> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let exists = |sql: &str, b: &str| -> StoreResult<bool> {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.exists([pool, b]))
            .map_err(db_err)
    };
    if !exists(
        "SELECT 1 FROM groups WHERE pool_id = ?1 AND name = ?2",
        name,
    )? {
        return Ok(MembershipOutcome::NoSuchGroup);
    }
    if !exists("SELECT 1 FROM users WHERE pool_id = ?1 AND id = ?2", user)? {
        return Ok(MembershipOutcome::NoSuchUser);
    }
    let n = exec(
        &tx,
        "INSERT OR IGNORE INTO group_members (pool_id, group_name, user_id) VALUES (?1, ?2, ?3)",
        [pool, name, user],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(if n > 0 {
        MembershipOutcome::Added
    } else {
        MembershipOutcome::AlreadyMember
    })
}

fn delete(conn: &mut Connection, pool: &str, name: &str) -> StoreResult<bool> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let n = exec(
        &tx,
        "DELETE FROM groups WHERE pool_id = ?1 AND name = ?2",
        [pool, name],
    )?;
    exec(
        &tx,
        "DELETE FROM group_members WHERE pool_id = ?1 AND group_name = ?2",
        [pool, name],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(n > 0)
}

fn members(conn: &Connection, pool: &str, name: &str) -> StoreResult<Vec<String>> {
    // Joined with users: a deleted user's membership is not listed.
    let mut stmt = conn
        .prepare_cached(
            "SELECT m.user_id FROM group_members m
             JOIN users u ON u.pool_id = m.pool_id AND u.id = m.user_id
             WHERE m.pool_id = ?1 AND m.group_name = ?2 ORDER BY m.user_id",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([pool, name], |r| r.get::<_, String>(0))
        .map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)).collect()
}

#[async_trait]
impl GroupStore for SqliteStore {
    async fn create_group(&self, group: &Group) -> StoreResult<()> {
        let g = group.clone();
        self.run(move |c| create(c, &g)).await
    }
    async fn get_group(&self, pool: &str, name: &str) -> StoreResult<Option<Group>> {
        let (pool, name) = (pool.to_owned(), name.to_owned());
        self.read(move |c| get(c, &pool, &name)).await
    }
    async fn list_groups(&self, pool: &str) -> StoreResult<Vec<Group>> {
        let pool = pool.to_owned();
        self.read(move |c| {
            query_all(
                c,
                "SELECT data FROM groups WHERE pool_id = ?1 ORDER BY name",
                [pool],
            )
        })
        .await
    }
    async fn update_group(&self, group: &Group) -> StoreResult<bool> {
        let g = group.clone();
        self.run(move |c| {
            let n = exec(
                c,
                "UPDATE groups SET data = ?3 WHERE pool_id = ?1 AND name = ?2",
                params![g.pool_id, g.name, to_json(&g)?],
            )?;
            Ok(n > 0)
        })
        .await
    }
    async fn update_group_if(
        &self,
        expected: &Group,
        new: &Group,
    ) -> StoreResult<CasOutcome<Group>> {
        if (&expected.pool_id, &expected.name) != (&new.pool_id, &new.name) {
            return Err(StoreError::Invalid(
                "a compare-and-set cannot change a group's name".to_owned(),
            ));
        }
        let (expected, new) = (expected.clone(), new.clone());
        self.run(move |c| {
            GROUPS.replace_if_equal(c, &new.pool_id, &new.name, &expected, &to_json(&new)?)
        })
        .await
    }
    async fn delete_group(&self, pool: &str, name: &str) -> StoreResult<bool> {
        let (pool, name) = (pool.to_owned(), name.to_owned());
        self.run(move |c| delete(c, &pool, &name)).await
    }
    async fn add_to_group(
        &self,
        pool: &str,
        name: &str,
        user_id: &str,
    ) -> StoreResult<MembershipOutcome> {
        let (pool, name, user) = (pool.to_owned(), name.to_owned(), user_id.to_owned());
        self.run(move |c| add(c, &pool, &name, &user)).await
    }
    async fn remove_from_group(&self, pool: &str, name: &str, user_id: &str) -> StoreResult<bool> {
        let (pool, name, user) = (pool.to_owned(), name.to_owned(), user_id.to_owned());
        self.run(move |c| {
            let n = exec(
                c,
                "DELETE FROM group_members WHERE pool_id = ?1 AND group_name = ?2 AND user_id = ?3",
                [pool, name, user],
            )?;
            Ok(n > 0)
        })
        .await
    }
    async fn groups_of_user(&self, pool: &str, user_id: &str) -> StoreResult<Vec<Group>> {
        let (pool, user) = (pool.to_owned(), user_id.to_owned());
        self.read(move |c| {
            query_all(
                c,
                "SELECT g.data FROM group_members m
                 JOIN groups g ON g.pool_id = m.pool_id AND g.name = m.group_name
                 WHERE m.pool_id = ?1 AND m.user_id = ?2 ORDER BY g.name",
                [pool, user],
            )
        })
        .await
    }
    async fn group_members(&self, pool: &str, name: &str) -> StoreResult<Vec<String>> {
        let (pool, name) = (pool.to_owned(), name.to_owned());
        self.read(move |c| members(c, &pool, &name)).await
    }
}
