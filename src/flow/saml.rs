//! The SAML steps of the sign-in: the signed AuthnRequest, the assertion consumer
//! service (`POST /saml2/idpresponse`), the pool's SP keys and SP metadata.
//!
//! The ACS finds the sign-in through `RelayState` (the flow's state, taken once,
//! server-side) and `InResponseTo` (the AuthnRequest ID kept in that flow), and accepts
//! an SP-initiated response only in the browser that began the sign-in: its binding
//! cookie (`binding.rs`, `SameSite=None; Secure` on HTTPS so the cross-site POST
//! carries it). Otherwise an attacker could post their own IdP response from a
//! victim's browser and sign the victim in as themselves (login CSRF). Every accepted
//! assertion ID is remembered until its expiry, so a response posted twice is refused.
//! After verification the shared steps of `authorize.rs` (resolve, code, redirect) run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::{Flow, FlowError, FlowRecord, PoolCtx, binding};
use crate::model::ProviderRecord;
use crate::provider::protocol::saml::sp::SpKeys;
use crate::provider::protocol::saml::{MAX_ACS_CHARS, peek_issuer};
use crate::provider::saml::SamlSp;
use crate::provider::{BeginResponse, ProviderError};
use crate::secret::sha256_hex;
use crate::store::EphemeralKind;

/// What an accepted SAML response leads to.
#[derive(Debug)]
pub struct AcsDone {
    /// Back to the app, with the code.
    pub redirect: Url,
    /// The single-logout session handle, when the provider does single logout.
    pub session: Option<String>,
    /// The binding cookie to remove (SP-initiated sign-ins).
    pub binding_cookie: Option<String>,
}

/// The pool's SP entity ID: its `sp_entity_id` setting, else `urn:poolgate:sp:{pool}`.
pub fn sp_entity_id(pool: &crate::model::Pool) -> String {
    pool.settings.sp_entity_id(&pool.id)
}

fn store_err(e: crate::store::StoreError) -> ProviderError {
    ProviderError::Upstream(format!("SP keys: {e}"))
}

/// Each pool's SP keys as last parsed, keyed by the stored JSON they came from: a
/// sign-in neither decodes them nor parses (and so checks) their RSA keys again until
/// they change.
#[derive(Default)]
pub(crate) struct SpKeysCache(
    std::sync::Mutex<std::collections::HashMap<String, (String, Arc<SpKeys>)>>,
);

impl SpKeysCache {
    fn get(&self, pool: &str, json: &str) -> Result<Arc<SpKeys>, FlowError> {
        if let Ok(map) = self.0.lock()
            && let Some((seen, keys)) = map.get(pool)
            && seen == json
        {
            return Ok(keys.clone());
        }
        let keys: Arc<SpKeys> = Arc::new(
            serde_json::from_str(json)
                .map_err(|e| FlowError::internal("decode the stored SP keys", e))?,
        );
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= 10_000 {
                map.clear();
            }
            map.insert(pool.to_owned(), (json.to_owned(), keys.clone()));
        }
        Ok(keys)
    }
}

impl Flow {
    /// The pool's SP keys, generated on first use (instances racing agree on one).
    pub async fn sp_keys(&self, pool: &str) -> Result<Arc<SpKeys>, FlowError> {
        for _ in 0..3 {
            if let Some(json) = self.store.get_sp_keys(pool).await? {
                return self.sp_keys.get(pool, &json);
            }
            let keys = SpKeys::generate(pool, self.clock.now())
                .map_err(|e| FlowError::internal("generate the SP keys", e))?;
            let json = serde_json::to_string(&keys)
                .map_err(|e| FlowError::internal("encode the SP keys", e))?;
            if self.store.put_sp_keys(pool, &json, None).await? {
                tracing::info!(pool, "generated the pool's SAML SP keys");
                return Ok(Arc::new(keys));
            }
        }
        Err(FlowError::internal(
            "store the pool's SP keys",
            "other instances kept changing them",
        ))
    }

    /// A new SP key generation; the previous one stays published and usable for
    /// decryption until the next rotation.
    pub async fn rotate_sp_keys(&self, pool: &str) -> Result<SpKeys, FlowError> {
        let current = self.sp_keys(pool).await?;
        let old = serde_json::to_string(&*current)
            .map_err(|e| FlowError::internal("encode the current SP keys", e))?;
        let next = current
            .rotated(pool, self.clock.now())
            .map_err(|e| FlowError::internal("generate the next SP keys", e))?;
        let json = serde_json::to_string(&next)
            .map_err(|e| FlowError::internal("encode the next SP keys", e))?;
        if self.store.put_sp_keys(pool, &json, Some(&old)).await? {
            Ok(next)
        } else {
            Err(FlowError::page(
                409,
                "The SP keys changed meanwhile; try again.",
            ))
        }
    }

    /// `GET /saml2/metadata`.
    pub async fn sp_metadata(&self, ctx: &PoolCtx) -> Result<String, FlowError> {
        let keys = self.sp_keys(&ctx.pool.id).await?;
        Ok(keys.metadata_xml(
            &sp_entity_id(&ctx.pool),
            ctx.endpoint("/saml2/idpresponse").as_str(),
            ctx.endpoint("/saml2/logout").as_str(),
        ))
    }

    /// The AuthnRequest of a sign-in whose flow state is `state` (the RelayState).
    pub(crate) async fn saml_begin(
        &self,
        ctx: &PoolCtx,
        saml: &dyn SamlSp,
        state: &str,
    ) -> Result<BeginResponse, ProviderError> {
        let keys = match self.sp_keys(&ctx.pool.id).await {
            Ok(k) => k,
            Err(_) => {
                return Err(store_err(crate::store::StoreError::Conflict(
                    "SP keys unavailable".into(),
                )));
            }
        };
        let acs = ctx.endpoint("/saml2/idpresponse");
        saml.begin_saml(
            state,
            acs.as_str(),
            &sp_entity_id(&ctx.pool),
            Some(&keys.current),
        )
    }

    /// `POST /saml2/idpresponse`. `cookies` are the request's.
    pub async fn saml_acs(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        cookies: &BTreeMap<String, String>,
    ) -> Result<AcsDone, FlowError> {
        let resp = form
            .get("SAMLResponse")
            .filter(|r| !r.is_empty())
            .ok_or_else(|| FlowError::page(400, "The sign-in response has no SAMLResponse."))?;
        if resp.len() > MAX_ACS_CHARS {
            return Err(FlowError::page(400, "The sign-in response is too large."));
        }
        let relay = form.get("RelayState").map(String::as_str).unwrap_or("");
        if relay.len() > 2048 {
            return Err(FlowError::page(400, "The RelayState is too long."));
        }
        let mut binding_cookie = None;
        let (flow, record, request_id) = if !relay.is_empty() && !relay.contains('=') {
            let flow = self.take_flow(ctx, relay).await?;
            // Login CSRF: an SP-initiated response counts only in the browser that began
            // the sign-in. The sign-in is consumed either way.
            if !binding::is_bound(ctx, relay, &flow.binding_hash, cookies) {
                self.metrics.sign_in("SAML", "unbound");
                tracing::warn!(pool = %ctx.pool.id, "SAML response posted from a browser that did not begin the sign-in");
                return Err(FlowError::page(
                    400,
                    "This sign-in was started in another browser. Start again from the app.",
                ));
            }
            binding_cookie = Some(binding::cookie_name(ctx, relay));
            let record = self
                .store
                .get_provider(&ctx.pool.id, &flow.provider)
                .await?;
            let rid = flow.upstream.get("request_id").map(str::to_owned);
            // Only a SAML registration answers at the ACS: not one whose adapter lacks
            // the SAML capability (one that does not build is refused below).
            let saml_record =
                record.filter(|r| !matches!(self.providers.get(r), Ok(a) if a.saml().is_none()));
            match (saml_record, rid) {
                (Some(r), Some(rid)) => (flow, r, Some(rid)),
                _ => {
                    return Err(FlowError::redirect(
                        &flow.redirect_uri,
                        "access_denied",
                        "the sign-in does not belong to a SAML provider",
                        flow.app_state.as_deref(),
                    ));
                }
            }
        } else {
            let (flow, record) = self.unsolicited(ctx, relay, resp).await?;
            (flow, record, None)
        };
        let fail = |code: &str, desc: &str| {
            FlowError::redirect(&flow.redirect_uri, code, desc, flow.app_state.as_deref())
        };
        let adapter = self
            .providers
            .get(&record)
            .map_err(|_| fail("server_error", "the identity provider is misconfigured"))?;
        let saml = adapter
            .saml()
            .ok_or_else(|| fail("server_error", "the identity provider is misconfigured"))?;
        let keys = self.sp_keys(&ctx.pool.id).await?;
        let acs = ctx.endpoint("/saml2/idpresponse");
        let verified = saml.verify_acs(
            resp,
            request_id.as_deref(),
            acs.as_str(),
            &sp_entity_id(&ctx.pool),
            Some(&*keys),
        );
        let (login, upstream) = match verified {
            Ok(v) => v,
            Err(e) => {
                self.metrics.sign_in("SAML", "rejected");
                tracing::warn!(provider = %record.name, error = %e, "SAML response refused");
                if super::test_trace::is_test(&flow) {
                    let trace = super::test_trace::TestTrace::new(&record)
                        .failed(super::test_trace::TestStep::Upstream, e.to_string());
                    self.keep_trace(ctx, &flow, &trace).await;
                }
                return Err(match e {
                    ProviderError::Config(_) => {
                        fail("server_error", "the identity provider is misconfigured")
                    }
                    _ => fail(
                        "access_denied",
                        "the identity provider's answer could not be verified",
                    ),
                });
            }
        };
        // Replay: each assertion is accepted once, remembered until it expires.
        let ttl = (login.replay_until - self.clock.now()).clamp(1, 86_400);
        let key = sha256_hex(&format!("{}\n{}", login.issuer, login.assertion_id));
        let fresh = self
            .store
            .put_if_absent(
                &ctx.pool.id,
                EphemeralKind::SamlReplay,
                &key,
                b"1",
                Duration::from_secs(ttl as u64),
            )
            .await?;
        if !fresh {
            self.metrics.sign_in("SAML", "replayed");
            tracing::warn!(provider = %record.name, "SAML assertion replayed; refused");
            return Err(fail(
                "access_denied",
                "this sign-in response was already used",
            ));
        }
        let back = self
            .finish_sign_in(ctx, &flow, &record, &upstream, None)
            .await?;
        let session = self
            .saml_session(ctx, &record, saml.single_logout(), &login)
            .await?;
        Ok(AcsDone {
            redirect: back,
            session,
            binding_cookie,
        })
    }

    /// An IdP-initiated response: allowed only for providers that say so, the app,
    /// redirect and scope coming from `RelayState` as Cognito reads them. Without PKCE,
    /// only confidential clients may be reached this way.
    async fn unsolicited(
        &self,
        ctx: &PoolCtx,
        relay: &str,
        resp: &str,
    ) -> Result<(FlowRecord, ProviderRecord), FlowError> {
        let q: BTreeMap<String, String> = url::form_urlencoded::parse(relay.as_bytes())
            .into_owned()
            .collect();
        let (client, redirect) = self
            .validated_client(
                ctx,
                q.get("client_id").map(String::as_str),
                q.get("redirect_uri").map(String::as_str),
            )
            .await?;
        let state = q.get("state").cloned();
        let fail =
            |code: &str, desc: &str| FlowError::redirect(&redirect, code, desc, state.as_deref());
        if q.get("response_type").is_some_and(|r| r != "code") {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        if client.secret_hash.is_none() {
            return Err(fail(
                "unauthorized_client",
                "IdP-initiated sign-in needs a confidential app client",
            ));
        }
        let scope = self
            .check_scope(&client, q.get("scope").map(String::as_str))
            .map_err(|d| fail("invalid_scope", &d))?;
        let issuer = peek_issuer(resp.as_bytes());
        let mut chosen = None;
        for rec in self.store.list_providers(&ctx.pool.id).await? {
            if !client.supported_identity_providers.contains(&rec.name)
                || q.get("identity_provider").is_some_and(|n| *n != rec.name)
            {
                continue;
            }
            let Ok(adapter) = self.providers.get(&rec) else {
                continue;
            };
            let Some(s) = adapter.saml() else { continue };
            if s.accepts_unsolicited(issuer.as_deref()) {
                chosen = Some(rec);
                break;
            }
        }
        let record = chosen.ok_or_else(|| {
            fail(
                "access_denied",
                "unsolicited SAML responses are not accepted from this identity provider",
            )
        })?;
        let flow = FlowRecord {
            client_id: client.client_id.clone(),
            redirect_uri: redirect.clone(),
            app_state: state.clone(),
            scope,
            nonce: None,
            code_challenge: None,
            provider: record.name.clone(),
            upstream: Default::default(),
            binding_hash: String::new(),
            created_at: self.clock.now(),
        };
        Ok((flow, record))
    }
}
