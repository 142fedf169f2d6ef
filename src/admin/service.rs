//! The admin service: the one place for administrative rules, under every admin
//! interface (`/admin/v1`, the Cognito API). Typed inputs (the bodies of
//! [`super::bodies`]), typed outputs (model records), one error ([`AdminError`]).
//! The operations live per area: `pools`, `clients`, `providers`, `users`, `keys`.

use std::sync::Arc;

use super::error::{AdminError, AdminResult};
use crate::clock::SharedClock;
use crate::flow::Flow;
use crate::model::{IdentityLink, Pool, User};
use crate::provider::cache::ProviderCache;
use crate::store::SharedBackend;
use crate::tls::CertStore;
use crate::token::KeyService;

/// The services administrative rules work with.
pub struct Admin {
    pub(super) store: SharedBackend,
    pub(super) clock: SharedClock,
    /// Shared with the flow: a rotation here is seen by the flow at once.
    pub(super) keys: Arc<KeyService>,
    /// Shared with the flow: a provider change here rebuilds its adapter there.
    pub(super) providers: Arc<ProviderCache>,
    /// For what the sign-in side owns: its domain cache and the SAML SP keys.
    pub(super) flow: Arc<Flow>,
    /// Certificates served by SNI, reloaded after a domain change.
    pub(super) certs: Arc<CertStore>,
}

/// A pool with the domains it is served on.
#[derive(Clone, Debug)]
pub struct PoolInfo {
    pub pool: Pool,
    pub domains: Vec<String>,
    /// The hook secret made by this operation (hooks first set, or a rotation): shown
    /// in its answer and never again.
    pub new_hook_secret: Option<crate::model::HookSecret>,
}

/// A user with its identity links (what the views and tokens show).
#[derive(Clone, Debug)]
pub struct UserInfo {
    pub user: User,
    pub links: Vec<IdentityLink>,
    /// A native user's Cognito status (its credential's); `None` for a federated user.
    pub status: Option<crate::store::credentials::UserStatus>,
}

impl Admin {
    pub fn new(
        store: SharedBackend,
        clock: SharedClock,
        keys: Arc<KeyService>,
        providers: Arc<ProviderCache>,
        flow: Arc<Flow>,
        certs: Arc<CertStore>,
    ) -> Self {
        Self {
            store,
            clock,
            keys,
            providers,
            flow,
            certs,
        }
    }

    /// The pool, or `NotFound`.
    pub async fn pool(&self, id: &str) -> AdminResult<Pool> {
        self.store
            .get_pool(id)
            .await?
            .ok_or(AdminError::NotFound("the pool"))
    }

    /// After a domain changed: forget cached answers and reload the TLS certificates
    /// now, so the change is served before the admin call answers.
    pub(super) async fn domains_changed(&self) {
        self.flow.forget_domains();
        if let Err(e) = self.certs.refresh().await {
            tracing::warn!(error = %e, "cannot reload TLS certificates; the background refresh will retry");
        }
    }
}
