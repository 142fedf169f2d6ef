//! The upstream's JSON Web Key Set, cached for the life of the registration. An id_token
//! naming a `kid` the cache does not hold triggers one refetch (the upstream rotated its
//! keys), at most once per `REFETCH_INTERVAL_S` so a stream of bad tokens cannot turn
//! poolgate into a JWKS hammer. openidconnect's key types do the parsing and crypto.

use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyUse, JwsSigningAlgorithm};
use tokio::sync::Mutex;
use url::Url;

use super::http;
use crate::clock::SharedClock;
use crate::provider::ProviderError;

/// Minimum seconds between two unknown-`kid` refetches.
pub const REFETCH_INTERVAL_S: i64 = 10;
/// A set older than this is refreshed on next use even without an unknown `kid`.
pub const MAX_AGE_S: i64 = 24 * 3600;

struct Cached {
    uri: Url,
    set: CoreJsonWebKeySet,
    fetched_at: i64,
}

/// A provider's key cache.
pub struct JwksCache {
    http: reqwest::Client,
    clock: SharedClock,
    state: Mutex<Option<Cached>>,
    last_refetch: Mutex<Option<i64>>,
}

impl JwksCache {
    pub fn new(http: reqwest::Client, clock: SharedClock) -> Self {
        Self {
            http,
            clock,
            state: Mutex::new(None),
            last_refetch: Mutex::new(None),
        }
    }

    /// A cache already holding `set` as fetched from `uri` now (fuzzing and tests
    /// verify tokens without a network).
    pub fn preloaded(
        http: reqwest::Client,
        clock: SharedClock,
        uri: Url,
        set: CoreJsonWebKeySet,
    ) -> Self {
        let fetched_at = clock.now();
        Self {
            http,
            clock,
            state: Mutex::new(Some(Cached {
                uri,
                set,
                fetched_at,
            })),
            last_refetch: Mutex::new(None),
        }
    }

    async fn fetch(&self, uri: &Url) -> Result<CoreJsonWebKeySet, ProviderError> {
        let body = http::get_json(self.http.get(uri.clone()), "jwks").await?;
        serde_json::from_value(serde_json::Value::Object(body))
            .map_err(|e| ProviderError::Upstream(format!("jwks: not a key set ({e})")))
    }

    /// The key that verifies a token signed with `alg` under `kid`.
    pub async fn key_for(
        &self,
        uri: &Url,
        kid: Option<&str>,
        alg: &CoreJwsSigningAlgorithm,
    ) -> Result<CoreJsonWebKey, ProviderError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let fresh = state
            .as_ref()
            .is_some_and(|c| &c.uri == uri && now - c.fetched_at < MAX_AGE_S);
        if !fresh {
            match self.fetch(uri).await {
                Ok(set) => {
                    *state = Some(Cached {
                        uri: uri.clone(),
                        set,
                        fetched_at: now,
                    })
                }
                // A stale set of the same URI still verifies while the upstream is down.
                Err(e) if state.as_ref().is_none_or(|c| &c.uri != uri) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "jwks refresh failed; using the cached set"),
            }
        }
        let set = match state.as_ref() {
            Some(c) => &c.set,
            None => return Err(ProviderError::Upstream("jwks: no key set".into())),
        };
        match pick(set, kid, alg) {
            Pick::Found(k) => return Ok(k),
            Pick::Ambiguous => {
                return Err(ProviderError::Rejected(
                    "id_token has no kid and several keys fit".into(),
                ));
            }
            Pick::NoKidMatch if kid.is_some() => {}
            Pick::NoKidMatch => {
                return Err(ProviderError::Rejected(
                    "no published key fits the id_token".into(),
                ));
            }
        }
        // Unknown kid: the upstream may have rotated. Refetch, rate-limited.
        {
            let mut last = self.last_refetch.lock().await;
            if last.is_some_and(|t| now - t < REFETCH_INTERVAL_S) {
                return Err(ProviderError::Rejected(
                    "id_token signed by an unknown key".into(),
                ));
            }
            *last = Some(now);
        }
        let set = self.fetch(uri).await?;
        let found = pick(&set, kid, alg);
        *state = Some(Cached {
            uri: uri.clone(),
            set,
            fetched_at: now,
        });
        match found {
            Pick::Found(k) => Ok(k),
            _ => Err(ProviderError::Rejected(
                "id_token signed by an unknown key".into(),
            )),
        }
    }
}

enum Pick {
    Found(CoreJsonWebKey),
    Ambiguous,
    NoKidMatch,
}

/// A key fits when its `kid` matches (if the token names one), its `use` allows
/// signatures, its type suits `alg`, and its own `alg` (if any) is `alg`.
fn pick(set: &CoreJsonWebKeySet, kid: Option<&str>, alg: &CoreJwsSigningAlgorithm) -> Pick {
    let fits: Vec<&CoreJsonWebKey> = set
        .keys()
        .iter()
        .filter(|k| kid.is_none_or(|want| k.key_id().is_some_and(|id| id.as_str() == want)))
        .filter(|k| k.key_use().is_none_or(|u| u.allows_signature()))
        .filter(|k| alg.key_type().as_ref() == Some(k.key_type()))
        .filter(|k| match k.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => true,
            JsonWebKeyAlgorithm::Algorithm(a) => a == alg,
            JsonWebKeyAlgorithm::Unsupported => false,
        })
        .collect();
    match fits.as_slice() {
        [one] => Pick::Found((*one).clone()),
        [] => Pick::NoKidMatch,
        _ => Pick::Ambiguous,
    }
}
