//! Sign-in state held in the gateway's own memory: the same contract as
//! [`crate::store::Ephemeral`] (TTL, atomic take, put-if-absent, take-and-put), for the
//! kinds of [`SIGN_IN_KINDS`](crate::store::kind::SIGN_IN_KINDS) on a backend that serves
//! one process. Every operation is a few map and tree steps under one lock: no I/O, no
//! `await`. Entries leave in expiry order as later writes come in, and the number held
//! is capped, so a flood of abandoned sign-ins is refused instead of growing memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{StoreError, StoreResult};

/// Entries held at most by default: about a million sign-ins in flight (a flow is a
/// few hundred bytes), far above the ten minutes of a busy gateway's traffic.
pub const DEFAULT_CAPACITY: usize = 1_000_000;
/// Expired entries dropped at most per write, so that no write pays for a long sweep.
const EVICT_PER_WRITE: usize = 64;

/// The in-memory store. Cheap to share behind an `Arc`.
pub struct Volatile {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Slot>,
    /// Every live entry once, by (expiry, insertion number): the eviction order.
    by_expiry: BTreeMap<(Instant, u64), String>,
    seq: u64,
}

struct Slot {
    value: Vec<u8>,
    expires: Instant,
    seq: u64,
}

/// The gateway holds as much sign-in state as it is allowed to.
#[derive(Debug, thiserror::Error)]
#[error("too many sign-ins in progress ({0} held); try again later")]
struct Full(usize);

/// A panic while the lock was held (none is expected: nothing in here panics).
#[derive(Debug, thiserror::Error)]
#[error("sign-in state lock poisoned")]
struct Poisoned;

fn slot_key(pool: &str, kind: &str, key: &str) -> String {
    // NUL cannot occur in a pool id or a kind name, so the parts cannot run together.
    let mut k = String::with_capacity(pool.len() + kind.len() + key.len() + 2);
    k.push_str(pool);
    k.push('\0');
    k.push_str(kind);
    k.push('\0');
    k.push_str(key);
    k
}

impl Inner {
    fn live(&self, k: &str, now: Instant) -> Option<&Slot> {
        self.map.get(k).filter(|s| s.expires > now)
    }

    fn remove(&mut self, k: &str) -> Option<Slot> {
        let slot = self.map.remove(k)?;
        self.by_expiry.remove(&(slot.expires, slot.seq));
        Some(slot)
    }

    /// Drops up to `EVICT_PER_WRITE` expired entries, oldest first.
    fn evict(&mut self, now: Instant) {
        for _ in 0..EVICT_PER_WRITE {
            match self.by_expiry.first_key_value() {
                Some((&(expires, _), _)) if expires <= now => {}
                _ => return,
            }
            if let Some((_, k)) = self.by_expiry.pop_first() {
                self.map.remove(&k);
            }
        }
    }

    fn insert(&mut self, k: String, value: &[u8], expires: Instant) {
        self.remove(&k);
        self.seq += 1;
        let seq = self.seq;
        self.by_expiry.insert((expires, seq), k.clone());
        self.map.insert(
            k,
            Slot {
                value: value.to_vec(),
                expires,
                seq,
            },
        );
    }
}

impl Volatile {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| {
            // Nothing panics while holding it; should it happen, the maps are still
            // whole (each step leaves them consistent), so go on with them.
            self.inner.clear_poison();
            StoreError::unavailable(Poisoned)
        })
    }

    /// Evicts, then refuses a new entry when the store is full.
    fn room_for(&self, inner: &mut Inner, k: &str, now: Instant) -> StoreResult<()> {
        inner.evict(now);
        if inner.map.len() >= self.capacity && !inner.map.contains_key(k) {
            return Err(StoreError::unavailable(Full(inner.map.len())));
        }
        Ok(())
    }

    pub fn put(
        &self,
        pool: &str,
        kind: &str,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<()> {
        let (k, now) = (slot_key(pool, kind, key), Instant::now());
        let mut inner = self.lock()?;
        self.room_for(&mut inner, &k, now)?;
        inner.insert(k, value, now + ttl);
        Ok(())
    }

    pub fn put_if_absent(
        &self,
        pool: &str,
        kind: &str,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        let (k, now) = (slot_key(pool, kind, key), Instant::now());
        let mut inner = self.lock()?;
        if inner.live(&k, now).is_some() {
            return Ok(false);
        }
        self.room_for(&mut inner, &k, now)?;
        inner.insert(k, value, now + ttl);
        Ok(true)
    }

    pub fn take(&self, pool: &str, kind: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let (k, now) = (slot_key(pool, kind, key), Instant::now());
        let mut inner = self.lock()?;
        Ok(inner
            .remove(&k)
            .filter(|s| s.expires > now)
            .map(|s| s.value))
    }

    pub fn get(&self, pool: &str, kind: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let (k, now) = (slot_key(pool, kind, key), Instant::now());
        let inner = self.lock()?;
        Ok(inner.live(&k, now).map(|s| s.value.clone()))
    }

    /// [`crate::store::Ephemeral::take_and_put`]: both keys are checked before either
    /// changes, under the one lock.
    #[allow(clippy::too_many_arguments)]
    pub fn take_and_put(
        &self,
        pool: &str,
        take_kind: &str,
        take_key: &str,
        put_kind: &str,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let now = Instant::now();
        let (tk, pk) = (
            slot_key(pool, take_kind, take_key),
            slot_key(pool, put_kind, put_key),
        );
        let mut inner = self.lock()?;
        if inner.live(&tk, now).is_none() || inner.live(&pk, now).is_some() {
            return Ok(None);
        }
        // One entry leaves for the one that comes: no capacity check. Eviction only
        // drops expired entries, so the one to take is still there.
        inner.evict(now);
        let Some(taken) = inner.remove(&tk) else {
            return Ok(None);
        };
        inner.insert(pk, value, now + ttl);
        Ok(Some(taken.value))
    }

    /// Drops every entry of `pool` (the pool is being deleted).
    pub fn remove_pool(&self, pool: &str) -> StoreResult<()> {
        let prefix = format!("{pool}\0");
        let mut inner = self.lock()?;
        let keys: Vec<String> = inner
            .map
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in keys {
            inner.remove(&k);
        }
        Ok(())
    }

    /// Entries held, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.map.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn expired_entries_are_invisible_and_evicted_by_later_writes() {
        let v = Volatile::new(100);
        v.put("p", "flow", "old", b"x", Duration::from_millis(1))
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(v.get("p", "flow", "old").unwrap(), None);
        assert_eq!(v.take("p", "flow", "old").unwrap(), None);
        v.put("p", "flow", "a", b"1", MIN).unwrap();
        v.put("p", "flow", "a", b"2", MIN).unwrap();
        // The expired one is gone, and a key written twice is held once.
        assert_eq!(v.len(), 1);
        assert_eq!(v.get("p", "flow", "a").unwrap(), Some(b"2".to_vec()));
        // An expired holder does not block put_if_absent.
        v.put("p", "code", "k", b"x", Duration::from_millis(1))
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(v.put_if_absent("p", "code", "k", b"y", MIN).unwrap());
        assert!(!v.put_if_absent("p", "code", "k", b"z", MIN).unwrap());
        assert_eq!(v.take("p", "code", "k").unwrap(), Some(b"y".to_vec()));
    }

    #[test]
    fn a_full_store_refuses_new_keys_until_entries_expire() {
        let v = Volatile::new(2);
        v.put("p", "flow", "a", b"1", Duration::from_millis(20))
            .unwrap();
        v.put("p", "flow", "b", b"2", MIN).unwrap();
        let err = v.put("p", "flow", "c", b"3", MIN).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        let why = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            why.is_some_and(|w| w.contains("too many sign-ins")),
            "{err:?}"
        );
        // Refused writes changed nothing; an existing key can still be overwritten.
        assert_eq!(v.get("p", "flow", "c").unwrap(), None);
        // An existing key can still be overwritten, and a sign-in replaced by its code
        // (one entry out, one in).
        v.put("p", "flow", "b", b"2b", MIN).unwrap();
        assert_eq!(
            v.take_and_put("p", "flow", "b", "code", "b", b"g", MIN)
                .unwrap(),
            Some(b"2b".to_vec())
        );
        assert!(v.put("p", "flow", "c", b"3", MIN).is_err());
        std::thread::sleep(Duration::from_millis(30));
        v.put("p", "flow", "c", b"3", MIN).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v.get("p", "code", "b").unwrap(), Some(b"g".to_vec()));
    }

    #[test]
    fn take_and_put_changes_nothing_unless_both_steps_hold() {
        let v = Volatile::new(100);
        assert_eq!(
            v.take_and_put("p", "code", "k", "code-used", "k", b"f", MIN)
                .unwrap(),
            None
        );
        v.put("p", "code", "k", b"grant", MIN).unwrap();
        v.put("p", "code-used", "k", b"f0", MIN).unwrap();
        assert_eq!(
            v.take_and_put("p", "code", "k", "code-used", "k", b"f1", MIN)
                .unwrap(),
            None
        );
        assert_eq!(v.get("p", "code", "k").unwrap(), Some(b"grant".to_vec()));
        assert_eq!(v.get("p", "code-used", "k").unwrap(), Some(b"f0".to_vec()));
        assert_eq!(v.take("p", "code-used", "k").unwrap(), Some(b"f0".to_vec()));
        assert_eq!(
            v.take_and_put("p", "code", "k", "code-used", "k", b"f1", MIN)
                .unwrap(),
            Some(b"grant".to_vec())
        );
        assert_eq!(v.get("p", "code", "k").unwrap(), None);
        assert_eq!(v.get("p", "code-used", "k").unwrap(), Some(b"f1".to_vec()));
        // Pools and kinds are separate keys even when the parts could run together.
        v.put("p", "ab", "c", b"1", MIN).unwrap();
        assert_eq!(v.get("p", "a", "bc").unwrap(), None);
        assert_eq!(v.get("pa", "b", "c").unwrap(), None);
        // A deleted pool's entries go with it, and only its own.
        v.put("pp", "flow", "x", b"1", MIN).unwrap();
        v.remove_pool("p").unwrap();
        assert_eq!(v.get("p", "ab", "c").unwrap(), None);
        assert_eq!(v.get("p", "code-used", "k").unwrap(), None);
        assert_eq!(v.get("pp", "flow", "x").unwrap(), Some(b"1".to_vec()));
        assert_eq!(v.len(), 1);
    }
}
