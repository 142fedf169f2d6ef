//! Facebook Limited Login (the iOS SDK's tracking-free sign-in): the app gets an OIDC-
//! shaped id_token signed by Facebook, issuer `https://www.facebook.com`, keys at
//! `limited.facebook.com` (both overridable by `details.endpoints`). Used by the token
//! exchange only; its `sub` is the app-scoped user id, the same as Graph's `id` of a
//! browser sign-in, so both land on the same pool user.

use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::Value;
use url::Url;

use super::protocol::claim_str;
use super::protocol::idtoken::{self, Expect};
use super::protocol::jwks::JwksCache;
use super::{ProviderContext, ProviderError, UpstreamIdentity};

pub const ISSUER: &str = "https://www.facebook.com";
pub const JWKS: &str = "https://limited.facebook.com/.well-known/oauth/openid/jwks/";

/// The verifier of one Facebook registration.
pub struct LimitedLogin {
    pub app_id: String,
    pub native_ids: Vec<String>,
    pub issuer: String,
    pub jwks_uri: Url,
    pub trust_email: bool,
    jwks: JwksCache,
    ctx: ProviderContext,
}

impl LimitedLogin {
    pub fn new(
        app_id: String,
        native_ids: Vec<String>,
        issuer: String,
        jwks_uri: Url,
        trust_email: bool,
        ctx: &ProviderContext,
    ) -> Self {
        Self {
            app_id,
            native_ids,
            issuer,
            jwks_uri,
            trust_email,
            jwks: JwksCache::new(ctx.http.clone(), ctx.clock.clone()),
            ctx: ctx.clone(),
        }
    }

    /// Verifies the token (RS256 against the published keys, `iss`, `aud` = the app id,
    /// `exp`, `iat` age, `nonce` when given) and returns the identity, its names under
    /// Graph's field names too so the Facebook mapping applies unchanged.
    pub async fn verify(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let issuers = [self.issuer.clone()];
        let expect = Expect {
            client_id: &self.app_id,
            native_ids: &self.native_ids,
            issuers: &issuers,
            nonce,
            algs: &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
            access_token: None,
            now: self.ctx.clock.now(),
        };
        let mut raw = idtoken::verify(token, &self.jwks, &self.jwks_uri, &expect).await?;
        for k in ["aud", "exp", "iat", "nbf", "nonce", "jti", "at_hash", "azp"] {
            raw.remove(k);
        }
        for (graph, oidc) in [("first_name", "given_name"), ("last_name", "family_name")] {
            if let Some(v) = claim_str(&raw, oidc) {
                raw.entry(graph).or_insert(Value::String(v));
            }
        }
        // Graph's `id` is the same app-scoped id as `sub`.
        if let Some(sub) = raw.get("sub").cloned() {
            raw.entry("id").or_insert(sub);
        }
        // No issuer, as the browser sign-in's Graph identity has none.
        let mut id = super::protocol::identity_from_claims(raw, "sub", None);
        // Facebook asserts nothing about the email, here as in the browser sign-in.
        id.email_verified = self.trust_email && id.email.is_some();
        Ok(id)
    }
}
