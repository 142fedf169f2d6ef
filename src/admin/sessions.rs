//! Sessions of the admin console: opened after the admin token was checked (or a
//! member of the console group signed in through the console's pool), kept in the
//! store's ephemeral area (so every instance sees them), ended by sign-out, by
//! idleness or by age. Each carries the synchronizer CSRF token of its forms. A
//! member's session is re-checked on every request: it ends as soon as the user is
//! disabled, deleted, signed out everywhere or out of the group, or the console's
//! pool or group setting changed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::AdminResult;
use super::service::Admin;
use crate::config::ConsoleAccess;
use crate::secret::{constant_time_eq, random_token, sha256_hex};
use crate::store::EphemeralKind;

/// Ephemeral namespace of console sessions: not a pool id (pool ids have no `_`), so
/// no pool's entries can collide with them.
const NAMESPACE: &str = "_console";
/// A session unused this long ends.
pub const IDLE_TIMEOUT_S: i64 = 30 * 60;
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT_S: i64 = 8 * 3600;
/// The last-use time is written at most this often (one store write per minute of
/// use, not one per request).
const TOUCH_EVERY_S: i64 = 60;

/// A live console session. Stored under the SHA-256 of its id, so a store dump does
/// not hold usable cookies.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    pub created_at: i64,
    pub last_seen: i64,
    /// Who signed in through the console's pool; `None`: with the admin token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<ConsoleMember>,
}

/// A pool user signed in to the console as a member of the console group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleMember {
    pub pool: String,
    pub group: String,
    /// The user's `sub` (its id in the pool) and username when it signed in.
    pub sub: String,
    pub username: String,
    /// A global sign-out of the user after this instant (its `tokens_valid_after`
    /// past it) ends the session: the sign-in time, or the user's last global sign-out
    /// if later (whole seconds: a sign-in within the second of a sign-out is after it).
    #[serde(default)]
    pub valid_from: i64,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

impl ConsoleSession {
    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        constant_time_eq(token.as_bytes(), self.csrf.as_bytes())
    }
}

fn ttl(seconds: i64) -> Duration {
    Duration::from_secs(u64::try_from(seconds.max(1)).unwrap_or(1))
}

impl Admin {
    /// Opens a session (the caller has checked the admin token); returns the cookie
    /// value and the session.
    pub async fn open_console_session(&self) -> AdminResult<(String, ConsoleSession)> {
        self.open_console_session_for(None).await
    }

    /// Opens a session for `member` (`None`: the admin token was checked).
    pub(super) async fn open_console_session_for(
        &self,
        member: Option<ConsoleMember>,
    ) -> AdminResult<(String, ConsoleSession)> {
        let id = random_token(32);
        let now = self.clock.now();
        let s = ConsoleSession {
            csrf: random_token(32),
            created_at: now,
            last_seen: now,
            member,
        };
        self.save_session(&id, &s).await?;
        Ok((id, s))
    }

    async fn save_session(&self, id: &str, s: &ConsoleSession) -> AdminResult<()> {
        let value = serde_json::to_vec(s)
            .map_err(|e| super::AdminError::internal("cannot encode the session", e))?;
        let left = s.created_at + ABSOLUTE_TIMEOUT_S - self.clock.now();
        self.store
            .put(
                NAMESPACE,
                EphemeralKind::ConsoleSession,
                &sha256_hex(id),
                &value,
                ttl(left),
            )
            .await?;
        Ok(())
    }

    /// The live session of cookie value `id`, its use recorded; `None` when unknown,
    /// idle too long or too old, or a member's who may no longer sign in under
    /// `access` (the console's pool and group as now configured): such a session is
    /// removed.
    pub async fn console_session(
        &self,
        id: &str,
        access: Option<&ConsoleAccess>,
    ) -> AdminResult<Option<ConsoleSession>> {
        if id.is_empty() || id.len() > 128 {
            return Ok(None);
        }
        let key = sha256_hex(id);
        let Some(raw) = self
            .store
            .get(NAMESPACE, EphemeralKind::ConsoleSession, &key)
            .await?
        else {
            return Ok(None);
        };
        let Ok(mut s) = serde_json::from_slice::<ConsoleSession>(&raw) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let member_ok = match &s.member {
            None => true,
            Some(m) => self.member_may_use_console(m, access).await?,
        };
        if !member_ok
            || now - s.last_seen >= IDLE_TIMEOUT_S
            || now - s.created_at >= ABSOLUTE_TIMEOUT_S
        {
            self.store
                .take(NAMESPACE, EphemeralKind::ConsoleSession, &key)
                .await?;
            return Ok(None);
        }
        if now - s.last_seen >= TOUCH_EVERY_S {
            s.last_seen = now;
            self.save_session(id, &s).await?;
        }
        Ok(Some(s))
    }

    /// Whether member `m` still may use the console: the console still signs in
    /// through its pool and group, and the user still exists, is enabled, was not
    /// signed out everywhere since `m.valid_from`, and is in the group.
    pub(super) async fn member_may_use_console(
        &self,
        m: &ConsoleMember,
        access: Option<&ConsoleAccess>,
    ) -> AdminResult<bool> {
        if access.is_none_or(|a| a.pool != m.pool || a.group != m.group) {
            return Ok(false);
        }
        let Some(user) = self.store.get_user(&m.pool, &m.sub).await? else {
            return Ok(false);
        };
        if !user.enabled || user.tokens_valid_after > m.valid_from {
            return Ok(false);
        }
        let groups = self.store.groups_of_user(&m.pool, &m.sub).await?;
        Ok(groups.iter().any(|g| g.name == m.group))
    }

    /// Ends the session of cookie value `id` (nothing happens when there is none).
    pub async fn close_console_session(&self, id: &str) -> AdminResult<()> {
        self.store
            .take(NAMESPACE, EphemeralKind::ConsoleSession, &sha256_hex(id))
            .await?;
        Ok(())
    }
}
