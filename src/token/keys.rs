//! Per-pool signing keys: created once in the store (every instance agrees on one),
//! parsed once per process, re-read every few seconds so a rotation made on one
//! instance is seen by all.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::clock::SharedClock;
use crate::model::{SigningAlg, SigningKeyRecord};
use crate::store::{SharedBackend, StoreError};

use super::jws::{JwsError, SigningKey};

/// How long a loaded key ring is trusted before it is re-read from the store.
const RELOAD_AFTER_MS: i64 = 3_000;

/// A rotated-in key is published this long before any instance signs with it: more
/// than every instance's ring reload ([`RELOAD_AFTER_MS`]) plus clock differences
/// between instances, so a backend that fetched the JWKS from any instance after a
/// token was signed knows its key (interface.md section 5).
pub const PUBLISH_BEFORE_SIGNING_S: i64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key unusable")]
    Key(#[from] JwsError),
    #[error("pool has no active signing key")]
    NoActiveKey,
}

/// The keys of one pool: the active signer and every key still published.
pub struct KeyRing {
    pub active: Arc<SigningKey>,
    pub keys: Vec<Arc<SigningKey>>,
    /// The JWKS document, serialized once.
    pub jwks: Arc<String>,
    loaded_at_ms: i64,
}

impl KeyRing {
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid).map(|k| k.as_ref())
    }
}

/// Loads, creates and caches key rings.
pub struct KeyService {
    store: SharedBackend,
    clock: SharedClock,
    rings: RwLock<HashMap<String, Arc<KeyRing>>>,
    /// Parsed keys by kid, so a reload does not re-parse unchanged keys.
    parsed: RwLock<HashMap<String, Arc<SigningKey>>>,
}

impl KeyService {
    pub fn new(store: SharedBackend, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            rings: RwLock::default(),
            parsed: RwLock::default(),
        }
    }

    /// The pool's key ring, creating the first key with `alg` when the pool has none.
    pub async fn ring(&self, pool: &str, alg: SigningAlg) -> Result<Arc<KeyRing>, KeyError> {
        let now = self.clock.now_ms();
        if let Ok(rings) = self.rings.read()
            && let Some(r) = rings.get(pool)
            && now - r.loaded_at_ms < RELOAD_AFTER_MS
        {
            return Ok(r.clone());
        }
        self.reload(pool, alg).await
    }

    /// Forgets the cached ring (after a rotation on this instance).
    pub fn invalidate(&self, pool: &str) {
        if let Ok(mut rings) = self.rings.write() {
            rings.remove(pool);
        }
    }

    async fn reload(&self, pool: &str, alg: SigningAlg) -> Result<Arc<KeyRing>, KeyError> {
        let mut records = self.store.list_keys(pool).await?;
        if records.is_empty() {
            let rec = self.new_record(pool, alg, true)?;
            // Whoever wins the race, everybody reads the winner's key back.
            self.store.insert_initial_key(&rec).await?;
            records = self.store.list_keys(pool).await?;
        }
        let now_s = self.clock.now();
        let mut active: Option<Arc<SigningKey>> = None;
        // The newest retired key still published: the signer before the last rotation.
        let mut previous: Option<(i64, Arc<SigningKey>)> = None;
        // The newest published key whose pending time is over.
        let mut signer: Option<(i64, Arc<SigningKey>)> = None;
        let mut keys = Vec::new();
        for rec in records
            .iter()
            .filter(|r| r.active || r.visible_until.is_some_and(|t| t > now_s))
        {
            let key = self.parse(rec)?;
            if rec.active {
                active.get_or_insert_with(|| key.clone());
            } else if previous.as_ref().is_none_or(|(at, _)| rec.created_at > *at) {
                previous = Some((rec.created_at, key.clone()));
            }
            // Ties (keys made within one second) go to the active key.
            if rec.created_at + PUBLISH_BEFORE_SIGNING_S <= now_s
                && signer.as_ref().is_none_or(|(at, _)| {
                    rec.created_at > *at || (rec.created_at == *at && rec.active)
                })
            {
                signer = Some((rec.created_at, key.clone()));
            }
            keys.push(key);
        }
        let newest = active.ok_or(KeyError::NoActiveKey)?;
        // During a rotation's pending time the previous key goes on signing; a pool's
        // first key signs at once (nothing was signed before it).
        let active = match (signer, previous) {
            (Some((_, k)), _) | (None, Some((_, k))) => k,
            (None, None) => newest,
        };
        let jwks: Vec<Value> = keys.iter().map(|k| k.public_jwk.clone()).collect();
        let ring = Arc::new(KeyRing {
            active,
            keys,
            jwks: Arc::new(json!({ "keys": jwks }).to_string()),
            loaded_at_ms: self.clock.now_ms(),
        });
        if let Ok(mut rings) = self.rings.write() {
            rings.insert(pool.to_owned(), ring.clone());
        }
        Ok(ring)
    }

    fn parse(&self, rec: &SigningKeyRecord) -> Result<Arc<SigningKey>, KeyError> {
        if let Ok(parsed) = self.parsed.read()
            && let Some(k) = parsed.get(&rec.kid)
        {
            return Ok(k.clone());
        }
        let der = B64.decode(&rec.private_pkcs8).map_err(|_| JwsError::Key)?;
        let key = Arc::new(SigningKey::from_pkcs8(rec.alg, &der)?);
        if let Ok(mut parsed) = self.parsed.write() {
            parsed.insert(rec.kid.clone(), key.clone());
        }
        Ok(key)
    }

    fn new_record(
        &self,
        pool: &str,
        alg: SigningAlg,
        active: bool,
    ) -> Result<SigningKeyRecord, KeyError> {
        let (key, der) = SigningKey::generate(alg)?;
        Ok(SigningKeyRecord {
            pool_id: pool.to_owned(),
            kid: key.kid.clone(),
            alg,
            private_pkcs8: B64.encode(der),
            public_jwk: key.public_jwk.clone(),
            created_at: self.clock.now(),
            active,
            visible_until: None,
        })
    }

    /// Rotates in a new key: published at once, signing after
    /// [`PUBLISH_BEFORE_SIGNING_S`]. The old key goes on signing until then and stays
    /// in the JWKS `keep_old_s` longer (the longest lifetime of a token it signed).
    pub async fn rotate(
        &self,
        pool: &str,
        alg: SigningAlg,
        keep_old_s: i64,
    ) -> Result<String, KeyError> {
        let rec = self.new_record(pool, alg, true)?;
        let now = self.clock.now();
        self.store
            .rotate_key(&rec, now + PUBLISH_BEFORE_SIGNING_S + keep_old_s, now)
            .await?;
        self.invalidate(pool);
        Ok(rec.kid)
    }
}
