//! In-process copies of the records every request reads from the Redis backend (pools,
//! domains, app clients, providers, resource servers, signing keys, SAML SP keys), so a
//! code exchange, a refresh or a sign-in pays no round trip for its configuration.
//!
//! Exact across instances: every write publishes an invalidation on the deployment's
//! channel ([`super::invalidate`]), and each instance drops what it names. While this
//! instance's subscription is down (not yet up, lost, reconnecting) nothing is served
//! from or kept in the copy, and everything is dropped when it comes back: messages sent
//! meanwhile were missed. A read that raced with an invalidation never keeps what it
//! read (a generation moved on). A TTL bounds how long a missed invalidation (a writer
//! that died between its write and its publish) can serve an old record.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::model::{
    AppClient, DomainRecord, Pool, ProviderRecord, ResourceServer, SigningKeyRecord,
};

/// Entries kept per kind at most; past that the kind starts again empty.
const MAX_ENTRIES: usize = 10_000;

/// What a write changed: the message published, and what every instance drops.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Changed {
    /// A pool's record or its deletion: the pool and everything cached under it.
    Pool(String),
    Domain(String),
    Client(String, String),
    Provider(String, String),
    ResourceServer(String, String),
    Keys(String),
    SpKeys(String),
}

impl Changed {
    /// The message: a kind word and escaped fields, separated by spaces.
    pub(crate) fn encode(&self) -> String {
        use super::keys::enc;
        match self {
            Changed::Pool(p) => format!("pool {}", enc(p)),
            Changed::Domain(d) => format!("domain {}", enc(d)),
            Changed::Client(p, id) => format!("client {} {}", enc(p), enc(id)),
            Changed::Provider(p, n) => format!("provider {} {}", enc(p), enc(n)),
            Changed::ResourceServer(p, id) => format!("rs {} {}", enc(p), enc(id)),
            Changed::Keys(p) => format!("keys {}", enc(p)),
            Changed::SpKeys(p) => format!("sp {}", enc(p)),
        }
    }

    /// `None` for a message this version does not know: the caller drops everything.
    pub(crate) fn decode(msg: &str) -> Option<Self> {
        let mut parts = msg.split(' ');
        let kind = parts.next()?;
        let a = dec(parts.next()?)?;
        let b = parts.next().map(dec);
        if parts.next().is_some() {
            return None;
        }
        Some(match (kind, b) {
            ("pool", None) => Changed::Pool(a),
            ("domain", None) => Changed::Domain(a),
            ("keys", None) => Changed::Keys(a),
            ("sp", None) => Changed::SpKeys(a),
            ("client", Some(b)) => Changed::Client(a, b?),
            ("provider", Some(b)) => Changed::Provider(a, b?),
            ("rs", Some(b)) => Changed::ResourceServer(a, b?),
            _ => return None,
        })
    }
}

/// Reverses [`super::keys::enc`].
fn dec(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One kind of record: pool -> id -> (when read, what was read; `None` for "not there").
pub(crate) struct RecordMap<V> {
    inner: Mutex<Inner<V>>,
}

type Entry<V> = (Instant, Option<V>);

struct Inner<V> {
    map: HashMap<String, HashMap<String, Entry<V>>>,
    len: usize,
}

impl<V: Clone> RecordMap<V> {
    fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                len: 0,
            }),
        }
    }

    fn get(&self, pool: &str, id: &str, ttl: Duration) -> Option<Option<V>> {
        let inner = self.inner.lock().ok()?;
        let (at, v) = inner.map.get(pool)?.get(id)?;
        (at.elapsed() < ttl).then(|| v.clone())
    }

    /// Keeps `value` while `still` holds (checked under the lock, see [`ConfigCache`]).
    fn fill(&self, pool: &str, id: &str, value: &Option<V>, still: impl Fn() -> bool) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if !still() {
            return;
        }
        if inner.len >= MAX_ENTRIES {
            inner.map.clear();
            inner.len = 0;
        }
        let added = inner
            .map
            .entry(pool.to_owned())
            .or_default()
            .insert(id.to_owned(), (Instant::now(), value.clone()))
            .is_none();
        inner.len += usize::from(added);
    }

    /// Drops one entry, or every entry of `pool` when `id` is `None`.
    fn forget(&self, pool: &str, id: Option<&str>) {
        let mut inner = self.lock_or_reset();
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

    fn clear(&self) {
        let mut inner = self.lock_or_reset();
        inner.map.clear();
        inner.len = 0;
    }

    fn lock_or_reset(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        match self.inner.lock() {
            Ok(g) => g,
            // Nothing panics while holding it; should it happen, start again empty.
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                g.map.clear();
                g.len = 0;
                self.inner.clear_poison();
                g
            }
        }
    }
}

/// The copies of one [`super::RedisStore`] and its clones.
pub(crate) struct ConfigCache {
    ttl: Duration,
    /// Is the invalidation subscription up? Nothing is served or kept while it is not.
    live: AtomicBool,
    /// Moves on every invalidation: a read that started before one never keeps its
    /// answer. Bumped before the entries are dropped; a fill checks it under its map's
    /// lock, so either the fill sees the new generation or the drop comes after it.
    generation: AtomicU64,
    pools: RecordMap<Pool>,
    domains: RecordMap<DomainRecord>,
    clients: RecordMap<AppClient>,
    providers: RecordMap<ProviderRecord>,
    resource_servers: RecordMap<ResourceServer>,
    keys: RecordMap<Vec<SigningKeyRecord>>,
    sp_keys: RecordMap<String>,
}

/// Which map a cached read uses, with its key (pool, id).
pub(crate) enum Slot<'a> {
    Pool(&'a str),
    Domain(&'a str),
    Client(&'a str, &'a str),
    Provider(&'a str, &'a str),
    ResourceServer(&'a str, &'a str),
    Keys(&'a str),
    SpKeys(&'a str),
}

/// A type kept in one of the maps.
pub(crate) trait Cached: Clone + Sized {
    fn map(cache: &ConfigCache) -> &RecordMap<Self>;
}

macro_rules! cached {
    ($t:ty, $field:ident) => {
        impl Cached for $t {
            fn map(cache: &ConfigCache) -> &RecordMap<Self> {
                &cache.$field
            }
        }
    };
}
cached!(Pool, pools);
cached!(DomainRecord, domains);
cached!(AppClient, clients);
cached!(ProviderRecord, providers);
cached!(ResourceServer, resource_servers);
cached!(Vec<SigningKeyRecord>, keys);
cached!(String, sp_keys);

impl Slot<'_> {
    fn key(&self) -> (&str, &str) {
        match *self {
            Slot::Pool(p) | Slot::Keys(p) | Slot::SpKeys(p) => (p, ""),
            Slot::Domain(d) => ("", d),
            Slot::Client(p, id) | Slot::Provider(p, id) | Slot::ResourceServer(p, id) => (p, id),
        }
    }
}

impl ConfigCache {
    /// A cache keeping entries at most `ttl`; starts dark until the subscription is up.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            live: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            pools: RecordMap::new(),
            domains: RecordMap::new(),
            clients: RecordMap::new(),
            providers: RecordMap::new(),
            resource_servers: RecordMap::new(),
            keys: RecordMap::new(),
            sp_keys: RecordMap::new(),
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The cached answer, or the generation to hand to [`ConfigCache::fill`].
    pub(crate) fn get<V: Cached>(&self, slot: &Slot<'_>) -> Result<Option<V>, u64> {
        let generation = self.generation.load(Ordering::Acquire);
        if !self.is_live() {
            return Err(generation);
        }
        let (pool, id) = slot.key();
        V::map(self).get(pool, id, self.ttl).ok_or(generation)
    }

    /// Keeps what a read found, unless an invalidation came since `generation`.
    pub(crate) fn fill<V: Cached>(&self, generation: u64, slot: &Slot<'_>, value: &Option<V>) {
        let (pool, id) = slot.key();
        V::map(self).fill(pool, id, value, || {
            self.is_live() && self.generation.load(Ordering::Acquire) == generation
        });
    }

    /// Drops what `changed` names.
    pub(crate) fn apply(&self, changed: &Changed) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        match changed {
            Changed::Pool(p) => {
                self.pools.forget(p, None);
                // Domains are keyed by name; a pool's change may move any of its own.
                self.domains.clear();
                self.clients.forget(p, None);
                self.providers.forget(p, None);
                self.resource_servers.forget(p, None);
                self.keys.forget(p, None);
                self.sp_keys.forget(p, None);
            }
            Changed::Domain(d) => self.domains.forget("", Some(d)),
            Changed::Client(p, id) => self.clients.forget(p, Some(id)),
            Changed::Provider(p, n) => self.providers.forget(p, Some(n)),
            Changed::ResourceServer(p, id) => self.resource_servers.forget(p, Some(id)),
            Changed::Keys(p) => self.keys.forget(p, None),
            Changed::SpKeys(p) => self.sp_keys.forget(p, None),
        }
    }

    /// Drops everything (a message this version cannot read).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.pools.clear();
        self.domains.clear();
        self.clients.clear();
        self.providers.clear();
        self.resource_servers.clear();
        self.keys.clear();
        self.sp_keys.clear();
    }

    /// The subscription is up (again): start from empty, then serve.
    pub(crate) fn go_live(&self) {
        self.clear();
        self.live.store(true, Ordering::Release);
    }

    /// The subscription is lost: stop serving, drop everything.
    pub(crate) fn go_dark(&self) {
        self.live.store(false, Ordering::Release);
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_unknown_ones_are_refused() {
        for c in [
            Changed::Pool("a b%{".into()),
            Changed::Domain("login.example.com:8443".into()),
            Changed::Client("p".into(), "c 1".into()),
            Changed::Provider("p".into(), "Google".into()),
            Changed::ResourceServer("p".into(), "https://api/x".into()),
            Changed::Keys("p".into()),
            Changed::SpKeys("p".into()),
        ] {
            assert_eq!(Changed::decode(&c.encode()), Some(c));
        }
        for bad in [
            "", "pool", "client p", "pool a b", "what p", "pool %G1", "pool %4",
        ] {
            assert_eq!(Changed::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn serves_only_while_live_and_drops_what_an_invalidation_names() {
        let c = ConfigCache::new(Duration::from_secs(60));
        let (a, b) = (Slot::SpKeys("a"), Slot::SpKeys("b"));
        let g = c.get::<String>(&a).unwrap_err();
        c.fill(g, &a, &Some("ka".to_owned()));
        assert!(c.get::<String>(&a).is_err(), "dark: nothing kept");
        c.go_live();
        let g = c.get::<String>(&a).unwrap_err();
        c.fill(g, &a, &Some("ka".to_owned()));
        c.fill::<String>(g, &b, &None);
        assert_eq!(c.get::<String>(&a), Ok(Some("ka".to_owned())));
        assert_eq!(c.get::<String>(&b), Ok(None), "'not there' is kept too");
        c.apply(&Changed::SpKeys("a".into()));
        assert!(c.get::<String>(&a).is_err());
        assert_eq!(c.get::<String>(&b), Ok(None), "others stay");
        // A read that started before an invalidation does not keep its answer.
        let g = c.get::<String>(&a).unwrap_err();
        c.apply(&Changed::Domain("elsewhere".into()));
        c.fill(g, &a, &Some("stale".to_owned()));
        assert!(c.get::<String>(&a).is_err());
        // A pool's change drops everything of that pool; losing the subscription, all.
        let g = c.get::<String>(&a).unwrap_err();
        c.fill(g, &a, &Some("ka".to_owned()));
        c.apply(&Changed::Pool("b".into()));
        assert!(c.get::<String>(&b).is_err());
        assert!(c.get::<String>(&a).is_ok());
        c.go_dark();
        assert!(c.get::<String>(&a).is_err());
        c.go_live();
        assert!(c.get::<String>(&a).is_err(), "back up: starts empty");
    }

    #[test]
    fn one_record_or_a_whole_pool_is_forgotten() {
        let m = RecordMap::<String>::new();
        let ttl = Duration::from_secs(60);
        m.fill("p", "a", &Some("pa".into()), || true);
        m.fill("p", "b", &Some("pb".into()), || true);
        m.fill("q", "a", &Some("qa".into()), || true);
        m.fill("q", "b", &Some("never".into()), || false);
        assert_eq!(m.get("q", "b", ttl), None);
        m.forget("p", Some("a"));
        assert_eq!(m.get("p", "a", ttl), None);
        assert_eq!(m.get("p", "b", ttl), Some(Some("pb".into())));
        m.forget("p", None);
        assert_eq!(m.get("p", "b", ttl), None);
        assert_eq!(m.get("q", "a", ttl), Some(Some("qa".into())));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = ConfigCache::new(Duration::from_millis(30));
        c.go_live();
        let slot = Slot::Keys("p");
        let g = c.get::<Vec<SigningKeyRecord>>(&slot).unwrap_err();
        c.fill(g, &slot, &Some(Vec::new()));
        assert!(c.get::<Vec<SigningKeyRecord>>(&slot).is_ok());
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get::<Vec<SigningKeyRecord>>(&slot).is_err());
    }
}
