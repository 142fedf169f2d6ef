//! Sign-in state held in the gateway's own memory: the same contract as
//! [`crate::store::Ephemeral`] (TTL, atomic take, put-if-absent, take-and-put), for the
//! kinds of [`is_sign_in`](crate::store::EphemeralKind::is_sign_in) on a backend that serves
//! one process. Every operation is a few map and tree steps under one lock: no I/O, no
//! `await`. Entries leave in expiry order as later writes come in, and the memory they
//! take is capped, so a flood of abandoned sign-ins is refused instead of growing it.
//! One pool may hold at most three quarters of it ([`Volatile::new`]): a flood of one
//! pool's sign-ins is refused while every other pool's still go through.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{StoreError, StoreResult};

/// Bytes held at most by default (keys, values and bookkeeping, estimated). Five
/// minutes of 1,500 sign-ins per second (each leaves a code's used-mark of about 300
/// bytes for that long; flows and codes themselves live for seconds) take about half.
pub const DEFAULT_CAPACITY: usize = 256 * 1024 * 1024;
/// Bookkeeping per entry besides its key (held twice) and value: map and tree slots,
/// allocation headers.
const ENTRY_OVERHEAD: usize = 96;
/// Expired entries dropped at most per write, so that no write pays for a long sweep.
const EVICT_PER_WRITE: usize = 64;

/// The in-memory store. Cheap to share behind an `Arc`.
pub struct Volatile {
    inner: Mutex<Inner>,
    capacity: usize,
    /// Bytes one pool may hold at most.
    pool_capacity: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Slot>,
    /// Every live entry once, by (expiry, insertion number): the eviction order.
    by_expiry: BTreeMap<(Instant, u64), String>,
    seq: u64,
    /// Estimated bytes held ([`cost`]).
    bytes: usize,
    /// The same, per pool.
    pool_bytes: HashMap<String, usize>,
}

struct Slot {
    value: Vec<u8>,
    expires: Instant,
    seq: u64,
}

/// A take of one key and a put of another, as one step.
pub struct Swap<'a> {
    pub pool: &'a str,
    /// (kind, key) taken.
    pub take: (&'a str, &'a str),
    /// (kind, key) stored, with `value`.
    pub put: (&'a str, &'a str),
    pub value: &'a [u8],
}

impl Swap<'_> {
    fn take_key(&self) -> String {
        slot_key(self.pool, self.take.0, self.take.1)
    }
    fn put_key(&self) -> String {
        slot_key(self.pool, self.put.0, self.put.1)
    }
}

/// What a [`Volatile::swap`] took.
pub struct Taken {
    pub value: Vec<u8>,
    expires: Instant,
}

/// The gateway holds as much sign-in state as it is allowed to.
#[derive(Debug, thiserror::Error)]
#[error("too many sign-ins in progress ({0} bytes held); try again later")]
struct Full(usize);

/// The pool part of a slot key.
fn pool_of(k: &str) -> &str {
    k.split('\0').next().unwrap_or("")
}

/// A panic while the lock was held (none is expected: nothing in here panics).
#[derive(Debug, thiserror::Error)]
#[error("sign-in state lock poisoned")]
struct Poisoned;

fn cost(k: &str, value_len: usize) -> usize {
    2 * k.len() + value_len + ENTRY_OVERHEAD
}

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

    /// Counts `delta` bytes more (or fewer) for the key's pool and in total.
    fn account(&mut self, k: &str, add: usize, sub: usize) {
        self.bytes = (self.bytes + add).saturating_sub(sub);
        let pool = pool_of(k);
        match self.pool_bytes.get_mut(pool) {
            Some(b) => {
                *b = (*b + add).saturating_sub(sub);
                if *b == 0 {
                    self.pool_bytes.remove(pool);
                }
            }
            None if add > sub => {
                self.pool_bytes.insert(pool.to_owned(), add - sub);
            }
            None => {}
        }
    }

    fn pool_held(&self, k: &str) -> usize {
        self.pool_bytes.get(pool_of(k)).copied().unwrap_or(0)
    }

    fn remove(&mut self, k: &str) -> Option<Slot> {
        let slot = self.map.remove(k)?;
        self.by_expiry.remove(&(slot.expires, slot.seq));
        self.account(k, 0, cost(k, slot.value.len()));
        Some(slot)
    }

    /// Drops up to `EVICT_PER_WRITE` expired entries, oldest first.
    fn evict(&mut self, now: Instant) {
        for _ in 0..EVICT_PER_WRITE {
            match self.by_expiry.first_key_value() {
                Some((&(expires, _), _)) if expires <= now => {}
                _ => return,
            }
            if let Some((_, k)) = self.by_expiry.pop_first()
                && let Some(slot) = self.map.remove(&k)
            {
                self.account(&k, 0, cost(&k, slot.value.len()));
            }
        }
    }

    fn insert(&mut self, k: String, value: &[u8], expires: Instant) {
        self.remove(&k);
        self.seq += 1;
        let seq = self.seq;
        self.account(&k, cost(&k, value.len()), 0);
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
    /// Holds at most `capacity` bytes, and one pool at most three quarters of that
    /// (more than the busiest single pool needs, see [`DEFAULT_CAPACITY`]).
    pub fn new(capacity: usize) -> Self {
        Self::with_pool_capacity(capacity, capacity / 4 * 3)
    }

    /// Holds at most `capacity` bytes, and one pool at most `pool_capacity`.
    pub fn with_pool_capacity(capacity: usize, pool_capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity,
            pool_capacity,
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

    /// Evicts, then refuses an entry that would take the store past its capacity;
    /// `freed` is what the same step removes.
    fn room_for(
        &self,
        inner: &mut Inner,
        k: &str,
        value_len: usize,
        freed: usize,
        now: Instant,
    ) -> StoreResult<()> {
        inner.evict(now);
        let replaced = inner.map.get(k).map_or(0, |s| cost(k, s.value.len()));
        let after = (inner.bytes + cost(k, value_len)).saturating_sub(replaced + freed);
        if after > self.capacity && after > inner.bytes {
            return Err(StoreError::unavailable(Full(inner.bytes)));
        }
        // The entry freed by a swap is of the same pool (one pool per swap).
        let held = inner.pool_held(k);
        let pool_after = (held + cost(k, value_len)).saturating_sub(replaced + freed);
        if pool_after > self.pool_capacity && pool_after > held {
            return Err(StoreError::unavailable(Full(held)));
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
        self.store(&slot_key(pool, kind, key), value, ttl, false)
            .map(drop)
    }

    /// Stores only when nothing live holds the key; returns whether it stored.
    pub fn put_if_absent(
        &self,
        pool: &str,
        kind: &str,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.store(&slot_key(pool, kind, key), value, ttl, true)
    }

    fn store(&self, k: &str, value: &[u8], ttl: Duration, if_absent: bool) -> StoreResult<bool> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        if if_absent && inner.live(k, now).is_some() {
            return Ok(false);
        }
        self.room_for(&mut inner, k, value.len(), 0, now)?;
        inner.insert(k.to_owned(), value, now + ttl);
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
    /// changes, under the one lock. Returns what was taken with its expiry, so that
    /// [`Volatile::undo`] can put it back.
    pub fn swap(&self, s: &Swap<'_>, ttl: Duration) -> StoreResult<Option<Taken>> {
        let now = Instant::now();
        let (tk, pk) = (s.take_key(), s.put_key());
        let mut inner = self.lock()?;
        if inner.live(&tk, now).is_none() || inner.live(&pk, now).is_some() {
            return Ok(None);
        }
        // Eviction only drops expired entries: the one to take is still there.
        let freed = inner.map.get(&tk).map_or(0, |x| cost(&tk, x.value.len()));
        self.room_for(&mut inner, &pk, s.value.len(), freed, now)?;
        let Some(taken) = inner.remove(&tk) else {
            return Ok(None);
        };
        inner.insert(pk, s.value, now + ttl);
        Ok(Some(Taken {
            value: taken.value,
            expires: taken.expires,
        }))
    }

    /// Reverts a [`Volatile::swap`] whose sequel failed without effect: the put entry
    /// goes (if it is still the one stored) and the taken one comes back (if not
    /// expired, and nothing took its key since).
    pub fn undo(&self, s: &Swap<'_>, taken: Taken) -> StoreResult<()> {
        let now = Instant::now();
        let (tk, pk) = (s.take_key(), s.put_key());
        let mut inner = self.lock()?;
        if inner.live(&pk, now).is_some_and(|x| x.value == s.value) {
            inner.remove(&pk);
        }
        if taken.expires > now && !inner.map.contains_key(&tk) {
            inner.insert(tk, &taken.value, taken.expires);
        }
        Ok(())
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

    /// Estimated bytes held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    /// `Ephemeral::take_and_put` in pool "p", as the SQLite store calls it.
    fn tap(
        v: &Volatile,
        take: (&str, &str),
        put: (&str, &str),
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let swap = Swap {
            pool: "p",
            take,
            put,
            value,
        };
        Ok(v.swap(&swap, ttl)?.map(|t| t.value))
    }

    #[test]
    fn expired_entries_are_invisible_and_evicted_by_later_writes() {
        let v = Volatile::new(DEFAULT_CAPACITY);
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
    fn a_full_store_refuses_new_entries_until_entries_expire() {
        // Room for two entries of this size (key "p\0flow\0a": 8 bytes, value 1 byte).
        let one = cost("p\0flow\0a", 1);
        let v = Volatile::with_pool_capacity(2 * one, 2 * one);
        v.put("p", "flow", "a", b"1", Duration::from_millis(20))
            .unwrap();
        v.put("p", "flow", "b", b"2", MIN).unwrap();
        assert_eq!(v.bytes(), 2 * one);
        let err = v.put("p", "flow", "c", b"3", MIN).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        let why = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            why.is_some_and(|w| w.contains("too many sign-ins")),
            "{err:?}"
        );
        assert_eq!(v.get("p", "flow", "c").unwrap(), None);
        // A larger value for an existing key does not fit either; the same size does.
        assert!(v.put("p", "flow", "b", b"22", MIN).is_err());
        v.put("p", "flow", "b", b"9", MIN).unwrap();
        // A sign-in replaced by its code (one entry out, one of its size in) fits.
        assert_eq!(
            tap(&v, ("flow", "b"), ("code", "b"), b"g", MIN).unwrap(),
            Some(b"9".to_vec())
        );
        assert!(v.put("p", "flow", "c", b"3", MIN).is_err());
        std::thread::sleep(Duration::from_millis(30));
        v.put("p", "flow", "c", b"3", MIN).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v.bytes(), 2 * one);
        assert_eq!(v.get("p", "code", "b").unwrap(), Some(b"g".to_vec()));
        // Taking gives the room back.
        v.take("p", "code", "b").unwrap();
        v.take("p", "flow", "c").unwrap();
        assert_eq!((v.len(), v.bytes()), (0, 0));
    }

    #[test]
    fn one_pools_flood_leaves_room_for_the_other_pools() {
        let one = cost("p\0flow\0a", 1);
        let v = Volatile::with_pool_capacity(4 * one, 2 * one);
        v.put("p", "flow", "a", b"1", MIN).unwrap();
        v.put("p", "flow", "b", b"2", MIN).unwrap();
        let err = v.put("p", "flow", "c", b"3", MIN).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        // Another pool still has its room.
        v.put("q", "flow", "a", b"1", MIN).unwrap();
        v.put("q", "flow", "b", b"2", MIN).unwrap();
        assert!(v.put("q", "flow", "c", b"3", MIN).is_err());
        assert_eq!(v.bytes(), 4 * one);
        // Taking gives the pool its room back; a pool's deletion empties its account.
        v.take("p", "flow", "a").unwrap();
        v.put("p", "flow", "c", b"3", MIN).unwrap();
        v.remove_pool("p").unwrap();
        v.put("p", "flow", "d", b"4", MIN).unwrap();
        assert_eq!(v.bytes(), 3 * one);
    }

    #[test]
    fn take_and_put_changes_nothing_unless_both_steps_hold() {
        let v = Volatile::new(DEFAULT_CAPACITY);
        assert_eq!(
            tap(&v, ("code", "k"), ("code-used", "k"), b"f", MIN).unwrap(),
            None
        );
        v.put("p", "code", "k", b"grant", MIN).unwrap();
        v.put("p", "code-used", "k", b"f0", MIN).unwrap();
        assert_eq!(
            tap(&v, ("code", "k"), ("code-used", "k"), b"f1", MIN).unwrap(),
            None
        );
        assert_eq!(v.get("p", "code", "k").unwrap(), Some(b"grant".to_vec()));
        assert_eq!(v.get("p", "code-used", "k").unwrap(), Some(b"f0".to_vec()));
        assert_eq!(v.take("p", "code-used", "k").unwrap(), Some(b"f0".to_vec()));
        assert_eq!(
            tap(&v, ("code", "k"), ("code-used", "k"), b"f1", MIN).unwrap(),
            Some(b"grant".to_vec())
        );
        assert_eq!(v.get("p", "code", "k").unwrap(), None);
        assert_eq!(v.get("p", "code-used", "k").unwrap(), Some(b"f1".to_vec()));
        // Pools and kinds are separate keys even when the parts could run together.
        v.put("p", "ab", "c", b"1", MIN).unwrap();
        assert_eq!(v.get("p", "a", "bc").unwrap(), None);
        assert_eq!(v.get("pa", "b", "c").unwrap(), None);
        // A swap undone: the taken entry is back, the put one gone.
        v.put("p", "code", "u", b"grant", MIN).unwrap();
        let swap = Swap {
            pool: "p",
            take: ("code", "u"),
            put: ("code-used", "u"),
            value: b"fam",
        };
        let taken = v.swap(&swap, MIN).unwrap().unwrap();
        assert_eq!(taken.value, b"grant");
        assert_eq!(v.get("p", "code", "u").unwrap(), None);
        v.undo(&swap, taken).unwrap();
        assert_eq!(v.get("p", "code", "u").unwrap(), Some(b"grant".to_vec()));
        assert_eq!(v.get("p", "code-used", "u").unwrap(), None);
        // A deleted pool's entries go with it, and only its own.
        v.put("pp", "flow", "x", b"1", MIN).unwrap();
        v.remove_pool("p").unwrap();
        assert_eq!(v.get("p", "ab", "c").unwrap(), None);
        assert_eq!(v.get("p", "code-used", "k").unwrap(), None);
        assert_eq!(v.get("pp", "flow", "x").unwrap(), Some(b"1".to_vec()));
        assert_eq!(v.len(), 1);
    }
}
