//! Records read on every request (app clients, identity providers), kept as last read
//! from or written to the file. Exact, not timed: this process is the file's only
//! writer, and each write of such a record drops it here after it commits. A read that
//! raced with a write never stores what it read (the generation moved on).

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept at most; past that the cache starts again empty.
const MAX_ENTRIES: usize = 10_000;

pub(super) struct RecordCache<V> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    /// pool -> id -> record: looked up without building a key.
    map: HashMap<String, HashMap<String, V>>,
    /// Entries in `map`.
    len: usize,
    generation: u64,
}

impl<V: Clone> RecordCache<V> {
    pub(super) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                len: 0,
                generation: 0,
            }),
        }
    }

    /// The cached record, or the generation to hand to [`RecordCache::fill`] after
    /// reading it from the file.
    pub(super) fn get(&self, pool: &str, id: &str) -> Result<V, u64> {
        let Ok(inner) = self.inner.lock() else {
            return Err(u64::MAX);
        };
        match inner.map.get(pool).and_then(|m| m.get(id)) {
            Some(v) => Ok(v.clone()),
            None => Err(inner.generation),
        }
    }

    /// Keeps what a read found, unless a write happened since `generation`.
    pub(super) fn fill(&self, generation: u64, pool: &str, id: &str, value: &V) {
        if let Ok(mut inner) = self.inner.lock()
            && inner.generation == generation
        {
            if inner.len >= MAX_ENTRIES {
                inner.map.clear();
                inner.len = 0;
            }
            let added = inner
                .map
                .entry(pool.to_owned())
                .or_default()
                .insert(id.to_owned(), value.clone())
                .is_none();
            inner.len += usize::from(added);
        }
    }

    /// After a write of `pool`/`id` (or of the whole pool when `id` is `None`).
    pub(super) fn forget(&self, pool: &str, id: Option<&str>) {
        match self.inner.lock() {
            Ok(mut inner) => {
                inner.generation += 1;
                let gone = match id {
                    Some(id) => inner
                        .map
                        .get_mut(pool)
                        .and_then(|m| m.remove(id))
                        .map_or(0, |_| 1),
                    None => inner.map.remove(pool).map_or(0, |m| m.len()),
                };
                inner.len = inner.len.saturating_sub(gone);
            }
            // Nothing panics while holding it; should it happen, start again empty.
            Err(poisoned) => {
                let mut inner = poisoned.into_inner();
                inner.generation += 1;
                inner.map.clear();
                inner.len = 0;
                self.inner.clear_poison();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let c = RecordCache::<String>::new();
        let g = c.get("p", "a").unwrap_err();
        c.fill(g, "p", "a", &"v1".into());
        assert_eq!(c.get("p", "a"), Ok("v1".to_owned()));
        // A reader starts, a write lands, the reader's (old) value is not kept.
        c.forget("p", Some("a"));
        let g = c.get("p", "a").unwrap_err();
        c.forget("p", Some("a"));
        c.fill(g, "p", "a", &"stale".into());
        assert!(c.get("p", "a").is_err());
        // A pool's deletion forgets all of its records and only those.
        let g = c.get("p", "b").unwrap_err();
        c.fill(g, "p", "b", &"b".into());
        c.fill(g, "q", "b", &"qb".into());
        c.forget("p", None);
        assert!(c.get("p", "b").is_err());
        assert_eq!(c.get("q", "b"), Ok("qb".to_owned()));
    }
}
