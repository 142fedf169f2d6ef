//! SAML single logout (SP-initiated, HTTP-Redirect binding) for providers with
//! `idp_signout`: the ACS leaves a session handle cookie; `/logout` turns it into a
//! signed LogoutRequest to the IdP; `/saml2/logout` verifies the IdP's LogoutResponse
//! (signature over the raw query, InResponseTo, Issuer, status) and finishes where
//! `/logout` would have gone.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::saml::sp_entity_id;
use super::{Flow, FlowError, PoolCtx};
use crate::model::ProviderRecord;
use crate::provider::protocol::saml::VerifiedLogin;
use crate::provider::saml::{LogoutStatus, new_request_id};
use crate::secret::random_token;
use crate::store::EphemeralKind;

/// The cookie naming the browser's SAML session (for single logout only).
pub const SESSION_COOKIE: &str = "pg_saml";
/// How long a SAML session handle is kept (AD FS sessions last 8 hours by default).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const PENDING_TTL: Duration = Duration::from_secs(300);

#[derive(Serialize, Deserialize)]
struct SessionRecord {
    provider: String,
    name_id: String,
    session_index: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PendingLogout {
    provider: String,
    request_id: String,
    return_to: String,
}

impl Flow {
    /// After a SAML sign-in: a handle for single logout, when the provider wants it.
    pub(crate) async fn saml_session(
        &self,
        ctx: &PoolCtx,
        record: &ProviderRecord,
        idp_signout: bool,
        login: &VerifiedLogin,
    ) -> Result<Option<String>, FlowError> {
        if !idp_signout {
            return Ok(None);
        }
        let handle = random_token(32);
        let rec = SessionRecord {
            provider: record.name.clone(),
            name_id: login.name_id.clone(),
            session_index: login.session_index.clone(),
        };
        let bytes = serde_json::to_vec(&rec)
            .map_err(|e| FlowError::internal("encode the SAML session record", e))?;
        self.store
            .put(
                &ctx.pool.id,
                EphemeralKind::SamlSession,
                &handle,
                &bytes,
                SESSION_TTL,
            )
            .await?;
        Ok(Some(handle))
    }

    /// `/logout` with a SAML session handle: to the IdP with a signed LogoutRequest,
    /// coming back to `return_to`. Without a (live) handle: `return_to` as is.
    pub async fn saml_logout_start(
        &self,
        ctx: &PoolCtx,
        handle: Option<&str>,
        return_to: Url,
    ) -> Result<Url, FlowError> {
        let Some(handle) = handle.filter(|h| !h.is_empty() && h.len() <= 64) else {
            return Ok(return_to);
        };
        let Some(bytes) = self
            .store
            .take(&ctx.pool.id, EphemeralKind::SamlSession, handle)
            .await?
        else {
            return Ok(return_to);
        };
        let sess: SessionRecord = serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::internal("decode the SAML session record", e))?;
        let Some(record) = self
            .store
            .get_provider(&ctx.pool.id, &sess.provider)
            .await?
        else {
            return Ok(return_to);
        };
        let Ok(adapter) = self.providers.get(&record) else {
            return Ok(return_to);
        };
        let Some(saml) = adapter.saml().filter(|s| s.single_logout()) else {
            return Ok(return_to);
        };
        let keys = self.sp_keys(&ctx.pool.id).await?;
        let request_id = new_request_id();
        let relay = random_token(32);
        let url = saml
            .logout_redirect(
                &request_id,
                &relay,
                &sp_entity_id(&ctx.pool),
                &sess.name_id,
                sess.session_index.as_deref(),
                &keys.current,
            )
            .map_err(|e| FlowError::internal("build the LogoutRequest", e))?;
        let pending = PendingLogout {
            provider: record.name.clone(),
            request_id,
            return_to: return_to.to_string(),
        };
        let bytes = serde_json::to_vec(&pending)
            .map_err(|e| FlowError::internal("encode the pending logout", e))?;
        self.store
            .put(
                &ctx.pool.id,
                EphemeralKind::SamlLogout,
                &relay,
                &bytes,
                PENDING_TTL,
            )
            .await?;
        Ok(url)
    }

    /// `GET /saml2/logout`: the IdP's LogoutResponse. `raw_query` is the query exactly
    /// as received (the signature covers its octets).
    pub async fn saml_logout_finish(
        &self,
        ctx: &PoolCtx,
        raw_query: &str,
    ) -> Result<Url, FlowError> {
        let bad = || FlowError::page(400, "The logout response could not be verified.");
        let relay: Option<String> = url::form_urlencoded::parse(raw_query.as_bytes())
            .find(|(k, _)| k == "RelayState")
            .map(|(_, v)| v.into_owned());
        let relay = relay
            .filter(|r| !r.is_empty() && r.len() <= 64)
            .ok_or_else(bad)?;
        // Read now, consume only once the response verifies: a forged response must
        // not cancel the user's logout.
        let bytes = self
            .store
            .get(&ctx.pool.id, EphemeralKind::SamlLogout, &relay)
            .await?
            .ok_or_else(|| {
                FlowError::page(400, "This logout has expired or was already completed.")
            })?;
        let pending: PendingLogout = serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::internal("decode the pending logout", e))?;
        let record = self
            .store
            .get_provider(&ctx.pool.id, &pending.provider)
            .await?
            .ok_or_else(bad)?;
        let adapter = self.providers.get(&record).map_err(|_| bad())?;
        let saml = adapter.saml().ok_or_else(bad)?;
        let destination = ctx.endpoint("/saml2/logout");
        let status = saml
            .verify_logout_response(raw_query, &pending.request_id, destination.as_str())
            .map_err(|e| {
                tracing::warn!(provider = %record.name, error = %e, "LogoutResponse refused");
                bad()
            })?;
        if let LogoutStatus::Other(status) = status {
            // The local sign-out already happened; the IdP session may outlive it.
            tracing::warn!(provider = %record.name, status = ?status, "the IdP reported a partial logout");
        }
        if self
            .store
            .take(&ctx.pool.id, EphemeralKind::SamlLogout, &relay)
            .await?
            .is_none()
        {
            return Err(FlowError::page(400, "This logout was already completed."));
        }
        Url::parse(&pending.return_to)
            .map_err(|e| FlowError::internal("parse the stored return_to", e))
    }
}
